"""What the sampled-negative families record for fold-in: their loss's hyperparameters and
the constant their recency weights were divided by, so that serving can solve the same
per-user objective (app.serving.scorers) without the training data."""

from __future__ import annotations

from typing import Any

import numpy as np

from training.memory_plan import ROW_BYTES
from training.models._implicit import RECENCY_FLOOR, raw_recency_weights
from training.models._sampled import SampledRecommender
from training.vocab import EncodedInteractions

EPOCH_ROW_BYTES = 80


class FoldInSampled(SampledRecommender):
    """A sampled-negative model whose export carries `fold_in_params()`."""

    recency_mean = 1.0  # mean raw recency weight of the training positives (1: no recency)

    def seeded_split(
        self, train: EncodedInteractions
    ) -> tuple[
        EncodedInteractions, EncodedInteractions, EncodedInteractions | None, np.random.Generator
    ]:
        """As every sampled model's, noting the mean raw recency weight of the positives."""
        data, fit_part, valid, rng = super().seeded_split(train)
        if len(data):
            self.recency_mean = float(raw_recency_weights(data, self.config.recency).mean())
        return data, fit_part, valid, rng

    def memory_bytes(self, n_users: int, n_items: int, n_rows: int) -> int:
        """The rows, the sampled arrays held at once (users, items, negatives, weights,
        labels, a shuffled copy and the tensors fed from them, about 80 bytes a sampled
        row): a pointwise epoch's, or two passes of a pairwise one (the pass training and
        the next being sampled); and float32 user and item tables with two optimizer slots
        each."""
        cfg = self.config
        width = getattr(cfg, "factors", 64) + 1  # + the bias
        held = 2 if self.sampling == "pairwise" else cfg.negatives + 1
        sampled = EPOCH_ROW_BYTES * n_rows * held
        return ROW_BYTES * n_rows + sampled + 3 * 4 * width * (n_users + n_items)

    def fold_in_params(self) -> dict[str, Any]:
        """The training loss's weights that fold-in solves with (see recency_weights in
        app.serving.scorers.base); the config's `l2` is every sampled family's L2 weight."""
        cfg = self.config
        return {
            "l2": cfg.l2,  # type: ignore[attr-defined]
            "negatives": cfg.negatives,
            "rating_threshold": cfg.rating_threshold,
            "recency": cfg.recency,
            "recency_floor": RECENCY_FLOOR,
            "recency_mean": self.recency_mean,
        }
