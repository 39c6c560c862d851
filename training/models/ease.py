"""EASE (Steck 2019): a closed-form linear item-item model, B = argmin |X - XB|^2 + l2 |B|^2
with diag(B) = 0. NumPy only; strong on MovieLens-like data."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from pydantic import Field

from app.serving.scorers import build_scorer
from training.memory_plan import ROW_BYTES
from training.models._implicit import (
    ImplicitConfig,
    ValidationRanker,
    carve_validation,
    history_csr,
    interaction_matrix,
    positives,
)
from training.models.base import ExportedModel, FitHistory, Recommender, register
from training.vocab import EncodedInteractions

log = logging.getLogger(__name__)

TUNING_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


class EASEConfig(ImplicitConfig):
    l2: float = Field(500.0, gt=0, le=1e7, description="ridge weight lambda")
    tune: bool = Field(
        True, description="pick l2 among l2 x {1/4, 1/2, 1, 2, 4} on the validation split"
    )


def ease_memory_bytes(n_users: int, n_items: int) -> int:
    """Peak bytes of one EASE fit (`ease_weights`): the dense user x item float32 matrix, then
    per item x item cell the float64 Gram matrix, its inverse, LAPACK's working copy and the
    float64 weights, beside their float32 copy."""
    return 4 * n_users * n_items + (4 * 8 + 4) * n_items**2


def ease_weights(matrix: np.ndarray, l2: float) -> np.ndarray:
    """The EASE item x item weights (float32) of a user x item matrix."""
    gram = (matrix.T @ matrix).astype(np.float64)  # exact: integer counts below 2**24
    gram[np.diag_indices_from(gram)] += l2
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32)


@register
class EASE(Recommender):
    """Scores = the user's interaction row times B ("item_item" kind)."""

    name = "ease"
    config_class = EASEConfig
    config: EASEConfig

    def fit(self, train: EncodedInteractions) -> FitHistory:
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        data = positives(train, cfg.rating_threshold)
        self.l2 = cfg.l2
        fit_part, valid = carve_validation(data, cfg.validation_fraction, rng)
        if cfg.tune and valid is not None:
            ranker = ValidationRanker(fit_part, valid, rng)
            matrix = interaction_matrix(fit_part)
            indptr, indices = history_csr(fit_part)
            scores = {}
            for scale in TUNING_SCALES:
                l2 = cfg.l2 * scale
                arrays = {"item_weights": ease_weights(matrix, l2),
                          "history_indptr": indptr, "history_indices": indices}  # fmt: skip
                scores[l2] = ranker(build_scorer("item_item", arrays, {}))
                self.history.epochs.append({"l2": l2, "val_ndcg@10": scores[l2]})
                log.info("l2=%g val_ndcg@10=%.4f", l2, scores[l2])
            self.l2 = max(scores, key=scores.__getitem__)
        self.weights = ease_weights(interaction_matrix(data), self.l2)
        self.history_indptr, self.history_indices = history_csr(data)
        self._scorer = None
        return self.history

    def memory_bytes(self, n_users: int, n_items: int, n_rows: int) -> int:
        """One EASE fit at a time (tuning fits one l2 after another), beside the rows."""
        return ROW_BYTES * n_rows + ease_memory_bytes(n_users, n_items)

    def fitted_params(self) -> dict[str, Any]:
        return {**super().fitted_params(), "l2": self.l2}

    def export(self) -> ExportedModel:
        arrays = {"item_weights": self.weights, "history_indptr": self.history_indptr,
                  "history_indices": self.history_indices}  # fmt: skip
        params = {"l2": self.l2, "rating_threshold": self.config.rating_threshold}
        return ExportedModel("item_item", arrays, params)
