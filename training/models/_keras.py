"""Keras models of the embedding families that score by a dot product: the factor model (mf,
imf, bpr) and the two-tower model, with the seeded initializer every Keras model here uses.

Imported only while training (it imports TensorFlow/Keras at module level).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable("recoserve")
class FactorModel(keras.Model):
    """score(u, i) = p_u . q_i + b_u + b_i + mu, optionally squashed into a rating range.

    Input: int32 tensor (batch, 2) of (user, item). The L2 penalty is on the rows used in the
    batch (mean over the batch), the usual per-example regularisation of MF; `bias_l2` (default:
    `l2`) weighs the biases, which overfit far less than the factors.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int,
        l2: float,
        global_bias: float = 0.0,
        output: str = "identity",
        min_rating: float = 1.0,
        max_rating: float = 5.0,
        seed: int = 42,
        bias_l2: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = dict(
            n_users=n_users, n_items=n_items, factors=factors, l2=l2, global_bias=global_bias,
            output=output, min_rating=min_rating, max_rating=max_rating, seed=seed,
            bias_l2=l2 if bias_l2 is None else bias_l2,
        )  # fmt: skip
        init = keras.initializers.RandomNormal(stddev=0.05, seed=seed)
        self.user_factors = keras.layers.Embedding(n_users, factors, embeddings_initializer=init)
        self.item_factors = keras.layers.Embedding(
            n_items, factors, embeddings_initializer=keras.initializers.RandomNormal(
                stddev=0.05, seed=seed + 1)
        )  # fmt: skip
        self.user_bias = keras.layers.Embedding(n_users, 1, embeddings_initializer="zeros")
        self.item_bias = keras.layers.Embedding(n_items, 1, embeddings_initializer="zeros")

    def call(self, inputs: Any) -> Any:
        users, items = inputs[:, 0], inputs[:, 1]
        p, q = self.user_factors(users), self.item_factors(items)
        bu, bi = self.user_bias(users)[:, 0], self.item_bias(items)[:, 0]
        factors = ops.mean(ops.sum(p * p, axis=1) + ops.sum(q * q, axis=1))
        biases = ops.mean(bu * bu + bi * bi)
        self.add_loss(self.settings["l2"] * factors + self.settings["bias_l2"] * biases)
        raw = ops.sum(p * q, axis=1) + bu + bi + self.settings["global_bias"]
        if self.settings["output"] == "sigmoid_range":
            lo, hi = self.settings["min_rating"], self.settings["max_rating"]
            return lo + (hi - lo) * ops.sigmoid(raw)
        return raw

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.settings}

    def margins(self, triples: Any) -> tuple[Any, Any]:
        """(score(u, i) - score(u, j) per triple (u, i, j); the L2 penalty that `call` adds
        when fed each triple's two pairs (u, i) and (u, j)), looking the user up once."""
        users, chosen, other = triples[:, 0], triples[:, 1], triples[:, 2]
        p, q = self.user_factors(users), self.item_factors(chosen)
        q_other = self.item_factors(other)
        bu, bi, b_other = (self.user_bias(users)[:, 0], self.item_bias(chosen)[:, 0],
                           self.item_bias(other)[:, 0])  # fmt: skip
        margins = ops.sum(p * (q - q_other), axis=1) + bi - b_other

        def pair_mean(user: Any, item: Any, other_item: Any) -> Any:
            """The mean over the 2n pairs of their squared terms."""
            return ops.mean(2 * user + item + other_item) / 2

        factors = pair_mean(*(ops.sum(x * x, axis=1) for x in (p, q, q_other)))
        biases = pair_mean(bu * bu, bi * bi, b_other * b_other)
        return margins, self.settings["l2"] * factors + self.settings["bias_l2"] * biases

    def tables(self) -> dict[str, np.ndarray]:
        """The fitted tables as float32 numpy arrays, named as the "dot" scorer expects."""
        return {
            "user_factors": self.user_factors.embeddings.numpy(),
            "item_factors": self.item_factors.embeddings.numpy(),
            "user_bias": self.user_bias.embeddings.numpy()[:, 0],
            "item_bias": self.item_bias.embeddings.numpy()[:, 0],
        }


def normal_init(seed: int) -> keras.initializers.Initializer:
    """The embeddings' initializer: normal, standard deviation 0.05, seeded."""
    return keras.initializers.RandomNormal(stddev=0.05, seed=seed)


@keras.saving.register_keras_serializable("recoserve")
class TwoTowerModel(keras.Model):
    """User and item towers (embedding -> dense), L2-normalised, scored by cosine similarity.

    The item tower adds a dense projection of fixed item features (e.g. multi-hot genres) to
    the item embedding when `n_features` > 0; the features live in a non-trainable weight.
    Input: int32 (batch, 2) of (user, item).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int,
        l2: float,
        n_features: int = 0,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = dict(n_users=n_users, n_items=n_items, factors=factors, l2=l2,
                             n_features=n_features, seed=seed)  # fmt: skip
        self.user_embedding = keras.layers.Embedding(
            n_users, factors, embeddings_initializer=normal_init(seed)
        )
        self.item_embedding = keras.layers.Embedding(
            n_items, factors, embeddings_initializer=normal_init(seed + 1)
        )
        glorot = keras.initializers.GlorotUniform
        self.user_dense = keras.layers.Dense(factors, kernel_initializer=glorot(seed + 2))
        self.item_dense = keras.layers.Dense(factors, kernel_initializer=glorot(seed + 3))
        self.feature_dense = None
        if n_features:
            self.features = self.add_weight(shape=(n_items, n_features), initializer="zeros",
                                            trainable=False, name="item_features")  # fmt: skip
            self.feature_dense = keras.layers.Dense(
                factors, use_bias=False, kernel_initializer=glorot(seed + 4)
            )

    def user_vectors(self, users: Any) -> Any:
        """Unit-length user tower outputs."""
        return _unit(self.user_dense(self.user_embedding(users)))

    def item_vectors(self, items: Any) -> Any:
        """Unit-length item tower outputs."""
        hidden = self.item_embedding(items)
        if self.feature_dense is not None:
            hidden = hidden + self.feature_dense(ops.take(self.features, items, axis=0))
        return _unit(self.item_dense(hidden))

    def call(self, inputs: Any) -> Any:
        users, items = inputs[:, 0], inputs[:, 1]
        p, q = self.user_embedding(users), self.item_embedding(items)
        penalty = ops.sum(p * p, axis=1) + ops.sum(q * q, axis=1)
        self.add_loss(self.settings["l2"] * ops.mean(penalty))
        return ops.sum(self.user_vectors(users) * self.item_vectors(items), axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.settings}

    def tables(self) -> dict[str, np.ndarray]:
        """Every user's and item's unit tower output, for the "dot" scorer (dot = cosine)."""
        users = np.arange(self.settings["n_users"], dtype=np.int32)
        items = np.arange(self.settings["n_items"], dtype=np.int32)
        return {
            "user_factors": ops.convert_to_numpy(self.user_vectors(users)),
            "item_factors": ops.convert_to_numpy(self.item_vectors(items)),
        }


def _unit(x: Any) -> Any:
    return x / ops.sqrt(ops.maximum(ops.sum(x * x, axis=-1, keepdims=True), 1e-12))
