"""Numpy scoring of exported model arrays, one scorer class per model kind.

Used by the serving process and by offline evaluation alike; never imports TensorFlow.
Each kind documents the arrays and params it expects; a bundle's manifest names the kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np


class ScorerError(ValueError):
    """Arrays or params that do not fit the scorer kind."""


class Scorer:
    """Scores items for users by index; subclasses implement one model kind."""

    kind: ClassVar[str]

    def __init__(self, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> None:
        self.arrays = dict(arrays)
        self.params = dict(params)

    @property
    def n_items(self) -> int:
        raise NotImplementedError

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for each user index, shape (len(users), n_items), float32."""
        raise NotImplementedError

    def score_pairs(self, user: int, items: np.ndarray) -> np.ndarray:
        """Scores of the given item indices for one user index."""
        return self.score_users(np.array([user]))[0, items]

    def item_embeddings(self) -> np.ndarray | None:
        """Item vectors for item-to-item similarity, or None if the kind has none."""
        return None

    def predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Rating-scale predictions for (user, item) index pairs, -1 meaning unknown: an
        unknown side contributes nothing beyond the model's baseline."""
        raise ScorerError(f"{self.kind} models do not predict ratings")

    def _require(self, *names: str) -> list[np.ndarray]:
        missing = [n for n in names if n not in self.arrays]
        if missing:
            raise ScorerError(f"{self.kind} scorer needs arrays {missing}")
        return [self.arrays[n] for n in names]


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


class DotScorer(Scorer):
    """Dot product of factors plus optional biases, then an optional output transform.

    Arrays: user_factors (U, d), item_factors (I, d); optional user_bias (U,), item_bias (I,).
    Params: global_bias (float, default 0); output: "identity" (default), "sigmoid", or
    "sigmoid_range" with min_rating/max_rating (lo + (hi - lo) * sigmoid(x)).
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

    def score_users(self, users: np.ndarray) -> np.ndarray:
        raw = self.user_factors[users] @ self.item_factors.T
        raw += self.item_bias[None, :]
        raw += (self.user_bias[users] + self.global_bias)[:, None]
        return self._transform(raw)

    def score_pairs(self, user: int, items: np.ndarray) -> np.ndarray:
        raw = self.item_factors[items] @ self.user_factors[user]
        raw += self.item_bias[items] + self.user_bias[user] + self.global_bias
        return self._transform(raw)

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


SCORERS: dict[str, type[Scorer]] = {cls.kind: cls for cls in (PopularityScorer, DotScorer)}


def register_scorer(cls: type[Scorer]) -> type[Scorer]:
    """Class decorator for scorer kinds defined elsewhere in this module's package."""
    SCORERS[cls.kind] = cls
    return cls


def build_scorer(kind: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> Scorer:
    """The scorer for `kind`; ScorerError if the kind is unknown or the arrays do not fit."""
    try:
        cls = SCORERS[kind]
    except KeyError:
        raise ScorerError(f"unknown scorer kind {kind!r}; known: {sorted(SCORERS)}") from None
    return cls(arrays, params)
