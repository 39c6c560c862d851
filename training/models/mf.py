"""Explicit matrix factorization with biases and a global mean, fitted in Keras (MSE + L2)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from training.models.base import ExportedModel, FitHistory, ModelConfig, Recommender, register
from training.splits import random_split
from training.vocab import EncodedInteractions


class MFConfig(ModelConfig):
    factors: int = Field(128, ge=1, le=1024)
    epochs: int = Field(40, ge=1, le=1000)
    batch_size: int = Field(2048, ge=16, le=1_000_000)
    learning_rate: float = Field(0.004, gt=0, le=1)
    l2: float = Field(0.1, ge=0, le=10, description="L2 weight on the batch's factor rows")
    bias_l2: float = Field(0.01, ge=0, le=10, description="L2 weight on the batch's biases")
    output: Literal["identity", "sigmoid_range"] = "identity"
    patience: int = Field(3, ge=0, le=100, description="epochs without improvement to stop")
    validation_fraction: float = Field(0.05, ge=0, lt=0.5)
    refit: bool = Field(
        True, description="after early stopping, train again on all rows for the best epochs"
    )


@register
class MatrixFactorization(Recommender):
    """Ratings as user . item + user bias + item bias + global mean."""

    name = "mf"
    config_class = MFConfig
    tasks = frozenset({"rating", "ranking"})
    config: MFConfig

    def fit(self, train: EncodedInteractions) -> FitHistory:
        """Early stopping on a validation split of `train`, then (with `refit`) the same
        number of epochs on all of `train`, so that no training row is left unused."""
        import keras

        cfg = self.config
        keras.utils.set_random_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        self.rating_range = (float(train.ratings.min()), float(train.ratings.max()))
        if cfg.validation_fraction <= 0 or len(train) < 50:
            self.model = self._train(train, None, cfg.epochs, self.history.epochs, self.name)
        else:
            fit_part, valid = random_split(train, cfg.validation_fraction, rng)
            self.model = self._train(fit_part, valid, cfg.epochs, self.history.epochs, self.name)
            if cfg.refit:
                best = int(np.argmin([e["val_rmse"] for e in self.history.epochs])) + 1
                keras.utils.set_random_seed(cfg.seed)
                self.model = self._train(train, None, best, [], f"{self.name} refit")
        self._scorer = None
        return self.history

    def _train(
        self,
        data: EncodedInteractions,
        valid: EncodedInteractions | None,
        epochs: int,
        history: list[dict[str, float]],
        label: str,
    ) -> Any:
        """A fresh model fitted on `data`; with `valid`, stopped early on its RMSE."""
        import keras

        from training.models._keras import EpochProgress, FactorModel

        cfg = self.config
        model = FactorModel(
            data.n_users, data.n_items, cfg.factors, cfg.l2,
            global_bias=float(data.ratings.mean()), output=cfg.output,
            min_rating=self.rating_range[0], max_rating=self.rating_range[1], seed=cfg.seed,
            bias_l2=cfg.bias_l2,
        )  # fmt: skip
        model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate),
            loss="mse",
            metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
        )
        callbacks: list[keras.callbacks.Callback] = [EpochProgress(epochs, label, history)]
        validation_data = None
        if valid is not None:
            validation_data = (_pairs(valid), valid.ratings)
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    "val_rmse", patience=cfg.patience, restore_best_weights=True
                )
            )
        model.fit(
            _pairs(data), data.ratings, batch_size=cfg.batch_size, epochs=epochs,
            validation_data=validation_data, callbacks=callbacks, verbose=0, shuffle=True,
        )  # fmt: skip
        return model

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
