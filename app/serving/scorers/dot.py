"""Dot-product scorers (als, imf, bpr, mf, gmf, two-tower, bias) and their fold-in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.serving.scorers.base import FoldInUnsupported, Scorer, ScorerError, register_scorer
from app.serving.scorers.factor_objectives import FOLD_INS

# the fold-in objectives that take disliked items as explicit negatives, as training does
EXPLICIT_NEGATIVES = frozenset({"als", "logistic", "bpr", "margin"})


@register_scorer
class DotScorer(Scorer):
    """Dot product of factors plus optional biases, then an optional output transform.

    Arrays: user_factors (U, d), item_factors (I, d); optional user_bias (U,), item_bias (I,).
    Params: global_bias (float, default 0); output: "identity" (default), "sigmoid", or
    "sigmoid_range" with min_rating/max_rating (lo + (hi - lo) * sigmoid(x)); objective: the
    training objective that fold-in solves (see factor_objectives), with its hyperparameters.
    """

    kind = "dot"

    def __init__(self, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> None:
        super().__init__(arrays, params)
        users, items = self._require("user_factors", "item_factors")
        self.user_factors = np.ascontiguousarray(users, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(items, dtype=np.float32)
        if self.user_factors.shape[1] != self.item_factors.shape[1]:
            raise ScorerError("user_factors and item_factors differ in width")
        self.user_bias = self._optional("user_bias", len(self.user_factors))
        self.item_bias = self._optional("item_bias", len(self.item_factors))
        self.global_bias = float(self.params.get("global_bias", 0.0))
        self.output = str(self.params.get("output", "identity"))
        if self.output not in ("identity", "sigmoid", "sigmoid_range"):
            raise ScorerError(f"unknown output transform {self.output!r}")

    def _optional(self, name: str, length: int) -> np.ndarray:
        values = self.arrays.get(name)
        if values is None:
            return np.zeros(length, np.float32)
        return np.asarray(values, dtype=np.float32).reshape(length)

    @property
    def n_items(self) -> int:
        return len(self.item_factors)

    def _transform(self, raw: np.ndarray) -> np.ndarray:
        if self.output == "identity":
            return raw
        squashed = 1.0 / (1.0 + np.exp(-raw))
        if self.output == "sigmoid":
            return squashed
        lo, hi = float(self.params["min_rating"]), float(self.params["max_rating"])
        return (lo + (hi - lo) * squashed).astype(np.float32)

    def transform_slope(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The output transform of `raw` and its derivative, for fold-in's Gauss-Newton steps."""
        if self.output == "identity":
            return raw, np.ones_like(raw)
        squashed = 1.0 / (1.0 + np.exp(-raw))
        scale = 1.0
        if self.output == "sigmoid_range":
            scale = float(self.params["max_rating"]) - float(self.params["min_rating"])
        return self._transform(raw), scale * squashed * (1.0 - squashed)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        raw = self.user_factors[users] @ self.item_factors.T
        raw += self.item_bias[None, :]
        raw += (self.user_bias[users] + self.global_bias)[:, None]
        return self._transform(raw)

    def score_pairs(self, user: int, items: np.ndarray) -> np.ndarray:
        raw = self.item_factors[items] @ self.user_factors[user]
        raw += self.item_bias[items] + self.user_bias[user] + self.global_bias
        return self._transform(raw)

    def fold_in(self, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray) -> np.ndarray:
        """The user's vector and bias that minimise the family's training objective (params
        `objective`) given the history, scored against every item."""
        objective = self.params.get("objective")
        solve = FOLD_INS.get(str(objective))
        if solve is None:
            raise FoldInUnsupported(
                f"this {self.kind} bundle records no fold-in objective (got {objective!r}; "
                f"known: {sorted(FOLD_INS)}); retrain it to fold in new histories"
            )
        return self._scores(*solve(self, self._checked_items(items), values, is_rating))

    def fold_in_disliking(
        self, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray, disliked: np.ndarray
    ) -> np.ndarray:
        """A disliked item is an explicit negative where the objective trained with them: als
        (preference 0 at full confidence), logistic (a label-0 row), bpr and margin (pairs
        against the positives); the rating objectives give it no weight."""
        objective = str(self.params.get("objective"))
        if objective not in EXPLICIT_NEGATIVES or not len(disliked):
            return self.fold_in(items, values, is_rating)
        items, disliked = self._checked_items(items), self._checked_items(disliked)
        return self._scores(*FOLD_INS[objective](self, items, values, is_rating, disliked))

    def _scores(self, vector: np.ndarray, bias: float) -> np.ndarray:
        """Every item's score for a folded-in user's vector and bias."""
        raw = self.item_factors @ vector.astype(np.float32)
        raw += self.item_bias + np.float32(bias + self.global_bias)
        return np.asarray(self._transform(raw), dtype=np.float32)

    def item_embeddings(self) -> np.ndarray:
        return self.item_factors

    def predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        known_u, known_i = users >= 0, items >= 0
        u, i = np.where(known_u, users, 0), np.where(known_i, items, 0)
        dot = np.einsum("ij,ij->i", self.user_factors[u], self.item_factors[i])
        raw = (
            np.where(known_u & known_i, dot, 0.0)
            + np.where(known_u, self.user_bias[u], 0.0)
            + np.where(known_i, self.item_bias[i], 0.0)
            + self.global_bias
        )
        return self._transform(raw.astype(np.float32))


@register_scorer
class BiasScorer(DotScorer):
    """Global mean plus user and item biases, no factors (so no item embeddings).

    Arrays: user_bias (U,), item_bias (I,). Params: global_bias; objective "baseline" with
    reg_user for fold-in.
    """

    kind = "bias"

    def __init__(self, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> None:
        user_bias, item_bias = (arrays.get(n) for n in ("user_bias", "item_bias"))
        if user_bias is None or item_bias is None:
            raise ScorerError("bias scorer needs arrays ['user_bias', 'item_bias']")
        widthless = {
            "user_factors": np.zeros((len(user_bias), 0), np.float32),
            "item_factors": np.zeros((len(item_bias), 0), np.float32),
        }
        super().__init__({**arrays, **widthless}, params)
        self.arrays = dict(arrays)

    def item_embeddings(self) -> None:
        return None
