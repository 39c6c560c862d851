"""Explicit negatives in fold-in, exactly: als holds a disliked item at preference 0 with
confidence 1 + alpha, the sampled objectives (logistic, bpr, ncf) as the label-0 row or pair
training adds; a rating objective folds in as if the dislike were absent."""

import numpy as np
import pytest

from app.serving.scorers import DotScorer, NCFScorer
from app.serving.scorers.base import pointwise_targets
from tests.app.conftest import neumf_lifting_d

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


def test_als_without_dislikes_and_rating_objectives_fold_in_as_before():
    scorer = _als()
    assert np.array_equal(scorer.fold_in_disliking(HISTORY, *CLICKS, np.empty(0, np.int64)),
                          scorer.fold_in(HISTORY, *CLICKS))  # fmt: skip
    arrays = {"user_factors": np.zeros((1, 2), np.float32), "item_factors": ITEMS}
    ratings = DotScorer(arrays, {"objective": "baseline", "reg_user": 1.0})
    rated = (np.array([4.0, 5.0], np.float32), np.ones(2, bool))
    assert np.array_equal(
        ratings.fold_in_disliking(HISTORY, *rated, np.array([3])),
        ratings.fold_in(HISTORY, *rated),
    )


def _logistic() -> DotScorer:
    arrays = {"user_factors": np.zeros((1, 2), np.float32), "item_factors": ITEMS}
    return DotScorer(arrays, {"objective": "logistic", "l2": 0.01, "negatives": 4})


def test_logistic_folds_a_dislike_in_as_a_label_zero_row():
    """The folded-in vector zeroes the gradient of the loss with one more label-0 row, of
    weight 1, on the disliked item (as training adds it each epoch)."""
    scorer, disliked = _logistic(), np.array([3])
    plain = scorer.fold_in(HISTORY, *CLICKS)
    negative = scorer.fold_in_disliking(HISTORY, *CLICKS, disliked)
    assert negative[3] < plain[3]
    labels, weights, ridge = pointwise_targets(scorer, HISTORY, disliked)
    _, plain_weights, plain_ridge = pointwise_targets(scorer, HISTORY)
    assert weights[3] == plain_weights[3] + 1.0 and ridge == pytest.approx(plain_ridge + 0.02)
    y = ITEMS.astype(np.float64)
    vector = np.linalg.lstsq(y, negative.astype(np.float64), rcond=None)[0]
    gradient = y.T @ (weights * (1 / (1 + np.exp(-(y @ vector))) - labels)) + ridge * vector
    assert np.abs(gradient).max() < 1e-3


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "bpr", "l2": 0.01, "negatives": 4},
        {"objective": "margin", "margin": 1.0, "negatives": 4},
    ],
)
def test_pairwise_objectives_fold_a_dislike_in_behind_the_liked_items(params):
    """bpr and two-tower scores are relative: the disliked item's gap to the liked ones
    widens (its own score may grow with the vector's length)."""
    arrays = {"user_factors": np.zeros((1, 2), np.float32), "item_factors": ITEMS}
    scorer = DotScorer(arrays, params)
    plain = scorer.fold_in(HISTORY, *CLICKS)
    negative = scorer.fold_in_disliking(HISTORY, *CLICKS, np.array([3]))
    assert negative[3] - negative[HISTORY].mean() < plain[3] - plain[HISTORY].mean()


def test_ncf_folds_a_dislike_in_as_a_label_zero_row():
    neumf = NCFScorer(neumf_lifting_d(), {"l2": 0.001, "negatives": 4})
    plain = neumf.fold_in(HISTORY, *CLICKS)
    assert neumf.fold_in_disliking(HISTORY, *CLICKS, np.array([3]))[3] < plain[3]
