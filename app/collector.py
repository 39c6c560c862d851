"""Python's cyclic garbage collector, tuned for a serving worker.

A worker holds millions of long-lived objects (the app, each bundle's id maps, item titles,
interned ids) that a full collection would walk again and again, while each request makes a
few hundred short-lived ones (driver rows, response dicts) that trigger collections often.
At 20M events that cost a fifth of /recommend's throughput and most of its p99
(benchmarks/RESULTS.md). So what is alive once the worker is ready, and after each bundle
load, is frozen out of the collector's reach, and the youngest generation is collected
after GEN0_ALLOCATIONS allocations instead of 700. Reference counting still frees almost
everything at once; only cycles wait for a collection.
"""

from __future__ import annotations

import gc

GEN0_ALLOCATIONS = 50_000
OLDER_COLLECTIONS = 20  # younger collections before the next older one (default 10)


def settle_collector() -> None:
    """Collect once, then exempt every object alive from later collections and collect
    less often (collecting first: a frozen cycle of garbage would never be freed)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_ALLOCATIONS, OLDER_COLLECTIONS, OLDER_COLLECTIONS)
