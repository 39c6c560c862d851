"""Fold-in: a user vector computed at request time from interactions the model never saw.

For dot-product models this is the regularised least-squares solve of ALS for one user,
with a user bias column: [Q_h 1] [p; b] ~ y, where y is the rating minus the item baseline for
rating events and a top rating for any other kind (a click or play is a positive signal).
"""

from __future__ import annotations

import numpy as np

from app.serving.scorers import DotScorer, Scorer

FOLD_IN_L2 = 1.0


def fold_in_scores(
    scorer: Scorer, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray
) -> np.ndarray | None:
    """Scores of every item for a user with history `items`, or None when the model kind has
    no fold-in (the caller then falls back to popularity)."""
    if len(items) == 0:
        return None
    if isinstance(scorer, DotScorer):
        return _dot_fold_in(scorer, items, values, is_rating)
    score_history = getattr(scorer, "score_history", None)
    if callable(score_history):  # item-item models score straight from the history
        return np.asarray(score_history(items), dtype=np.float32)
    return None


def _dot_fold_in(
    scorer: DotScorer, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray
) -> np.ndarray:
    top = float(scorer.params.get("max_rating", 1.0 if scorer.output != "identity" else 5.0))
    if scorer.output == "sigmoid":  # implicit models: interactions are positives
        targets = np.full(len(items), 4.0, np.float32)  # logit of a confident positive
    else:
        ratings = np.where(is_rating, values, top)
        targets = ratings - scorer.global_bias - scorer.item_bias[items]
    design = np.hstack([scorer.item_factors[items], np.ones((len(items), 1), np.float32)])
    gram = design.T @ design + FOLD_IN_L2 * np.eye(design.shape[1], dtype=np.float32)
    solution = np.linalg.solve(gram, design.T @ targets.astype(np.float32))
    vector, bias = solution[:-1], float(solution[-1])
    raw = scorer.item_factors @ vector + scorer.item_bias + bias + scorer.global_bias
    return scorer._transform(raw.astype(np.float32))
