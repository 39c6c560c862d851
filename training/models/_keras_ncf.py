"""The Keras model of neural collaborative filtering (GMF, MLP and NeuMF in one class).

Imported only while training (it imports TensorFlow/Keras at module level).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from training.models._keras import normal_init


def _output_init(
    gmf_factors: int, mlp_layers: list[int] | tuple[int, ...], seed: int
) -> keras.initializers.Initializer:
    """Output weights: 1 on the GMF part, 0 on the MLP part beside it; Glorot for an MLP alone."""
    if not gmf_factors:
        return keras.initializers.GlorotUniform(seed + 99)
    weights = np.zeros((gmf_factors + (mlp_layers[-1] if mlp_layers else 0), 1), np.float32)
    weights[:gmf_factors] = 1.0
    return keras.initializers.Constant(weights)


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
                n_users, gmf_factors, embeddings_initializer=normal_init(seed)
            )
            self.gmf_item = keras.layers.Embedding(
                n_items, gmf_factors, embeddings_initializer=normal_init(seed + 1)
            )
        self.hidden = []
        if mlp_layers:
            half = mlp_layers[0] // 2
            self.mlp_user = keras.layers.Embedding(
                n_users, half, embeddings_initializer=normal_init(seed + 2)
            )
            self.mlp_item = keras.layers.Embedding(
                n_items, half, embeddings_initializer=normal_init(seed + 3)
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
