// The RecoServe dashboard: plain JavaScript, no build step, no dependency. Every request goes to
// the API of this origin, by URLs relative to the page (so it works under a proxy prefix too).
"use strict";

const BASE = new URL(".", location.href);
const RULES = ["boost", "max_per_category", "dither"]; // offered when /openapi.json lists them
const SUGGESTED = { boost_weight: 1, max_per_category: 2, dither: 1.5 }; // when the spec has none
const POLL_MS = 3000;
const KEEP = 60; // sparkline points
const OWN_ROUTES = ["/metrics", "/dashboard", "/dashboard/{name}"]; // the page's own traffic
const SVG = "http://www.w3.org/2000/svg";

const $ = (selector) => document.querySelector(selector);
const enc = encodeURIComponent;
/** A number to `digits` significant digits; anything else as text ("–" for none). */
const fmt = (v, digits = 4) =>
  (typeof v === "number" ? String(+v.toPrecision(digits)) : String(v ?? "–"));

/** An element with attributes and children (strings become text, never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

/** The same for SVG. */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** GET `path` (relative to the API root) with query `params` (array values repeat): the JSON
 * body, or an Error with the API's error message. */
async function api(path, params = {}) {
  const url = new URL(path, BASE);
  for (const [name, value] of Object.entries(params)) {
    for (const v of [].concat(value)) if (v !== "" && v !== null) url.searchParams.append(name, v);
  }
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  return body;
}

/** A two-column table of an object's entries (nested values as JSON); null when empty. */
function table(caption, object) {
  const cell = (value) => (typeof value === "object" ? JSON.stringify(value) : fmt(value));
  const rows = Object.entries(object ?? {}).map(([key, value]) =>
    el("tr", {}, el("th", {}, key), el("td", {}, cell(value))));
  return rows.length ? el("table", {}, el("caption", {}, caption), rows) : null;
}

/** A line chart of named series over epochs (null: no value that epoch); `val_` ones dashed. */
function chart(title, series, width = 300, height = 150) {
  const pad = { left: 44, right: 8, top: 18, bottom: 22 };
  const values = Object.values(series).flat().filter((v) => typeof v === "number");
  const n = Math.max(...Object.values(series).map((s) => s.length));
  let [lo, hi] = [Math.min(...values), Math.max(...values)];
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const x = (i) => pad.left + (n > 1 ? (i / (n - 1)) * (width - pad.left - pad.right) : 0);
  const y = (v) => height - pad.bottom - ((v - lo) / (hi - lo)) * (height - pad.top - pad.bottom);
  const picture = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" },
    svg("title", {}, title),
    svg("text", { x: pad.left, y: 12, class: "title" }, title),
    svg("text", { x: pad.left - 4, y: y(hi) + 4, class: "axis" }, fmt(hi, 3)),
    svg("text", { x: pad.left - 4, y: y(lo) + 4, class: "axis" }, fmt(lo, 3)),
    svg("text", { x: width - pad.right, y: height - 6, class: "axis" }, `epoch ${n}`),
    svg("line", { x1: pad.left, y1: y(lo), x2: width - pad.right, y2: y(lo), class: "frame" }));
  const names = Object.keys(series);
  names.forEach((name, index) => {
    const points = series[name].flatMap((v, i) => (typeof v === "number" ? [`${x(i)},${y(v)}`] : []));
    const style = `series s${index}${name.startsWith("val_") ? " dashed" : ""}`;
    picture.append(svg("polyline", { points: points.join(" "), class: style }));
  });
  const legend = names.map((name, index) => el("span", { class: `key s${index}` }, name));
  return el("figure", {}, picture, el("figcaption", {}, legend));
}

/** One chart per figure of a training history, a `val_` figure on its training twin's axes. */
function curves(epochs) {
  if (!epochs.length) return el("p", { class: "note" }, "no per-epoch history in this bundle");
  const groups = {};
  for (const name of new Set(epochs.flatMap(Object.keys))) {
    (groups[name.replace(/^val_/, "")] ??= {})[name] = epochs.map((epoch) => epoch[name] ?? null);
  }
  return el("div", { class: "charts" }, Object.entries(groups).map(([name, s]) => chart(name, s)));
}

/** The active model's card: identity, offline metrics, parameters, training curves. */
async function showModel() {
  const [ready, models] = await Promise.all([api("ready"), api("models")]);
  const { users, items, interactions } = ready.store;
  $("#store").textContent = `store: ${users} users · ${items} items · ${interactions} interactions`;
  const box = $("#model-body");
  box.classList.remove("note");
  const active = models.models.find((m) => m.active);
  if (!active) {
    box.replaceChildren(el("p", {}, `No model bundle loaded: ${ready.fallback}.`));
    return;
  }
  const d = active.dataset;
  const facts = [["model", active.model], ["version", active.version], ["kind", active.kind],
    ["created", active.created_at],
    ["trained on", `${d.name}: ${d.n_users} users, ${d.n_items} items, ${d.n_interactions} events`]];
  box.replaceChildren(
    el("dl", {}, facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    table("offline metrics (holdout)", active.metrics) ?? el("p", {}, "no offline metrics recorded"),
    table("parameters", active.params));
  const report = await api(`models/${enc(active.version)}/report`);
  box.append(el("h3", {}, "training curves"), curves(report.history));
  const selection = report.selection;
  if (selection) {
    const score = (c) => c[selection.metric] ?? c.skipped ?? c.failed ?? "–";
    const named = (c) => c.name + (c.name === selection.chosen ? " (chosen)" : "");
    const scores = Object.fromEntries(selection.candidates.map((c) => [named(c), score(c)]));
    box.append(table(`candidates: ${selection.metric} on validation`, scores));
  }
}

/** A toggle for each rule GET /recommend/{user_id} offers, with an input for each of its
 * parameters (`boost` covers boost_items, boost_category, boost_weight). */
function showRules(spec) {
  const params = spec.paths["/recommend/{user_id}"]?.get?.parameters ?? [];
  const ofRule = (rule) => params.filter((p) => p.name === rule || p.name.startsWith(`${rule}_`));
  const offered = RULES.filter((rule) => ofRule(rule).length);
  if (!offered.length) {
    $("#rules").append(el("span", { class: "note" }, "rules: not offered by this server"));
    return;
  }
  for (const rule of offered) {
    const inputs = ofRule(rule).map((p) => {
      const schema = p.schema ?? {};
      const value = p.example ?? schema.examples?.[0] ?? schema.default ?? SUGGESTED[p.name] ?? "";
      const input = el("input", { "data-param": p.name, title: p.description ?? "",
        placeholder: p.name.replace(`${rule}_`, ""), value: [].concat(value).join(",") });
      if (["integer", "number"].includes(schema.type)) {
        Object.assign(input, { type: "number", step: schema.type === "integer" ? "1" : "any" });
      }
      if (p.name.endsWith("category")) input.setAttribute("list", "categories");
      if (schema.type === "array") input.dataset.list = "true";
      return input;
    });
    const toggle = el("input", { type: "checkbox", "data-rule": rule });
    $("#rules").append(el("label", { class: "rule" }, toggle, ` ${rule} `, inputs));
  }
}

/** The query parameters of the rules toggled on (an array parameter: comma-separated). */
function ruleParams() {
  const params = {};
  for (const toggle of document.querySelectorAll("#rules input[data-rule]:checked")) {
    for (const input of toggle.parentElement.querySelectorAll("input[data-param]")) {
      const value = input.value.trim();
      params[input.dataset.param] = input.dataset.list ? value.split(",").map((v) => v.trim()) : value;
    }
  }
  return params;
}

/** The user's summary line, and the categories of their history for the filter. */
function renderSummary(user, s) {
  const kinds = s ? Object.entries(s.kinds).map(([kind, n]) => `${n} ${kind}`).join(", ") : "";
  const known = s?.known_to_model ? "in the model's training data" : "not in the model's training data";
  $("#user-summary").textContent = s
    ? `${s.interactions} interactions (${kinds}); ${known}`
    : `${user} has no interactions in the store (cold start)`;
  $("#categories").replaceChildren(
    ...(s?.top_categories ?? []).map((c) => el("option", { value: c.category })));
}

function renderHistory(interactions) {
  $("#history").replaceChildren(...interactions.map((i) => {
    const day = new Date(i.timestamp * 1000).toISOString().slice(0, 10);
    return el("li", { "data-item-id": i.item_id }, el("b", {}, i.title || i.item_id),
      el("span", { class: "note" }, ` ${i.kind} ${fmt(i.value, 3)} · ${day}`));
  }));
}

function renderAnswer(a) {
  const how = `${a.strategy}${a.cold_start ? ", cold start" : ""}`;
  const arm = a.arm ? ` · experiment arm ${a.arm}` : "";
  $("#answer").textContent = `answered by ${a.model} ${a.version ?? ""} (${how})${arm}`;
  $("#recommendations").replaceChildren(...a.items.map((item) => {
    const because = (item.because ?? []).map((b) => b.title || b.item_id).join(", ");
    return el("li", { "data-item-id": item.item_id }, el("b", {}, item.title || item.item_id),
      el("span", { class: "note" }, ` #${item.item_id} · score ${fmt(item.score)}`),
      because ? el("div", { class: "because" }, `because: ${because}`) : null);
  }));
}

/** "Try a user": their history beside GET /recommend with its explanations, filter and rules. */
async function showUser(event) {
  event?.preventDefault();
  const user = $("#user-id").value.trim();
  const list = $("#recommendations");
  list.removeAttribute("data-user");
  const category = $("#category").value.trim();
  const params = { k: $("#k").value, category, explain: "true", ...ruleParams() };
  const [summary, interactions, answer] = await Promise.allSettled([
    api(`users/${enc(user)}`),
    api(`users/${enc(user)}/interactions`, { limit: 20 }),
    api(`recommend/${enc(user)}`, params),
  ]);
  renderSummary(user, summary.value);
  renderHistory(interactions.value?.interactions ?? []);
  if (answer.status === "fulfilled") {
    renderAnswer(answer.value);
  } else {
    $("#answer").textContent = `error: ${answer.reason.message}`;
    list.replaceChildren();
  }
  list.dataset.user = user;
  history.replaceState(null, "", `#user=${enc(user)}`);
  const recent = $("#recent-users");
  if (![...recent.options].some((o) => o.value === user)) recent.prepend(el("option", { value: user }));
}

/** Requests (but the page's own), their summed latency and cumulative latency buckets. */
function traffic(samples) {
  const counted = (s) => !OWN_ROUTES.includes(s.labels.route);
  const total = (name) => (samples[name] ?? []).filter(counted).reduce((sum, s) => sum + s.value, 0);
  const buckets = {};
  for (const s of (samples.reco_request_seconds_bucket ?? []).filter(counted)) {
    buckets[s.labels.le] = (buckets[s.labels.le] ?? 0) + s.value;
  }
  const [count, sum] = [total("reco_request_seconds_count"), total("reco_request_seconds_sum")];
  return { time: performance.now(), count, sum, buckets };
}

/** The upper bound (seconds) of the latency bucket holding the 95th percentile of the
 * requests between two samples. */
function p95(now, before, count) {
  const bound = (le) => (le === "+Inf" ? Infinity : Number(le));
  const bounds = Object.keys(now.buckets).sort((a, b) => bound(a) - bound(b));
  return bound(bounds.find((le) => now.buckets[le] - (before.buckets[le] ?? 0) >= 0.95 * count));
}

/** A small line of the last values (one value: a level line). */
function sparkline(values, width = 220, height = 40) {
  const top = Math.max(...values, 1e-9);
  const shown = values.length > 1 ? values : [values[0], values[0]];
  const step = width / (shown.length - 1);
  const points = shown.map((v, i) => `${i * step},${height - 2 - (v / top) * (height - 4)}`);
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "spark" },
    svg("polyline", { points: points.join(" ") }));
}

const live = {
  last: null, // the previous sample
  series: { "requests / s": [], "mean latency (ms)": [], "p95 latency ≤ (ms)": [] },
};

/** Rates and latencies from the counter deltas between this /metrics sample and the last. */
async function pollMetrics() {
  const now = traffic(await api("metrics"));
  const before = live.last;
  live.last = now;
  if (!before) return;
  const count = now.count - before.count;
  if (count < 0) return; // the counters restarted with the server
  const figures = [
    count / ((now.time - before.time) / 1000),
    count ? ((now.sum - before.sum) / count) * 1000 : 0,
    count ? p95(now, before, count) * 1000 : 0,
  ];
  Object.values(live.series).forEach((series, i) => {
    series.push(figures[i]);
    if (series.length > KEEP) series.shift();
  });
  const box = $("#live-body");
  box.classList.remove("note");
  box.replaceChildren(...Object.entries(live.series).map(([name, s]) =>
    el("div", { class: "metric" }, el("span", {}, name), el("b", {}, fmt(s.at(-1), 3)), sparkline(s))));
}

/** One experiment: each arm's model, users, impressions, events and click-through rate, and
 * each arm against the control. */
function experimentReport(e) {
  const head = ["arm", "model", "users", "impressions", "events", "CTR", "CTR 95 % interval"];
  const rows = e.arms.map((a) => [a.name, a.version ?? a.model, a.users, a.impressions, a.events,
    fmt(a.ctr, 3), `${fmt(a.ctr_ci95[0], 3)} – ${fmt(a.ctr_ci95[1], 3)}`]);
  const status = `${e.status ?? ""}${e.winner ? `, winner ${e.winner}` : ""}`;
  const comparisons = (e.comparisons ?? [e.comparison]).filter(Boolean).map((c) =>
    el("li", {}, `${c.arm ?? "treatment"} against ${c.control ?? "control"}: ` +
      `lift ${c.lift === null ? "–" : `${fmt(c.lift * 100, 3)} %`}, p-value ${fmt(c.p_value, 3)}`));
  return el("div", { class: "experiment", "data-id": e.id },
    el("h3", {}, `${e.name ?? e.id}${status ? ` (${status})` : ""}`),
    el("table", {}, el("tr", {}, head.map((h) => el("th", {}, h))),
      rows.map((row) => el("tr", {}, row.map((v) => el("td", {}, String(v)))))),
    el("ul", {}, comparisons));
}

/** Every experiment with its per-arm results, when this server has experiments. */
async function showExperiments(spec) {
  const box = $("#experiments-body");
  if (!spec.paths["/experiments"]) {
    box.textContent = "No experiments (this server has no experiments API).";
    return;
  }
  const { experiments } = await api("experiments");
  if (!experiments.length) {
    box.textContent = "No experiments.";
    return;
  }
  box.classList.remove("note");
  box.replaceChildren(...experiments.map(experimentReport));
}

/** Run `work`; on failure show its error in the section at `selector` instead. */
const guard = (selector, work) => work.catch((error) => {
  $(selector).textContent = `error: ${error.message}`;
});

async function main() {
  const spec = await api("openapi.json");
  showRules(spec);
  $("#user-form").addEventListener("submit", (event) => guard("#answer", showUser(event)));
  const user = new URLSearchParams(location.hash.slice(1)).get("user");
  if (user) {
    $("#user-id").value = user;
    guard("#answer", showUser());
  }
  guard("#model-body", showModel());
  guard("#experiments-body", showExperiments(spec));
  guard("#live-body", pollMetrics());
  setInterval(() => guard("#live-body", pollMetrics()), POLL_MS);
  setInterval(() => guard("#experiments-body", showExperiments(spec)), 5 * POLL_MS);
}

main();
