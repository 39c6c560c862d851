"""Keras building blocks shared by the embedding models: a factor model and epoch progress.

Imported only while training (it imports TensorFlow/Keras at module level).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops
from tqdm import tqdm

log = logging.getLogger(__name__)


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

    def tables(self) -> dict[str, np.ndarray]:
        """The fitted tables as float32 numpy arrays, named as the "dot" scorer expects."""
        return {
            "user_factors": self.user_factors.embeddings.numpy(),
            "item_factors": self.item_factors.embeddings.numpy(),
            "user_bias": self.user_bias.embeddings.numpy()[:, 0],
            "item_bias": self.item_bias.embeddings.numpy()[:, 0],
        }


class EpochProgress(keras.callbacks.Callback):
    """One log line and one progress-bar step per epoch; records the history."""

    def __init__(self, epochs: int, name: str, history: list[dict[str, float]]) -> None:
        super().__init__()
        self.bar = tqdm(total=epochs, desc=name, unit="epoch", leave=False)
        self.history = history

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        figures = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        self.history.append(figures)
        line = " ".join(f"{k}={v:.4f}" for k, v in figures.items())
        log.info("epoch=%d %s", epoch + 1, line)
        self.bar.set_postfix_str(line)
        self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()


class ValidationFigure(keras.callbacks.Callback):
    """Puts `measure()` into each epoch's logs as `name`, for the callbacks after it: a numpy
    measure on the exported tables costs far less per epoch than Keras' validation pass."""

    def __init__(self, name: str, measure: Callable[[], float]) -> None:
        super().__init__()
        self.name, self.measure = name, measure

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs[self.name] = self.measure()


LossFn = Callable[[keras.Model, tuple[Any, ...]], Any]


@dataclass(frozen=True)
class Finish:
    """Epochs after early stopping over data that includes the validation rows, at a fraction
    of the learning rate, continuing the same optimizer: no training row is left unused."""

    epoch_data: Callable[[], tuple[np.ndarray, ...]]
    epochs: int
    learning_rate_factor: float


def fit_epochs(
    model: keras.Model,
    loss_fn: LossFn,
    epoch_data: Callable[[], tuple[np.ndarray, ...]],
    validate: Callable[[], float] | None,
    *,
    name: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    history: list[dict[str, float]],
    finish: Finish | None = None,
) -> None:
    """Adam over fresh `epoch_data()` arrays each epoch, then `validate()` (higher is better)
    for early stopping, keeping the best weights; then `finish`, if given, trains on with the
    same optimizer. `loss_fn(model, batch)` returns one batch's scalar loss (regularisation
    included).

    The train step is XLA-compiled (a fifth faster than a plain graph on 2 CPU cores) and an
    epoch's loop over batches runs in one graph call, which saves the per-step Python dispatch
    (a quarter of an epoch's time for neumf on ml-100k).
    """
    import tensorflow as tf

    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function(jit_compile=True)
    def step(*batch: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = loss_fn(model, batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    @tf.function(reduce_retracing=True)
    def epoch_graph(*batches: Any) -> Any:
        """The compiled step over each (batch, ...) slice in turn; the mean batch loss."""
        total = tf.constant(0.0)
        n_batches = tf.shape(batches[0])[0]
        for index in tf.range(n_batches):
            total += step(*(b[index] for b in batches))
        return total / tf.cast(n_batches, tf.float32)

    def run_epoch(arrays: tuple[np.ndarray, ...]) -> float:
        """One pass in whole batches (one compiled shape; rows are reshuffled every epoch);
        returns the mean batch loss."""
        if not len(arrays[0]):
            return 0.0
        size = min(batch_size, len(arrays[0]))
        n_batches = len(arrays[0]) // size
        batches = [a[: n_batches * size].reshape(n_batches, size, *a.shape[1:]) for a in arrays]
        return float(epoch_graph(*batches))

    progress = EpochProgress(epochs, name, history)
    best, best_weights, waited = -np.inf, None, 0
    for epoch in range(epochs):
        figures = {"loss": run_epoch(epoch_data())}
        if validate is not None:
            figures["val_ndcg@10"] = validate()
        progress.on_epoch_end(epoch, figures)
        if validate is None:
            continue
        if figures["val_ndcg@10"] > best:
            best, best_weights, waited = figures["val_ndcg@10"], model.get_weights(), 0
        else:
            waited += 1
            if waited > patience:
                break
    progress.on_train_end()
    if best_weights is not None:
        model.set_weights(best_weights)
    if finish is not None and finish.epochs > 0:
        optimizer.learning_rate.assign(learning_rate * finish.learning_rate_factor)
        for epoch in range(finish.epochs):
            log.info(
                "%s finish epoch=%d loss=%.4f", name, epoch + 1, run_epoch(finish.epoch_data())
            )


def _output_init(
    gmf_factors: int, mlp_layers: list[int] | tuple[int, ...], seed: int
) -> keras.initializers.Initializer:
    """Output weights: 1 on the GMF part, 0 on the MLP part beside it; Glorot for an MLP alone."""
    if not gmf_factors:
        return keras.initializers.GlorotUniform(seed + 99)
    weights = np.zeros((gmf_factors + (mlp_layers[-1] if mlp_layers else 0), 1), np.float32)
    weights[:gmf_factors] = 1.0
    return keras.initializers.Constant(weights)


def _normal(seed: int) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(stddev=0.05, seed=seed)


@keras.saving.register_keras_serializable("recoserve")
class NCFModel(keras.Model):
    """Neural collaborative filtering (He et al. 2017) as logits: a GMF part (elementwise
    product of embeddings), an MLP part (concatenated embeddings through ReLU layers), or both
    (NeuMF), joined by one output unit, plus user and item biases (popularity, which the
    product alone learns slowly). `gmf_factors=0` or empty `mlp_layers` drops a part.

    The L2 penalty covers the batch's embedding rows (mean) and the dense kernels. For the GMF
    part it weighs the effective user factors p_u * h (h: the output weights of the GMF part),
    so that the output layer cannot undo the embeddings' shrinkage by growing. The output
    starts as a plain dot product (GMF weights 1, MLP weights 0 when both parts are there),
    so that NeuMF begins as matrix factorization and the MLP learns what it adds.

    `mlp_layers[0]` is the width of the concatenated embeddings (half per side); the others are
    the dense ReLU layers, as in the paper. Input: int32 (batch, 2) of (user, item).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        gmf_factors: int,
        mlp_layers: list[int] | tuple[int, ...],
        l2: float,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = dict(n_users=n_users, n_items=n_items, gmf_factors=gmf_factors,
                             mlp_layers=list(mlp_layers), l2=l2, seed=seed)  # fmt: skip
        self.gmf_user = self.gmf_item = self.mlp_user = self.mlp_item = None
        if gmf_factors:
            self.gmf_user = keras.layers.Embedding(
                n_users, gmf_factors, embeddings_initializer=_normal(seed)
            )
            self.gmf_item = keras.layers.Embedding(
                n_items, gmf_factors, embeddings_initializer=_normal(seed + 1)
            )
        self.hidden = []
        if mlp_layers:
            half = mlp_layers[0] // 2
            self.mlp_user = keras.layers.Embedding(
                n_users, half, embeddings_initializer=_normal(seed + 2)
            )
            self.mlp_item = keras.layers.Embedding(
                n_items, half, embeddings_initializer=_normal(seed + 3)
            )
            glorot = keras.initializers.GlorotUniform
            self.hidden = [
                keras.layers.Dense(
                    width, activation="relu", kernel_initializer=glorot(seed + 4 + n)
                )
                for n, width in enumerate(mlp_layers[1:])
            ]
        self.item_bias = keras.layers.Embedding(n_items, 1, embeddings_initializer="zeros")
        self.user_bias = keras.layers.Embedding(n_users, 1, embeddings_initializer="zeros")
        self.out = keras.layers.Dense(
            1, kernel_initializer=_output_init(gmf_factors, mlp_layers, seed)
        )

    def call(self, inputs: Any) -> Any:
        users, items = inputs[:, 0], inputs[:, 1]
        parts, penalty = [], 0.0
        gmf_user = None
        if self.gmf_user is not None:
            gmf_user, q = self.gmf_user(users), self.gmf_item(items)
            parts.append(gmf_user * q)
            penalty += ops.sum(q * q, axis=1)
        if self.mlp_user is not None:
            p, q = self.mlp_user(users), self.mlp_item(items)
            penalty += ops.sum(p * p, axis=1) + ops.sum(q * q, axis=1)
            hidden = ops.concatenate([p, q], axis=1)
            for layer in self.hidden:
                hidden = layer(hidden)
            parts.append(hidden)
        item_bias, user_bias = self.item_bias(items)[:, 0], self.user_bias(users)[:, 0]
        penalty += item_bias * item_bias + user_bias * user_bias
        bias = item_bias + user_bias
        joined = parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=1)
        logits = self.out(joined)[:, 0] + bias
        if gmf_user is not None:  # the effective user factors, as exported
            effective = gmf_user * self.out.kernel[: self.settings["gmf_factors"], 0]
            penalty += ops.sum(effective * effective, axis=1)
        kernels = sum(ops.sum(layer.kernel * layer.kernel) for layer in [*self.hidden, self.out])
        self.add_loss(self.settings["l2"] * (ops.mean(penalty) + 1e-3 * kernels))
        return logits

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.settings}

    def tables(self) -> dict[str, np.ndarray]:
        """The fitted weights as float32 arrays, named as the "ncf" scorer expects."""
        arrays: dict[str, np.ndarray] = {}
        if self.gmf_user is not None:
            arrays["gmf_user"] = self.gmf_user.embeddings.numpy()
            arrays["gmf_item"] = self.gmf_item.embeddings.numpy()
        if self.mlp_user is not None:
            arrays["mlp_user"] = self.mlp_user.embeddings.numpy()
            arrays["mlp_item"] = self.mlp_item.embeddings.numpy()
            for n, layer in enumerate(self.hidden):
                arrays[f"mlp_w{n}"], arrays[f"mlp_b{n}"] = (w.numpy() for w in layer.weights)
        arrays["item_bias"] = self.item_bias.embeddings.numpy()[:, 0]
        arrays["user_bias"] = self.user_bias.embeddings.numpy()[:, 0]
        arrays["out_w"] = self.out.kernel.numpy()[:, 0]
        arrays["out_b"] = self.out.bias.numpy()
        return arrays


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
            n_users, factors, embeddings_initializer=_normal(seed)
        )
        self.item_embedding = keras.layers.Embedding(
            n_items, factors, embeddings_initializer=_normal(seed + 1)
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
