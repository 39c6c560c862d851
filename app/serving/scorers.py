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


class FoldInUnsupported(ScorerError):
    """The model family cannot compute a user's scores from a history it was not trained on."""


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

    def fold_in(self, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray) -> np.ndarray:
        """Scores of every item (float32, n_items) for a user whose history is `items` (this
        model's indices), `values` and `is_rating` (a rating, else an implicit event), solving
        the objective the family was trained with. FoldInUnsupported where it cannot."""
        from app.serving.foldin import fold_in_scores  # interim: family solves replace this

        scores = fold_in_scores(self, items, values, is_rating)
        if scores is None:
            raise FoldInUnsupported(f"{self.kind} models cannot fold in a new history")
        return scores

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


# which items to score: an index array, or ALL_ITEMS (a view of every row, no table copy)
ItemSelection = np.ndarray | slice
ALL_ITEMS = slice(None)


def _dense_layers(hidden: np.ndarray, weights: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Dense ReLU layers applied to the last axis of `hidden`."""
    for w, b in weights:
        hidden = hidden @ w
        hidden += b
        np.maximum(hidden, 0.0, out=hidden)  # in place: these arrays are the big ones
    return hidden


@register_scorer
class BiasScorer(DotScorer):
    """Global mean plus user and item biases, no factors (so no item embeddings).

    Arrays: user_bias (U,), item_bias (I,). Params: global_bias.
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


@register_scorer
class NCFScorer(Scorer):
    """Neural collaborative filtering (GMF, MLP or NeuMF), as logits.

    Arrays: optional gmf_user (U, g), gmf_item (I, g); optional mlp_user (U, m), mlp_item
    (I, m) with mlp_w0 (2m, h0), mlp_b0 (h0,), mlp_w1, mlp_b1, ... (ReLU after each); out_w
    (g + h_last,) and out_b (1,) on the concatenation [gmf_user * gmf_item, mlp output];
    optional item_bias (I,) and user_bias (U,) added to the output.
    Item embeddings for similarity: the concatenation of the item's gmf and mlp embeddings.
    """

    kind = "ncf"
    USER_CHUNK_VALUES = 1 << 19  # hidden values per chunk of users: bounds memory, stays in cache

    def __init__(self, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> None:
        super().__init__(arrays, params)
        out_w, out_b = self._require("out_w", "out_b")
        self.out_w = np.asarray(out_w, np.float32).reshape(-1)
        self.out_b = float(np.asarray(out_b).reshape(-1)[0])
        self.gmf = self._pair("gmf_user", "gmf_item")
        self.mlp = self._pair("mlp_user", "mlp_item")
        if self.gmf is None and self.mlp is None:
            raise ScorerError("ncf scorer needs gmf_user/gmf_item or mlp_user/mlp_item arrays")
        layers = []
        while f"mlp_w{len(layers)}" in self.arrays:
            n = len(layers)
            w, b = self._require(f"mlp_w{n}", f"mlp_b{n}")
            layers.append((np.asarray(w, np.float32), np.asarray(b, np.float32)))
        if self.mlp is not None and not layers:
            raise ScorerError("ncf scorer needs mlp_w0/mlp_b0 with mlp embeddings")
        self.layers = layers
        g = 0 if self.gmf is None else self.gmf[0].shape[1]
        self.gmf_w, self.mlp_w = self.out_w[:g], self.out_w[g:]
        m = 0 if self.mlp is None else self.mlp[0].shape[1]
        if layers and layers[0][0].shape[0] != 2 * m:
            raise ScorerError(f"mlp_w0 has {layers[0][0].shape[0]} rows, expected {2 * m}")
        width = g + (layers[-1][0].shape[1] if layers else 0)
        if len(self.out_w) != width:
            raise ScorerError(f"out_w has {len(self.out_w)} weights, expected {width}")

    def _pair(self, user: str, item: str) -> tuple[np.ndarray, np.ndarray] | None:
        if user not in self.arrays and item not in self.arrays:
            return None
        u, i = self._require(user, item)
        return np.asarray(u, np.float32), np.asarray(i, np.float32)

    @property
    def n_items(self) -> int:
        return len((self.gmf or self.mlp)[1])  # type: ignore[index]

    def _mlp_part(self, users: np.ndarray, items: ItemSelection) -> np.ndarray:
        """MLP output contribution, shape (len(users), number of items)."""
        w0, b0 = self.layers[0]
        m = self.mlp[0].shape[1]  # type: ignore[index]
        from_user = self.mlp[0][users] @ w0[:m] + b0  # type: ignore[index]
        from_item = self.mlp[1][items] @ w0[m:]  # type: ignore[index]
        hidden = from_user[:, None, :] + from_item[None, :, :]
        np.maximum(hidden, 0.0, out=hidden)
        return _dense_layers(hidden, self.layers[1:]) @ self.mlp_w

    def _linear(self, users: np.ndarray, items: ItemSelection) -> np.ndarray:
        """The logit without the MLP part: output bias, user and item biases, GMF part."""
        count = self.n_items if isinstance(items, slice) else len(items)
        scores = np.full((len(users), count), self.out_b, np.float32)
        if "item_bias" in self.arrays:
            scores += np.asarray(self.arrays["item_bias"], np.float32)[items]
        if "user_bias" in self.arrays:
            scores += np.asarray(self.arrays["user_bias"], np.float32)[users][:, None]
        if self.gmf is not None:
            scores += (self.gmf[0][users] * self.gmf_w) @ self.gmf[1][items].T
        return scores

    def _score(self, users: np.ndarray, items: ItemSelection) -> np.ndarray:
        scores = self._linear(users, items)
        if self.mlp is not None:
            scores += self._mlp_part(users, items)
        return scores

    def score_users(self, users: np.ndarray) -> np.ndarray:
        width = self.layers[0][0].shape[1] if self.layers else 1
        chunk = max(1, self.USER_CHUNK_VALUES // max(1, self.n_items * width))
        parts = [self._score(users[s : s + chunk], ALL_ITEMS) for s in range(0, len(users), chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, self.n_items), np.float32)

    def score_pairs(self, user: int, items: np.ndarray) -> np.ndarray:
        return self._score(np.array([user]), np.asarray(items))[0]

    def retrieval_scores(self, user: int) -> np.ndarray:
        """The logit's dot-product part for every item (biases, plus the GMF part when there
        is one): one matrix-vector product, the retrieval stage before the dense layers rank
        its candidates. For an MLP alone it is the learned item bias."""
        return self._linear(np.array([user]), ALL_ITEMS)[0]

    def item_embeddings(self) -> np.ndarray:
        parts = [pair[1] for pair in (self.gmf, self.mlp) if pair is not None]
        return np.concatenate(parts, axis=1)


@register_scorer
class ItemItemScorer(Scorer):
    """A user's interaction vector times an item x item weight matrix (EASE, RP3beta).

    Arrays: item_weights (I, I); history_indptr (U + 1,), history_indices (nnz,): the training
    user -> items rows as CSR. Item embeddings for similarity: rows of item_weights (items that
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
        items = np.unique(np.asarray(item_indices, np.int64))
        if len(items) and (items.min() < 0 or items.max() >= self.n_items):
            raise ScorerError(f"item indices must lie in 0..{self.n_items - 1}")
        return self.weights[items].sum(axis=0, dtype=np.float32)

    def item_embeddings(self) -> np.ndarray:
        return self.weights
