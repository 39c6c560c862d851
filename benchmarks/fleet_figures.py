"""The fleet fault test's figures: HAProxy's counters, the store read back through the API,
the summary; and the one-off JSON request both use."""

from __future__ import annotations

import argparse
import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from fleet import Run

PAGE = 1000


def http_json(url: str, method: str = "GET", key: str | None = None) -> tuple[int, dict]:
    """One request on its own connection (control plane, not load): status and JSON body."""
    headers = {"X-API-Key": key} if key else {}
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        return 0, {}


def haproxy_counters(stats_url: str) -> dict[str, int]:
    """The backend's retries and redispatches, and how often a replica was marked down."""
    with urllib.request.urlopen(stats_url, timeout=5) as response:
        text = response.read().decode().lstrip("# ")
    rows = [row for row in csv.DictReader(io.StringIO(text)) if row["pxname"] == "replicas"]
    backend = next(row for row in rows if row["svname"] == "BACKEND")
    servers = [row for row in rows if row["svname"] not in ("BACKEND", "FRONTEND")]
    return {
        "retries": int(backend["wretr"] or 0),
        "redispatches": int(backend["wredis"] or 0),
        "marked_down": sum(int(row["chkdown"] or 0) for row in servers),
    }


def stored_events(base: str, kind: str, pool: int, acknowledged: list[float]) -> dict:
    """Every pool user's history read back through the API: acknowledged events against the
    rows of this run's kind found (none may be missing, none may be there twice)."""
    values: list[float] = []
    for index in range(pool):
        user = urllib.parse.quote(f"{kind}-u{index}")
        offset = 0
        while True:
            url = f"{base}/users/{user}/interactions?limit={PAGE}&offset={offset}"
            status, body = http_json(url)
            if status == 404:  # no event of this user was stored
                break
            if status != 200:
                raise SystemExit(f"reading {url} back: HTTP {status} {body}")
            page = body["interactions"]
            values += [row["value"] for row in page if row["kind"] == kind]
            if len(page) < PAGE:
                break
            offset += PAGE
    counts = Counter(values)
    acked = set(acknowledged)
    return {
        "acknowledged": len(acked),
        "stored_rows": len(values),
        "missing": len(acked - set(counts)),
        "duplicated": sum(1 for n in counts.values() if n > 1),
        "stored_not_acknowledged": len(set(counts) - acked),
    }


def _switch_figures(run: Run, switch: dict, name: str, window: float) -> dict:
    """Seconds from the activate request until all replicas reported the version, and until
    the last answer of another version a client saw (in the `window` after it)."""
    began = run.timeline[name]
    stale = [
        at - began
        for at, _, version, _ in run.answers
        if began <= at < began + window and version is not None and version != switch["version"]
    ]
    reached = switch["replicas_s"]
    return {
        **switch,
        "all_replicas_s": None if None in reached else max(reached),
        "last_old_answer_s": round(max(stale), 3) if stale else 0.0,
    }


def summarise(
    run: Run, elapsed: float, kill: dict, switches: list[dict], balancer: dict, durability: dict
) -> dict:
    """The figures of one run and the verdict."""
    latencies = np.asarray([row[3] for row in run.answers] or [np.nan])
    names = ("rollout", "rollback")
    figures = [_switch_figures(run, s, n, 10.0) for s, n in zip(switches, names, strict=True)]
    timeline = {name: round(at, 2) for name, at in run.timeline.items()}
    failed = [
        {"at_s": round(at, 2), "route": route, "what": what} for at, route, what in run.failures
    ]
    limit = run.args.switch_limit
    switched = all(
        f["all_replicas_s"] is not None and f["all_replicas_s"] <= limit for f in figures
    )
    return {
        "requests": len(run.answers) + len(run.failures),
        "rps": round((len(run.answers) + len(run.failures)) / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "failed": len(failed),
        "failures": failed,
        "timeline_s": timeline,
        "replica_back_after_kill_s": round(run.timeline["back"] - run.timeline["kill"], 2),
        "kill": kill,
        "switches": figures,
        "balancer": balancer,
        "durability": durability,
        "passed": not failed
        and durability["missing"] == 0
        and durability["duplicated"] == 0
        and switched,
    }


def report(result: dict, args: argparse.Namespace) -> str:
    """The figures as a few lines and the verdict."""
    durable, balancer, timeline = result["durability"], result["balancer"], result["timeline_s"]
    lines = [
        f"connections={args.connections} duration={args.duration}s requests={result['requests']} "
        f"req/s={result['rps']} p50={result['p50_ms']} ms p99={result['p99_ms']} ms",
        f"failed requests seen by the client: {result['failed']}",
        *(f"  at {f['at_s']} s {f['route']}: {f['what']}" for f in result["failures"][:20]),
        f"kill: {result['kill']['container']} SIGKILL at {timeline['kill']} s, started again "
        f"({result['kill']['restarted_by']}) at {timeline['restart']} s, /ready again "
        f"{result['replica_back_after_kill_s']} s after the kill",
        f"balancer: {balancer['retries']} retries, {balancer['redispatches']} redispatches, "
        f"replicas marked down {balancer['marked_down']} times",
    ]
    for switch, name in zip(result["switches"], ("rollout", "rollback"), strict=True):
        lines.append(
            f"{name} to {switch['version']} at {timeline[name]} s: activate answered "
            f"{switch['status']} in {switch['answered_s']} s; replicas report it after "
            f"{switch['replicas_s']} s (all: {switch['all_replicas_s']} s); last answer of "
            f"another version {switch['last_old_answer_s']} s after the activate"
        )
    lines += [
        f"interactions: {durable['acknowledged']} acknowledged with 201, "
        f"{durable['stored_rows']} rows of this run in the store, {durable['missing']} missing, "
        f"{durable['duplicated']} stored twice, {durable['stored_not_acknowledged']} stored "
        "without an acknowledgement",
        f"verdict: {'PASS' if result['passed'] else 'FAIL'}",
    ]
    return "\n".join(lines)
