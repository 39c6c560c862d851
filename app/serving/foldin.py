"""Fold-in: a user vector computed at request time from interactions the model never saw.

- Dot-product models: the regularised least-squares solve of ALS for one user, with a user
  bias column, [Q_h 1] [p; b] ~ y. For rating models y is the rating minus the item baseline
  for rating events and the top rating for any other kind (a click or play is a positive
  signal); for implicit models y = 1 for every event.
- Two-tower (params fold_in = "mean"): the mean of the history items' tower outputs.
- Item-item models: their own `score_history`.
- Other models with item embeddings (NCF): mean cosine similarity to the history items.
"""

from __future__ import annotations

import numpy as np

from app.serving.index import normalise_rows
from app.serving.scorers import DotScorer, Scorer

FOLD_IN_L2 = 1.0


def fold_in_scores(
    scorer: Scorer, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray
) -> np.ndarray | None:
    """Scores of every item for a user with history `items`, or None when the model kind has
    no fold-in (the caller then falls back to popularity)."""
    if len(items) == 0:
        return None
    if isinstance(scorer, DotScorer) and scorer.params.get("fold_in") == "mean":
        return scorer.item_factors @ scorer.item_factors[items].mean(axis=0)
    if isinstance(scorer, DotScorer):
        return _dot_fold_in(scorer, items, values, is_rating)
    score_history = getattr(scorer, "score_history", None)
    if callable(score_history):  # item-item models score straight from the history
        return np.asarray(score_history(items), dtype=np.float32)
    embeddings = scorer.item_embeddings()
    if embeddings is not None:
        unit = normalise_rows(embeddings)
        return unit @ unit[items].mean(axis=0)
    return None


def _dot_fold_in(
    scorer: DotScorer, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray
) -> np.ndarray:
    if "max_rating" in scorer.params:  # a rating model
        ratings = np.where(is_rating, values, float(scorer.params["max_rating"]))
        targets = ratings - scorer.global_bias - scorer.item_bias[items]
    else:  # implicit feedback: every interaction is a positive
        targets = np.ones(len(items), np.float32)
    design = np.hstack([scorer.item_factors[items], np.ones((len(items), 1), np.float32)])
    gram = design.T @ design + FOLD_IN_L2 * np.eye(design.shape[1], dtype=np.float32)
    solution = np.linalg.solve(gram, design.T @ targets.astype(np.float32))
    vector, bias = solution[:-1], float(solution[-1])
    raw = scorer.item_factors @ vector + scorer.item_bias + bias + scorer.global_bias
    return scorer._transform(raw.astype(np.float32))
