"""Explicit negatives in fold-in, exactly: als holds a disliked item at preference 0 with
confidence 1 + alpha; a family without negatives folds in as if the dislike were absent."""

import numpy as np
import pytest

from app.serving.scorers import DotScorer

ITEMS = np.array([[1.0, 0.2], [0.8, 0.5], [0.1, 1.0], [0.5, 0.5]], np.float32)
HISTORY, CLICKS = np.array([0, 1]), (np.ones(2, np.float32), np.zeros(2, bool))


def _als(alpha: float = 3.0, reg: float = 0.5) -> DotScorer:
    arrays = {"user_factors": np.zeros((1, 2), np.float32), "item_factors": ITEMS}
    return DotScorer(arrays, {"objective": "als", "reg": reg, "alpha": alpha})


def test_als_dislike_shrinks_the_items_score_by_the_sherman_morrison_factor():
    scorer, disliked, alpha = _als(), 3, 3.0
    plain = scorer.fold_in(HISTORY, *CLICKS)
    negative = scorer.fold_in_disliking(HISTORY, *CLICKS, np.array([disliked]))
    y = ITEMS.astype(np.float64)
    m = y.T @ y + 0.5 * np.eye(2) + alpha * y[HISTORY].T @ y[HISTORY]
    factor = 1 + alpha * y[disliked] @ np.linalg.solve(m, y[disliked])
    assert negative[disliked] == pytest.approx(plain[disliked] / factor, rel=1e-5)
    assert negative[disliked] < plain[disliked]


def test_als_without_dislikes_and_other_objectives_fold_in_as_before():
    scorer = _als()
    assert np.array_equal(scorer.fold_in_disliking(HISTORY, *CLICKS, np.empty(0, np.int64)),
                          scorer.fold_in(HISTORY, *CLICKS))  # fmt: skip
    arrays = {"user_factors": np.zeros((1, 2), np.float32), "item_factors": ITEMS}
    logistic = DotScorer(arrays, {"objective": "logistic", "l2": 0.01, "negatives": 4})
    assert np.array_equal(
        logistic.fold_in_disliking(HISTORY, *CLICKS, np.array([3])),
        logistic.fold_in(HISTORY, *CLICKS),
    )
