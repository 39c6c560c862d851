"""The evaluation protocols of PROTOCOLS.md (RANK, LOO, RMSE), implemented exactly.

Each `run_*` takes the full dataset and a fresh model, splits with a seeded
`numpy.random.default_rng(seed)`, fits on the train part (timed), and scores with the model's
exported numpy scorer (timed), returning one result dict in the "Reporting" shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.serving.rules import NO_RULES, Rules
from training.interactions import Interactions
from training.memory_plan import check_fits
from training.metrics import loo_metrics, loo_rank
from training.models.base import Recommender
from training.ranked import evaluate_ranking
from training.splits import leave_one_out_mask, per_user_random_mask
from training.vocab import EncodedInteractions

PROTOCOLS = ("rank", "loo", "rmse")
RANK_TEST_FRACTION = 0.25


def dedupe_latest(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (user, item): the latest by timestamp, ties going to the later row."""
    ordered = frame.assign(_row=np.arange(len(frame))).sort_values(
        ["timestamp", "_row"], kind="stable"
    )
    latest = ordered.drop_duplicates(["user", "item"], keep="last").sort_values("_row")
    return latest.drop(columns="_row").reset_index(drop=True)


def _user_codes(frame: pd.DataFrame) -> np.ndarray:
    """An integer code per row for its user, as the array splits of `training.splits` take."""
    return pd.factorize(frame["user"])[0]


def rank_split(frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user with n >= 2: shuffle, n_test = max(1, floor(0.25 n + 0.5)) capped at n - 1;
    rows keep their order."""
    test = per_user_random_mask(_user_codes(frame), RANK_TEST_FRACTION, rng)
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def _fit(model: Recommender, train: EncodedInteractions) -> float:
    """Seconds of `model.fit`, planned first (a fit over the memory budget is refused before
    it starts); the framework import is a once-per-process cost, not fitting."""
    check_fits(model, train)
    model.load_framework()
    start = time.perf_counter()
    model.fit(train)
    return time.perf_counter() - start


def _result(model: Recommender, fit_s: float, rec_s: float, metrics: dict[str, float]) -> dict:
    return {
        "model": model.name,
        "params": model.fitted_params(),
        "fit_seconds": round(fit_s, 3),
        "recommend_seconds": round(rec_s, 3),
        "metrics": {k: round(float(v), 6) for k, v in metrics.items()},
    }


def run_rank(
    make_model: Callable[[], Recommender],
    data: Interactions,
    k: int,
    seed: int,
    rules: Rules = NO_RULES,
) -> dict:
    rng = np.random.default_rng(seed)
    train_frame, test_frame = rank_split(dedupe_latest(data.frame), rng)
    train = EncodedInteractions.encode(data.with_rows(train_frame))
    model = make_model()
    fit_s = _fit(model, train)
    metrics, rec_s = evaluate_ranking(model, train, test_frame, k, rules)
    return _result(model, fit_s, rec_s, metrics)


def loo_split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user with 2+ rows, the latest row by timestamp (ties: the later row) is held out.

    Both parts come ordered by (user, timestamp, row): the held-out rows' order is the order of
    the seeded negative draws in `loo_candidates`, so it is part of the protocol's figures."""
    ordered = frame.assign(_row=np.arange(len(frame))).sort_values(
        ["user", "timestamp", "_row"], kind="stable"
    )
    ordered = ordered.drop(columns="_row").reset_index(drop=True)
    held = leave_one_out_mask(_user_codes(ordered), ordered["timestamp"].to_numpy())
    return ordered[~held].reset_index(drop=True), ordered[held].reset_index(drop=True)


def loo_candidates(
    frame: pd.DataFrame, test_frame: pd.DataFrame, rng: np.random.Generator
) -> Iterator[tuple[Any, np.ndarray]]:
    """Per held-out row, in order: (user, [held item, then min(99, n) items drawn without
    replacement from the n items of the dataset the user never interacted with, sorted])."""
    universe = np.array(sorted(frame["item"].unique()), dtype=object)
    # each user's items as positions in `universe`: masking them out gives the same pool (and
    # so the same seeded draws) as filtering by value, without comparing Python objects
    positions = pd.Index(universe).get_indexer(frame["item"])
    interacted = pd.Series(positions).groupby(frame["user"].to_numpy()).agg(list)
    for user, held_item in zip(test_frame["user"], test_frame["item"], strict=True):
        available = np.ones(len(universe), bool)
        available[interacted[user]] = False
        pool = universe[available]
        yield user, np.r_[[held_item], rng.choice(pool, size=min(99, len(pool)), replace=False)]


def run_loo(make_model: Callable[[], Recommender], data: Interactions, k: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    frame = dedupe_latest(data.frame)
    train_frame, test_frame = loo_split(frame)
    train = EncodedInteractions.encode(data.with_rows(train_frame))
    model = make_model()
    fit_s = _fit(model, train)
    start = time.perf_counter()
    ranks = []
    for user, candidates in loo_candidates(frame, test_frame, rng):
        items = train.item_map.encode(candidates)
        u = train.user_map.get(user)
        scores = np.full(len(items), -np.inf)
        if u >= 0:
            known = items >= 0
            scores[known] = model.scorer.score_pairs(u, items[known])
        ranks.append(loo_rank(scores[0], scores[1:]))
    rec_s = time.perf_counter() - start
    return _result(model, fit_s, rec_s, loo_metrics(np.array(ranks, np.int64), k))


def rmse_split(
    data: Interactions, source: Path | None, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """u1.base/u1.test for MovieLens 100K; otherwise a seeded random 80/20 split of rows."""
    if source is not None and (source / "u1.base").is_file() and (source / "u1.test").is_file():
        from training.datasets.movielens import load_movielens_split

        return load_movielens_split(source, "u1")
    frame = dedupe_latest(data.frame)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(frame), bool)
    test[rng.permutation(len(frame))[: round(0.2 * len(frame))]] = True
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def evaluate_rmse(model: Recommender, train: EncodedInteractions, test: pd.DataFrame) -> dict:
    """rmse and mae on the rating rows of `test`, with predictions clipped to the rating
    range of train's rating rows (other events carry no rating to predict)."""
    train = train.ratings_only("rmse")
    test = test[test["is_rating"]]
    users = train.user_map.encode(test["user"].to_numpy())
    items = train.item_map.encode(test["item"].to_numpy())
    predicted = model.scorer.predict_pairs(users, items).astype(np.float64)
    predicted = np.clip(predicted, train.ratings.min(), train.ratings.max())
    errors = predicted - test["rating"].to_numpy(np.float64)
    return {"rmse": float(np.sqrt(np.mean(errors**2))), "mae": float(np.mean(np.abs(errors)))}


def run_rmse(
    make_model: Callable[[], Recommender], data: Interactions, seed: int, source: Path | None
) -> dict:
    train_frame, test_frame = rmse_split(data, source, seed)
    train = EncodedInteractions.encode(data.with_rows(train_frame))
    model = make_model()
    fit_s = _fit(model, train)
    start = time.perf_counter()
    metrics = evaluate_rmse(model, train, test_frame)
    return _result(model, fit_s, time.perf_counter() - start, metrics)


def run_protocol(
    protocol: str,
    make_model: Callable[[], Recommender],
    data: Interactions,
    *,
    k: int = 10,
    seed: int = 42,
    source: Path | None = None,
    rules: Rules = NO_RULES,
) -> dict[str, Any]:
    """One model's result under `protocol` ('rank', 'loo' or 'rmse'); serving `rules`
    (dither) reorder the lists of 'rank' only, as the others do not rank a served list."""
    if rules.active and protocol != "rank":
        raise ValueError(f"dither applies to the rank protocol only (got {protocol!r})")
    if protocol == "rank":
        return run_rank(make_model, data, k, seed, rules)
    if protocol == "loo":
        return run_loo(make_model, data, k, seed)
    if protocol == "rmse":
        return run_rmse(make_model, data, seed, source)
    raise ValueError(f"unknown protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS)}")
