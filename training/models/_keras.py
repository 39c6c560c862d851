"""Keras building blocks shared by the embedding models: a factor model and epoch progress.

Imported only while training (it imports TensorFlow/Keras at module level).
"""

from __future__ import annotations

import logging
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
    batch (mean over the batch), the usual per-example regularisation of MF.
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = dict(
            n_users=n_users, n_items=n_items, factors=factors, l2=l2, global_bias=global_bias,
            output=output, min_rating=min_rating, max_rating=max_rating, seed=seed,
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
        penalty = ops.sum(p * p, axis=1) + ops.sum(q * q, axis=1) + bu * bu + bi * bi
        self.add_loss(self.settings["l2"] * ops.mean(penalty))
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
