"""`reco train`: load -> prepare -> encode -> holdout evaluation -> fit on all -> bundle."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.export import export_bundle
from training.interactions import Interactions
from training.memory_plan import check_fits
from training.models.auto import AutoRecommender
from training.models.base import Recommender
from training.protocols import dedupe_latest, evaluate_ranking, evaluate_rmse, rank_split
from training.vocab import EncodedInteractions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    bundle: Path | None
    metrics: dict[str, float]


def holdout_metrics(
    make_model: Callable[[], Recommender], data: Interactions, seed: int, k: int = 10
) -> dict[str, float]:
    """Offline metrics from a RANK-style per-user holdout of the data (rmse too when the
    model predicts ratings), recorded in the manifest and exposed on /metrics."""
    train_frame, test_frame = rank_split(dedupe_latest(data.frame), np.random.default_rng(seed))
    train = EncodedInteractions.encode(data.with_rows(train_frame))
    model = make_model()
    check_fits(model, train)
    model.fit(train)
    metrics, _ = evaluate_ranking(model, train, test_frame, k)
    if "rating" in model.tasks:
        metrics |= evaluate_rmse(model, train, test_frame)
    return {k: float(v) for k, v in metrics.items()}


def train_and_export(
    make_model: Callable[[], Recommender],
    data: Interactions,
    out_dir: Path,
    *,
    seed: int = 42,
    holdout: bool = True,
    report: bool = True,
    extra_dataset: dict[str, Any] | None = None,
    write: bool = True,
) -> TrainResult:
    """Fit on all of `data` and write the bundle, with holdout metrics when asked; without
    `write` (a worker beside the chief, which fits in step with it), no bundle."""
    metrics = holdout_metrics(make_model, data, seed) if holdout else {}
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
    )
    return TrainResult(bundle, metrics)
