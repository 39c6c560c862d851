"""`reco train`: load -> prepare -> encode -> holdout evaluation -> fit on all -> bundle."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.export import UserHistories, export_bundle
from training.interactions import Interactions
from training.memory_plan import check_fits
from training.models.auto import AutoRecommender
from training.models.base import Recommender
from training.protocols import dedupe_latest, evaluate_ranking, evaluate_rmse, rank_split
from training.vocab import EncodedInteractions

log = logging.getLogger(__name__)
# test users the holdout scores at most: its figures then cost the same at any data size
# (ndcg@10's standard error over 20,000 users is about 0.002); 0 scores every one
HOLDOUT_USERS = 20_000


@dataclass(frozen=True)
class TrainResult:
    bundle: Path | None
    metrics: dict[str, float]


def holdout_metrics(
    make_model: Callable[[], Recommender],
    data: Interactions,
    seed: int,
    k: int = 10,
    max_users: int | None = None,
) -> dict[str, float]:
    """Offline metrics from a RANK-style per-user holdout of the data (rmse too when the
    model predicts ratings), recorded in the manifest and exposed on /metrics. The model
    fits the whole training part; the test rows of at most `max_users` random users are
    scored (None: HOLDOUT_USERS; all of them when there are fewer or `max_users` is 0: then
    the figures are `reco evaluate --protocol rank`'s)."""
    train_frame, test_frame = rank_split(dedupe_latest(data.frame), np.random.default_rng(seed))
    test_frame = _some_users(test_frame, HOLDOUT_USERS if max_users is None else max_users, seed)
    train = EncodedInteractions.encode(data.with_rows(train_frame))
    model = make_model()
    check_fits(model, train)
    model.fit(train)
    metrics, _ = evaluate_ranking(model, train, test_frame, k)
    if "rating" in model.tasks:
        metrics |= evaluate_rmse(model, train, test_frame)
    return {k: float(v) for k, v in metrics.items()}


def _some_users(test: pd.DataFrame, max_users: int, seed: int) -> pd.DataFrame:
    """The rows of `max_users` random users of `test` (seeded), or all rows when it has no
    more users or `max_users` is 0."""
    users = test["user"].unique()
    if not max_users or len(users) <= max_users:
        return test
    chosen = np.random.default_rng(seed).choice(len(users), max_users, replace=False)
    log.info("holdout: scoring %d of %d test users", max_users, len(users))
    return test[test["user"].isin(users[chosen])].reset_index(drop=True)


def train_and_export(
    make_model: Callable[[], Recommender],
    data: Interactions,
    out_dir: Path,
    *,
    seed: int = 42,
    holdout: bool = True,
    holdout_users: int | None = None,
    report: bool = True,
    extra_dataset: dict[str, Any] | None = None,
    write: bool = True,
    user_histories: UserHistories | None = None,
) -> TrainResult:
    """Fit on all of `data` and write the bundle, with holdout metrics when asked (and the
    users' stored events, when given: `export_bundle`); without `write` (a worker beside
    the chief, which fits in step with it), no bundle."""
    metrics = holdout_metrics(make_model, data, seed, max_users=holdout_users) if holdout else {}
    if metrics:
        log.info("holdout %s", " ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    encoded = EncodedInteractions.encode(data.with_rows(dedupe_latest(data.frame)))
    model = make_model()
    check_fits(model, encoded)
    model.fit(encoded)
    if not write:
        return TrainResult(None, metrics)
    selection = model.selection if isinstance(model, AutoRecommender) else None

    def write_report(path: Path) -> None:
        from training.report import write_training_report

        write_training_report(
            path,
            model_name=model.name,
            history=model.history,
            metrics=metrics,
            exported=model.export(),
            train=encoded,
            item_genres=list(encoded.item_genres) or [""] * encoded.n_items,
            params=model.fitted_params(),
            selection=selection,
        )

    bundle = export_bundle(
        model,
        encoded,
        out_dir=out_dir,
        dataset_name=data.name,
        dataset_fingerprint=data.fingerprint(),
        items=data.items,
        metrics=metrics,
        report=write_report if report else None,
        extra_dataset=extra_dataset,
        selection=selection,
        user_histories=user_histories,
    )
    return TrainResult(bundle, metrics)
