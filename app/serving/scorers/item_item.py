"""Item-item scorer (EASE): a user's interaction row times an item x item weight matrix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.serving.scorers.base import (
    Scorer,
    ScorerError,
    positive_items,
    register_scorer,
    threshold_param,
)


@register_scorer
class ItemItemScorer(Scorer):
    """A user's interaction vector times an item x item weight matrix (EASE, RP3beta).

    Arrays: item_weights (I, I); history_indptr (U + 1,), history_indices (nnz,): the training
    user -> items rows as CSR. Params: optional rating_threshold (ratings below it were not
    positives in training). Item embeddings for similarity: rows of item_weights (items that
    point to the same items are alike).
    """

    kind = "item_item"

    def __init__(self, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> None:
        super().__init__(arrays, params)
        weights, indptr, indices = self._require(
            "item_weights", "history_indptr", "history_indices"
        )
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        if self.weights.ndim != 2 or self.weights.shape[0] != self.weights.shape[1]:
            raise ScorerError(f"item_weights must be square, got shape {self.weights.shape}")
        self.indptr = np.asarray(indptr, np.int64)
        self.indices = np.asarray(indices, np.int64)
        if self.indptr[-1] != len(self.indices):
            raise ScorerError("history_indptr does not end at len(history_indices)")
        if len(self.indices) and self.indices.max() >= self.n_items:
            raise ScorerError(f"history_indices refer to item {self.indices.max()} or beyond")

    @property
    def n_items(self) -> int:
        return len(self.weights)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, np.int64)
        starts, lengths = self.indptr[users], np.diff(self.indptr)[users]
        rows = np.repeat(np.arange(len(users)), lengths)
        skip = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        cols = self.indices[np.arange(lengths.sum()) + skip]
        history = np.zeros((len(users), self.n_items), np.float32)
        history[rows, cols] = 1.0
        return history @ self.weights

    def score_history(self, item_indices: np.ndarray) -> np.ndarray:
        """Scores of every item for someone who interacted with `item_indices` (new users)."""
        items = np.unique(self._checked_items(item_indices))
        return self.weights[items].sum(axis=0, dtype=np.float32)

    def fold_in(self, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray) -> np.ndarray:
        """The trained model's own scoring of a binary history row: its distinct positives
        times the weights (EASE has no user parameters to fit)."""
        positives = positive_items(self._checked_items(items), values, is_rating,
                                   threshold_param(self))  # fmt: skip
        return self.score_history(positives)

    def item_embeddings(self) -> np.ndarray:
        return self.weights
