"""The baseline every recommender must beat: the most-interacted items, for everyone."""

from __future__ import annotations

import numpy as np

from training.models.base import ExportedModel, FitHistory, Recommender, register
from training.vocab import EncodedInteractions


@register
class PopularityModel(Recommender):
    """Scores an item by log(1 + its interaction count)."""

    name = "popularity"

    def fit(self, train: EncodedInteractions) -> FitHistory:
        self.counts = train.item_counts()
        self._scorer = None
        return self.history

    def memory_bytes(self, n_users: int, n_items: int, n_rows: int) -> int:
        """A count per item."""
        return 16 * n_items

    def export(self) -> ExportedModel:
        return ExportedModel(
            "popularity", {"item_scores": np.log1p(self.counts).astype(np.float32)}
        )
