"""Training at issue 14's size without the store: a seeded in-memory log of the scale
benchmark's shape (300,000 users, 60,000 items, power-law users and items, as
benchmarks/scale_data.py writes to CSV), encoded straight into int32 arrays, then one model
fitted (optionally with RANK's holdout evaluation); prints wall seconds and peak RSS.

    python -m benchmarks.train_scale --rows 20000000 --model als
    python -m benchmarks.train_scale --rows 20000000 --model bpr --param epochs=1 \
        --param validation_fraction=0 --param finish_epochs=0
    python -m benchmarks.train_scale --rows 20000000 --model auto --holdout

One model per process, so peak RSS is that model's (plus the log's ~0.4 GB of arrays).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time

import numpy as np
import pandas as pd

from app.serving.idmap import IdMap
from benchmarks.scale_data import ITEM_EXPONENT, USER_EXPONENT, _power_law
from training.memory_plan import check_fits, describe
from training.models.base import create_model
from training.ranked import evaluate_ranking
from training.splits import per_user_random_mask
from training.vocab import EncodedInteractions


def synthetic(rows: int, users: int, items: int, seed: int = 14) -> EncodedInteractions:
    """`rows` click events drawn as scale_data.generate draws them, time-ordered."""
    rng = np.random.default_rng(seed)
    user_p = np.cumsum(_power_law(users, USER_EXPONENT, rng))
    item_p = np.cumsum(_power_law(items, ITEM_EXPONENT, rng))
    draw = np.empty(rows, np.int32)
    chosen_items = np.empty(rows, np.int32)
    for start in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - start)
        draw[start : start + n] = np.searchsorted(user_p, rng.random(n) * user_p[-1])
        chosen_items[start : start + n] = np.searchsorted(item_p, rng.random(n) * item_p[-1])
    return EncodedInteractions(
        users=draw,
        items=chosen_items,
        ratings=np.ones(rows, np.float32),
        timestamps=1_600_000_000 + np.arange(rows, dtype=np.int64),
        user_map=IdMap(tuple(str(u + 1) for u in range(users))),
        item_map=IdMap(tuple(str(i + 1) for i in range(items))),
        is_rating=np.zeros(rows, bool),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--users", type=int, default=300_000)
    parser.add_argument("--items", type=int, default=60_000)
    parser.add_argument("--model", default="als")
    parser.add_argument("--param", action="append", default=[], help="name=JSON value")
    parser.add_argument("--holdout", action="store_true", help="RANK holdout fit + evaluation")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    params = {k: json.loads(v) for k, v in (p.split("=", 1) for p in args.param)}
    start = time.perf_counter()
    data = synthetic(args.rows, args.users, args.items)
    print(f"log: {len(data):,} rows in {time.perf_counter() - start:.1f} s")
    test = None
    if args.holdout:  # RANK's per-user 25 % test share, as `reco train` holds out
        held = per_user_random_mask(data.users, 0.25, np.random.default_rng(42))
        test = pd.DataFrame({"user": np.asarray(data.user_map.ids)[data.users[held]],
                             "item": np.asarray(data.item_map.ids)[data.items[held]]})  # fmt: skip
        data = data.subset(~held)
    model = create_model(args.model, **params)
    check_fits(model, data)
    print(f"planned: {describe(model.memory_bytes(data.n_users, data.n_items, len(data)))}")
    model.load_framework()
    start = time.perf_counter()
    model.fit(data)
    print(f"fit {args.model}: {time.perf_counter() - start:.1f} s")
    if getattr(model, "selection", None):
        print(json.dumps(model.selection["candidates"]))
    if test is not None:
        start = time.perf_counter()
        metrics, _ = evaluate_ranking(model, data, test, 10)
        print(f"evaluate: {time.perf_counter() - start:.1f} s {json.dumps(metrics)}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS: {peak:.2f} GB")


if __name__ == "__main__":
    main()
