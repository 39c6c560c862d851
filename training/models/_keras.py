"""Keras models of the embedding families that score by a dot product: the factor model (mf,
imf, bpr) and the two-tower model, with the seeded initializer every Keras model here uses.

Imported only while training (it imports TensorFlow/Keras at module level).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
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

    def pairwise_gradients(self, rows: Any, weights: Any) -> tuple[Any, list[Any]]:
        """bpr's batch loss and its gradients for `trainable_variables`, written out, for
        rows (u, i, j_1, ..., j_k): a positive with k >= 1 sampled items, each row standing
        for its k triples (u, i, j).

        The loss is the mean over triples of weight * -log sigmoid(p_u . (q_i - q_j) + b_i -
        b_j), plus the L2 penalty `call` adds for the pairs (u, i) and (u, j). Each row is
        looked up once and the gradients are one row per triple and table, as the triples
        fed one by one would give them (the optimizer sees the same rows): the tape's took
        seven times as long over a 20M log's batches, and a row of k triples gathers its
        user and positive once instead of k times. The user biases get None: they are in no
        margin, and their penalty's gradient is zero at their zero start, so they stay 0.
        """
        users, chosen, others = rows[:, 0], rows[:, 1], rows[:, 2:]
        p_table, q_table = self.user_factors.embeddings, self.item_factors.embeddings
        b_table = self.item_bias.embeddings
        p, q, q_others = tf.gather(p_table, users), tf.gather(q_table, chosen), tf.gather(
            q_table, others)  # fmt: skip
        b, b_others = tf.gather(b_table, chosen)[:, 0], tf.gather(b_table, others)[:, :, 0]
        gaps = q[:, None, :] - q_others  # (rows, k, factors)
        margins = tf.reduce_sum(p[:, None, :] * gaps, axis=2) + b[:, None] - b_others
        n, k = tf.cast(tf.shape(rows)[0], tf.float32), tf.cast(tf.shape(others)[1], tf.float32)
        l2, bias_l2 = self.settings["l2"], self.settings["bias_l2"]
        # each row's penalty is its triples' mean, summed along rows as the margins are
        # (XLA fuses the two)
        penalty = tf.reduce_sum(l2 * (p * p + q * q / 2), axis=1) + bias_l2 * b * b / 2 + (
            tf.reduce_mean(tf.reduce_sum(l2 * q_others * q_others, axis=2)
                           + bias_l2 * b_others * b_others, axis=1) / 2)  # fmt: skip
        loss = tf.reduce_mean(
            penalty - tf.reduce_mean(weights[:, None] * tf.math.log_sigmoid(margins), axis=1)
        )
        slopes = -weights[:, None] * tf.sigmoid(-margins) / (n * k)  # d loss / d margin
        per_triple, factors = n * k, tf.shape(p)[1]

        def each(row_values: Any) -> Any:
            """A row's value for each of its triples, flattened (rows x k)."""
            return tf.reshape(tf.repeat(row_values[:, None], tf.shape(others)[1], axis=1), [-1])

        def grad(blocks: list[Any], indices: Any, table: Any, width: Any) -> Any:
            """The (rows, k, width) blocks as one row per triple, in the order of `indices`."""
            values = tf.concat([tf.reshape(block, [-1, width]) for block in blocks], axis=0)
            return tf.IndexedSlices(values, indices, tf.shape(table, out_type=tf.int64))

        pulls = slopes[:, :, None] * p[:, None, :]
        items = tf.concat([each(chosen), tf.reshape(others, [-1])], axis=0)
        gradients = {
            id(p_table): grad([slopes[:, :, None] * gaps + (2 * l2 / per_triple) * p[:, None, :]],
                              each(users), p_table, factors),
            id(q_table): grad([pulls + (l2 / per_triple) * q[:, None, :],
                               -pulls + (l2 / per_triple) * q_others], items, q_table, factors),
            id(b_table): grad([slopes + (bias_l2 / per_triple) * b[:, None],
                               -slopes + (bias_l2 / per_triple) * b_others], items, b_table, 1),
        }  # fmt: skip
        return loss, [gradients.get(id(v)) for v in self.trainable_variables]

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
