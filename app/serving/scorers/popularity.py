"""The popularity scorer: one list for everyone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.serving.scorers.base import Scorer, register_scorer


@register_scorer
class PopularityScorer(Scorer):
    """Same list for everyone. Arrays: item_scores (n_items,)."""

    kind = "popularity"

    def __init__(self, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> None:
        super().__init__(arrays, params)
        (self.item_scores,) = (a.astype(np.float32) for a in self._require("item_scores"))

    @property
    def n_items(self) -> int:
        return len(self.item_scores)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores, (len(users), self.n_items)).copy()

    def score_pairs(self, user: int, items: np.ndarray) -> np.ndarray:
        return self.item_scores[items]

    def fold_in(self, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray) -> np.ndarray:
        """The item scores: the model was trained to give everyone the same list."""
        self._checked_items(items)
        return self.item_scores.copy()
