"""Fold-in sees a history in the order training ranks it by recency: by the events' own
timestamps, not by when the store received them (an import or a backfill arrives in any
order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.serving.bundle import load_bundle
from app.serving.records import FoldInColumns, History
from app.serving.users import UserScoring
from tests.conftest import block_interactions
from training.models.base import create_model
from training.pipeline import train_and_export


def test_fold_in_orders_the_history_by_event_time(tmp_path: Path) -> None:
    # a steep recency, so that the order of the history matters
    params = {"epochs": 3, "factors": 8, "batch_size": 64, "validation_fraction": 0.0,
              "recency": 1.0}  # fmt: skip
    path = train_and_export(lambda: create_model("imf", **params), block_interactions(),
                            tmp_path / "imf", holdout=False, report=False).bundle  # fmt: skip
    bundle = load_bundle(path, check_name=False)
    items = np.array([0, 1, 2, 3], np.int32)
    arrived = np.arange(4, dtype=np.int64) + 1
    happened = np.array([400.0, 300.0, 200.0, 100.0])  # stored newest event first
    n = len(items)
    history = History(items, list(bundle.item_map.ids), np.zeros(n, bool), arrived,
                      fold_in=FoldInColumns(np.ones(n, np.float32), happened))  # fmt: skip
    scoring = UserScoring(bundle, np.zeros(len(bundle.item_map), np.float32), ())

    scores, strategy = scoring.scores("newcomer", history)

    oldest_first = items[::-1]
    ones, clicks = np.ones(n, np.float32), np.zeros(n, bool)
    assert strategy == "fold_in"
    np.testing.assert_allclose(scores, bundle.scorer.fold_in(oldest_first, ones, clicks))
    assert not np.allclose(scores, bundle.scorer.fold_in(items, ones, clicks))
