"""The figures of a soak run (benchmarks/soak.py): per-route latency and errors, memory
drift, durability of acknowledged events, and the printed verdict."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import create_engine, text


@dataclass
class RouteTally:
    """What all connections observed on one route."""

    latencies_ms: list[float] = field(default_factory=list)  # of answered requests
    non_2xx: int = 0
    failures: int = 0  # transport errors and requests unanswered after --timeout


def route_figures(tallies: dict[str, RouteTally], elapsed: float) -> dict[str, dict]:
    """Per route: requests sent, req/s, p50/p99 latency in ms of the answered ones, errors
    (non-2xx answers plus failures)."""
    figures = {}
    for route, tally in tallies.items():
        latencies = np.asarray(tally.latencies_ms or [np.nan])
        requests = len(tally.latencies_ms) + tally.failures
        figures[route] = {
            "requests": requests,
            "rps": round(requests / elapsed, 1),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "p99_ms": round(float(np.percentile(latencies, 99)), 2),
            "errors": tally.non_2xx + tally.failures,
            "non_2xx": tally.non_2xx,
            "failures": tally.failures,
        }
    return figures


def memory_figures(samples: list[tuple[float, float]], warmup: float, start_mb: float) -> dict:
    """RSS at start, after warm-up (first sample at or past `warmup` s), at the end, max;
    stable when the end is within max(10%, 30 MB) of the post-warm-up figure."""
    warm = next((rss for t, rss in samples if t >= warmup), samples[-1][1])
    end = samples[-1][1]
    allowed = max(0.10 * warm, 30.0)
    return {
        "rss_start_mb": start_mb,
        "rss_warm_mb": warm,
        "rss_end_mb": end,
        "rss_max_mb": max(rss for _, rss in samples),
        "rss_allowed_drift_mb": round(allowed, 1),
        "memory_stable": abs(end - warm) <= allowed,
    }


def stored_events(url: str, kind: str) -> tuple[int, set[float]]:
    """How many rows of this run's kind the store holds, and their values."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = text("SELECT value FROM interactions WHERE kind = :kind")
            values = [row[0] for row in connection.execute(query, {"kind": kind})]
    finally:
        engine.dispose()
    return len(values), set(values)


def durability_figures(url: str, kind: str, acknowledged: list[float]) -> dict:
    """Acknowledged events against the rows found: none may be missing."""
    rows, values = stored_events(url, kind)
    missing = set(acknowledged) - values
    return {
        "acknowledged": len(acknowledged),
        "stored_rows": rows,
        "missing": len(missing),
    }


def report(result: dict, args: argparse.Namespace) -> str:
    """The figures as a fixed-width table and the verdict line."""
    memory, durable = result["memory"], result["durability"]
    lines = [
        f"connections={args.connections} duration={args.duration}s "
        f"requests={result['requests']} req/s={result['rps']}",
        f"{'route':<15}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}",
    ]
    for route, row in result["routes"].items():
        lines.append(
            f"{route:<15}{row['requests']:>10d}{row['rps']:>10.1f}"
            f"{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}{row['errors']:>8d}"
        )
    lines += [
        f"server RSS MB: start {memory['rss_start_mb']}, after {args.warmup:g} s warm-up "
        f"{memory['rss_warm_mb']}, end {memory['rss_end_mb']}, max {memory['rss_max_mb']}",
        f"interactions: {durable['acknowledged']} acknowledged with 201, "
        f"{durable['stored_rows']} rows in the store, {durable['missing']} missing",
        f"verdict: {'PASS' if result['passed'] else 'FAIL'} "
        f"(errors={result['errors']}; memory stable={memory['memory_stable']}: "
        f"end-warm={memory['rss_end_mb'] - memory['rss_warm_mb']:+.1f} MB, "
        f"allowed ±{memory['rss_allowed_drift_mb']} MB; lost={durable['missing']}; "
        f"clean shutdown={result['clean_shutdown']})",
    ]
    return "\n".join(lines)


def summarise(
    tallies: dict[str, RouteTally],
    samples: list,
    elapsed: float,
    start_mb: float,
    durability: dict,
    stopped: bool,
    args: argparse.Namespace,
) -> dict:
    """All figures of one run and whether it passed."""
    routes = route_figures(tallies, elapsed)
    memory = memory_figures(samples, args.warmup, start_mb)
    requests = sum(row["requests"] for row in routes.values())
    errors = sum(row["errors"] for row in routes.values())
    return {
        "connections": args.connections,
        "duration_s": args.duration,
        "requests": requests,
        "rps": round(requests / elapsed, 1),
        "errors": errors,
        "routes": routes,
        "memory": memory,
        "rss_samples_mb": [rss for _, rss in samples],
        "durability": durability,
        "clean_shutdown": stopped,
        "passed": errors == 0
        and memory["memory_stable"]
        and durability["missing"] == 0
        and stopped,
    }
