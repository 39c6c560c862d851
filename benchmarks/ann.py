"""ANN vs exact top-10 on a synthetic clustered catalog: recall@10 and per-query latency.

    .venv/bin/python benchmarks/ann.py --items 1000000 --dim 64 --json ann.json
    .venv/bin/python benchmarks/ann.py --items 100000 --dim 64 --sweep 8,16,32,64

Items are drawn around random cluster centres (as trained embeddings are), queries from the
same mixture. Every query is answered one at a time, single-threaded, as a request would be, by
`app.serving.ann.IvfIndex`; the exact path (one matrix-vector product + argpartition,
`app.serving.index.top_k`) is timed the same way on --exact-queries of them, while the exact
answers for recall come from batched matrix products. Writes {"recall@10", "p50_ms", "p99_ms",
"build_seconds", "exact_p50_ms"} plus the parameters (and a row per --sweep nprobe) to stdout and
--json FILE.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from app.serving.ann import IvfIndex, IvfParams
from app.serving.index import normalise_rows, top_k

log = logging.getLogger("benchmarks.ann")
K = 10


def clustered(
    rng: np.random.Generator, n: int, dim: int, clusters: int, spread: float
) -> np.ndarray:
    """n float32 rows around `clusters` random centres, noise `spread` per coordinate."""
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)
    rows = rng.standard_normal((n, dim), dtype=np.float32)
    rows *= spread
    rows += centres[rng.integers(clusters, size=n)]
    return rows


def exact_truth(items: np.ndarray, queries: np.ndarray, batch: int = 32) -> np.ndarray:
    """Exact top-K of every query, a batch of queries per matrix product."""
    truth = np.empty((len(queries), K), np.int64)
    for first in range(0, len(queries), batch):
        scores = queries[first : first + batch] @ items.T
        for row, query_scores in enumerate(scores, start=first):
            truth[row] = top_k(query_scores, K)[0]
    return truth


def exact_millis(items: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Latency (ms) of the serving path's exact search, one query at a time."""
    millis = np.empty(len(queries))
    for row, query in enumerate(queries):
        start = time.perf_counter()
        top_k(items @ query, K)
        millis[row] = (time.perf_counter() - start) * 1e3
    return millis


def measure(index: IvfIndex, queries: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """recall@K against `truth` and latency percentiles of single-query calls."""
    hits, millis = 0, np.empty(len(queries))
    for row, query in enumerate(queries):
        start = time.perf_counter()
        found, _ = index.query(query, K)
        millis[row] = (time.perf_counter() - start) * 1e3
        hits += len(np.intersect1d(found, truth[row]))
    return {
        f"recall@{K}": round(hits / truth.size, 4),
        "p50_ms": round(float(np.percentile(millis, 50)), 3),
        "p99_ms": round(float(np.percentile(millis, 99)), 3),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = IvfParams()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000, help="catalog size N")
    parser.add_argument("--dim", type=int, default=64, help="vector width D")
    parser.add_argument("--queries", type=int, default=1000, help="query count (default 1000)")
    parser.add_argument("--exact-queries", type=int, default=200, help="exact ones timed")
    parser.add_argument("--space", choices=["ip", "cosine"], default=defaults.space)
    parser.add_argument("--nlist", type=int, help="inverted lists (default: about 4·sqrt(N))")
    parser.add_argument("--nprobe", type=int, default=defaults.nprobe, help="lists scanned")
    parser.add_argument("--sweep", default="", help="extra nprobe values, e.g. 16,32,128")
    parser.add_argument("--clusters", type=int, default=1000, help="cluster centres")
    parser.add_argument("--spread", type=float, default=0.5, help="noise around a centre")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="also write the result here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    items = clustered(rng, args.items, args.dim, args.clusters, args.spread)
    queries = clustered(rng, args.queries, args.dim, args.clusters, args.spread)
    if args.space == "cosine":
        items, queries = normalise_rows(items), normalise_rows(queries)
    log.info("exact top-%d for %d queries over %d x %d", K, len(queries), *items.shape)
    truth = exact_truth(items, queries)
    exact_ms = exact_millis(items, queries[: args.exact_queries])
    start = time.perf_counter()
    index = IvfIndex.build(
        items, space=args.space, nlist=args.nlist, nprobe=args.nprobe, seed=args.seed
    )
    build_seconds = time.perf_counter() - start
    result = {
        **measure(index, queries, truth),
        "build_seconds": round(build_seconds, 2),
        "exact_p50_ms": round(float(np.percentile(exact_ms, 50)), 3),
        "exact_p99_ms": round(float(np.percentile(exact_ms, 99)), 3),
        "items": args.items,
        "dim": args.dim,
        "queries": args.queries,
        "space": args.space,
        "nlist": index.params.nlist,
        "nprobe": args.nprobe,
    }
    sweep = [int(ef) for ef in args.sweep.split(",") if ef.strip()]
    if sweep:
        result["sweep"] = []
        for nprobe in sweep:
            index.set_nprobe(nprobe)
            result["sweep"].append({"nprobe": nprobe, **measure(index, queries, truth)})
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
