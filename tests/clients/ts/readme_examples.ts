// The README's curl examples (Quickstart; Live recommendations, with Items and users;
// Experiments) written with openapi-fetch against the types openapi-typescript generates from
// the live spec with its defaults. tests/app/test_client_typescript.py generates ./schema.d.ts
// beside a copy of this file and runs `tsc --noEmit`: an example the generated types reject
// fails the test.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type ErrorResponse = components["schemas"]["ErrorResponse"];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

/** Every error the server sends is {"error": {"code", "message"}}: typed, not `unknown`. */
function fail(error: ErrorResponse): never {
  throw new Error(`${error.error.code}: ${error.error.message}`);
}

export async function quickstart(): Promise<void> {
  // curl 'http://127.0.0.1:8000/recommend/196?k=10'
  const top = await api.GET("/recommend/{user_id}", {
    params: { path: { user_id: "196" }, query: { k: 10 } },
  });
  if (top.error) fail(top.error);
  const first: { item_id: string; score: number; title?: string } = top.data.items[0];
  const answered: [string, string, boolean] = [top.data.model, top.data.strategy, top.data.cold_start];
  console.log(first, answered, top.data.version ?? "popularity fallback");

  // curl -X POST /recommend -d '{"user_ids": ["196", "186", "22"], "k": 5}'
  const batch = await api.POST("/recommend", {
    body: { user_ids: ["196", "186", "22"], k: 5 },
  });
  if (batch.error) fail(batch.error);
  console.log(batch.data.results.map((result) => result.items.length));

  // curl '/similar/242?k=5'
  const similar = await api.GET("/similar/{item_id}", {
    params: { path: { item_id: "242" }, query: { k: 5 } },
  });
  if (similar.error) fail(similar.error);
  console.log(similar.data.items.map((item) => item.item_id));

  // curl -X POST /score -d '{"user_id": "196", "item_ids": ["242", "302"]}'
  const scores = await api.POST("/score", { body: { user_id: "196", item_ids: ["242", "302"] } });
  if (scores.error) fail(scores.error);
  const score: number = scores.data.scores[0].score;
  console.log(score);

  // curl -X POST /interactions -d '{"user_id": "196", "item_id": "50", "value": 5, "kind": "rating"}'
  const one = await api.POST("/interactions", {
    body: { user_id: "196", item_id: "50", value: 5, kind: "rating" },
  });
  if (one.error) fail(one.error);
  const stored: number = one.data.stored;
  console.log(stored);
  // curl -X POST /interactions -d '{"interactions": [{"user_id": "u42", "item_id": "50",
  //   "kind": "click", "timestamp": "2024-05-01T10:00:00Z"}]}'
  const many = await api.POST("/interactions", {
    body: {
      interactions: [
        { user_id: "u42", item_id: "50", kind: "click", timestamp: "2024-05-01T10:00:00Z" },
      ],
    },
  });
  if (many.error) fail(many.error);

  // curl '/users/196/interactions?limit=20'
  const history = await api.GET("/users/{user_id}/interactions", {
    params: { path: { user_id: "196" }, query: { limit: 20 } },
  });
  if (history.error) fail(history.error);
  console.log(history.data.interactions.map((event) => [event.item_id, event.kind]));

  // curl /health; curl /ready; curl /metrics; curl -H 'Accept: application/json' /metrics
  const health = await api.GET("/health");
  console.log(health.data?.status);
  const ready = await api.GET("/ready");
  if (ready.error) fail(ready.error); // 503 when the store is down
  console.log(ready.data);
  const text = await api.GET("/metrics", { parseAs: "text" });
  const prometheus: string | undefined = text.data;
  const json = await api.GET("/metrics", { headers: { Accept: "application/json" } });
  // data is the text or the JSON body (both are documented): narrow it to the JSON
  const samples = typeof json.data === "object" ? json.data["reco_requests_total"] : [];
  const requests: number[] = (samples ?? []).map((sample) => sample.value);
  console.log(prometheus, requests);
}

export async function liveRecommendations(): Promise<void> {
  // curl -X POST /interactions -d '{"interactions": [{"user_id": "newbie", "item_id": "50"},
  //   {"user_id": "newbie", "item_id": "172"}]}'  (no value, no kind: both have defaults)
  const added = await api.POST("/interactions", {
    body: {
      interactions: [
        { user_id: "newbie", item_id: "50" },
        { user_id: "newbie", item_id: "172" },
      ],
    },
  });
  if (added.error) fail(added.error);

  const recommend = (query: paths["/recommend/{user_id}"]["get"]["parameters"]["query"], user: string) =>
    api.GET("/recommend/{user_id}", { params: { path: { user_id: user }, query } });
  // curl '/recommend/newbie?k=10'
  const personalised = await recommend({ k: 10 }, "newbie");
  if (personalised.error) fail(personalised.error);
  console.log(personalised.data.strategy); // "fold_in"
  // curl '/recommend/196?k=10&offset=10'
  await recommend({ k: 10, offset: 10 }, "196");
  // curl '/recommend/196?exclude=318,64&category=Comedy'
  await recommend({ exclude: ["318", "64"], category: "Comedy" }, "196");
  // curl '/recommend/196?exclude_seen=false'
  await recommend({ exclude_seen: false }, "196");
  // curl '/recommend/196?k=3&explain=true'
  const explained = await recommend({ k: 3, explain: true }, "196");
  if (explained.error) fail(explained.error);
  console.log(explained.data.items.map((item) => item.because?.map((b) => b.title)));
  // curl '/similar/242?k=5&category=Drama&exclude=98'
  await api.GET("/similar/{item_id}", {
    params: { path: { item_id: "242" }, query: { k: 5, category: "Drama", exclude: ["98"] } },
  });
}

export async function itemsAndUsers(): Promise<void> {
  // curl -X PUT /items/242 -d '{"title": "Kolya (1996)", "categories": ["Comedy"],
  //   "metadata": {"year": 1996}, "hidden": false}'
  const put = await api.PUT("/items/{item_id}", {
    params: { path: { item_id: "242" } },
    body: { title: "Kolya (1996)", categories: ["Comedy"], metadata: { year: 1996 }, hidden: false },
  });
  if (put.error) fail(put.error);
  // curl /items/242
  const item = await api.GET("/items/{item_id}", { params: { path: { item_id: "242" } } });
  if (item.error) fail(item.error);
  const hidden: boolean = item.data.hidden;
  console.log(item.data.title, hidden);
  // curl -X PUT /items/242 -d '{"title": "Kolya (1996)", "hidden": true}'
  await api.PUT("/items/{item_id}", {
    params: { path: { item_id: "242" } },
    body: { title: "Kolya (1996)", hidden: true },
  });
  // curl /users/196
  const user = await api.GET("/users/{user_id}", { params: { path: { user_id: "196" } } });
  if (user.error) fail(user.error);
  console.log(user.data);
}

export async function experiments(): Promise<void> {
  const admin = { "X-API-Key": "change-me" };
  // curl -X POST /admin/experiments -H "X-API-Key: $RECO_ADMIN_KEY" -d '{"name": "als vs popularity",
  //   "arms": [{"name": "control", "model": "popularity", "weight": 0.5}, {"name": "treatment", ...}]}'
  const created = await api.POST("/admin/experiments", {
    headers: admin,
    body: {
      name: "als vs popularity",
      arms: [
        { name: "control", model: "popularity", weight: 0.5 },
        { name: "treatment", model: "als", weight: 0.5 },
      ],
    },
  });
  if (created.error) fail(created.error);
  const id: number = created.data.id;
  // curl '/recommend/196?k=10'
  const list = await api.GET("/recommend/{user_id}", {
    params: { path: { user_id: "196" }, query: { k: 10 } },
  });
  if (list.error) fail(list.error);
  const arm: string | null = list.data.arm;
  // curl -X POST /interactions -d '{"user_id": "196", "item_id": "50", "kind": "click",
  //   "recommendation_id": "e1a1-5f0c3a9e2b7d4c18"}'
  const click = await api.POST("/interactions", {
    body: { user_id: "196", item_id: "50", kind: "click", recommendation_id: list.data.recommendation_id },
  });
  if (click.error) fail(click.error);
  // curl /experiments/1
  const report = await api.GET("/experiments/{experiment_id}", {
    params: { path: { experiment_id: id } },
  });
  if (report.error) fail(report.error);
  const interval: number[] = report.data.arms[0].ctr_ci95;
  const users: number = report.data.arms[0].users;
  console.log(arm, users, interval, report.data.comparison?.p_value, report.data.comparison?.lift);
  // curl -X POST /admin/experiments/1/stop -H "X-API-Key: $RECO_ADMIN_KEY" -d '{"arm": "treatment"}'
  const stopped = await api.POST("/admin/experiments/{experiment_id}/stop", {
    headers: admin,
    params: { path: { experiment_id: id } },
    body: { arm: "treatment" },
  });
  if (stopped.error) fail(stopped.error);
  // curl /experiments
  const all = await api.GET("/experiments");
  console.log(all.data?.experiments.map((experiment) => [experiment.id, experiment.winner]));
}
