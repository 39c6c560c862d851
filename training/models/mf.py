"""Explicit matrix factorization with biases and a global mean, fitted in Keras (MSE + L2)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from training.models.base import ExportedModel, FitHistory, ModelConfig, Recommender, register
from training.splits import random_split
from training.vocab import EncodedInteractions


class MFConfig(ModelConfig):
    factors: int = Field(64, ge=1, le=1024)
    epochs: int = Field(40, ge=1, le=1000)
    batch_size: int = Field(2048, ge=16, le=1_000_000)
    learning_rate: float = Field(0.004, gt=0, le=1)
    l2: float = Field(0.04, ge=0, le=10, description="L2 weight on the batch's rows")
    output: Literal["identity", "sigmoid_range"] = "identity"
    patience: int = Field(3, ge=0, le=100, description="epochs without improvement to stop")
    validation_fraction: float = Field(0.05, ge=0, lt=0.5)


@register
class MatrixFactorization(Recommender):
    """Ratings as user . item + user bias + item bias + global mean."""

    name = "mf"
    config_class = MFConfig
    tasks = frozenset({"rating", "ranking"})
    config: MFConfig

    def fit(self, train: EncodedInteractions) -> FitHistory:
        import keras

        from training.models._keras import EpochProgress, FactorModel

        cfg = self.config
        keras.utils.set_random_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        fit_part, valid = (train, None)
        if cfg.validation_fraction > 0 and len(train) >= 50:
            fit_part, valid = random_split(train, cfg.validation_fraction, rng)
        self.rating_range = (float(train.ratings.min()), float(train.ratings.max()))
        self.model = FactorModel(
            train.n_users, train.n_items, cfg.factors, cfg.l2,
            global_bias=float(fit_part.ratings.mean()), output=cfg.output,
            min_rating=self.rating_range[0], max_rating=self.rating_range[1], seed=cfg.seed,
        )  # fmt: skip
        self.model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate),
            loss="mse",
            metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
        )
        callbacks: list[keras.callbacks.Callback] = [
            EpochProgress(cfg.epochs, self.name, self.history.epochs)
        ]
        validation_data = None
        if valid is not None:
            validation_data = (_pairs(valid), valid.ratings)
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    "val_rmse", patience=cfg.patience, restore_best_weights=True
                )
            )
        self.model.fit(
            _pairs(fit_part), fit_part.ratings, batch_size=cfg.batch_size, epochs=cfg.epochs,
            validation_data=validation_data, callbacks=callbacks, verbose=0, shuffle=True,
        )  # fmt: skip
        self._scorer = None
        return self.history

    def export(self) -> ExportedModel:
        params = {
            "global_bias": self.model.settings["global_bias"],
            "output": self.config.output,
            "min_rating": self.rating_range[0],
            "max_rating": self.rating_range[1],
        }
        return ExportedModel("dot", self.model.tables(), params)

    def keras_model(self) -> object:
        return self.model


def _pairs(data: EncodedInteractions) -> np.ndarray:
    return np.stack([data.users, data.items], axis=1).astype(np.int32)
