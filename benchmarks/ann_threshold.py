"""Where the IVF route starts to pay: one known user's /recommend through `ModelService`
(history, exclusions, model scores and top-k: the serving path, not the index alone),
exact against IVF, at growing catalog sizes. Picks RECO_ANN_THRESHOLD's default.

    .venv/bin/python benchmarks/ann_threshold.py --sizes 1000,2000,5000,10000,20000,60000

Item factors are clustered (as trained ones are: benchmarks/ann.py's mixture), 64 wide with
a bias, users from the same mixture; each user has 60 seen items to exclude (the scale
benchmark's median history). IVF's nprobe is tuned per catalog as loading does
(`tune_nprobe`: recall@10 >= 0.95 on 200 of the bundle's users). Prints, per size, the
median microseconds of each route, their ratio and the recall reached.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from app.config import Settings
from app.serving.bundle import Bundle
from app.serving.idmap import IdMap
from app.serving.records import History, RecommendOptions
from app.serving.scorers import DotScorer
from app.serving.service import ModelService

DIM, USERS, SEEN, CALLS = 64, 2000, 60, 400


def _bundle(n_items: int, rng: np.random.Generator, folder: Path) -> Bundle:
    clusters = max(8, n_items // 100)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)

    def mixture(n: int) -> np.ndarray:
        rows = centres[rng.integers(clusters, size=n)] + 0.5 * rng.standard_normal((n, DIM))
        return rows.astype(np.float32)

    arrays = {
        "user_factors": mixture(USERS),
        "item_factors": mixture(n_items),
        "item_bias": (0.1 * rng.standard_normal(n_items)).astype(np.float32),
    }
    ids = tuple(map(str, range(n_items)))
    return Bundle(path=folder, version=f"v{n_items}", manifest={}, model_name="mf", kind="dot",
                  scorer=DotScorer(arrays, {}), user_map=IdMap(tuple(map(str, range(USERS)))),
                  item_map=IdMap(ids), item_titles=list(ids), item_genres=[""] * n_items,
                  popularity=np.ones(n_items), metrics={},
                  created_at="2026-01-01T00:00:00+00:00")  # fmt: skip


def _history(seen: np.ndarray, names: list[str]) -> History:
    n = len(seen)
    return History(seen.astype(np.int32), names, np.ones(n, np.float32), np.zeros(n, bool),
                   np.arange(n, dtype=np.int64), np.zeros(n), np.zeros(n, bool), np.zeros(n),
                   np.zeros(n, np.int32), ["click"])  # fmt: skip


def _median_micros(service: ModelService, users: np.ndarray, histories: list[History]) -> float:
    options = RecommendOptions(k=10)
    times = []
    for user, history in zip(users.tolist(), histories, strict=True):
        start = time.perf_counter()
        service.recommend(str(user), history, options)
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)) * 1e6, 1)


def measure(n_items: int, folder: Path, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    bundle = _bundle(n_items, rng, folder)
    users = rng.integers(USERS, size=CALLS)
    names = list(bundle.item_map.ids)
    histories = [_history(rng.choice(n_items, SEEN, replace=False), names) for _ in users]
    exact = ModelService(bundle, Settings(ann_threshold=10**9))
    ivf = ModelService(bundle, Settings(ann_threshold=1))
    for service in (exact, ivf):  # warm: first calls pay for caches
        _median_micros(service, users[:50], histories[:50])
    exact_us, ivf_us = (
        _median_micros(exact, users, histories),
        _median_micros(ivf, users, histories),
    )
    return {"items": n_items, "exact_us": exact_us, "ivf_us": ivf_us,
            "ivf_over_exact": round(ivf_us / exact_us, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,5000,10000,20000,60000")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/reco-ann-threshold"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = []
    for size in map(int, args.sizes.split(",")):
        row = measure(size, args.folder / str(size), args.seed)
        rows.append(row)
        print(json.dumps(row), flush=True)
    cheaper = [row["items"] for row in rows if row["ivf_over_exact"] < 1]
    print(f"IVF is cheaper from {min(cheaper) if cheaper else 'no size measured'} items")


if __name__ == "__main__":
    main()
