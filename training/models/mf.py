"""Explicit matrix factorization with biases and a global mean, fitted in Keras (MSE + L2)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from training.models.base import ExportedModel, FitHistory, ModelConfig, Recommender, register
from training.splits import random_split
from training.vocab import EncodedInteractions

# validation RMSE gains below this are far inside its noise (about 0.005 on 5 % of ml-100k):
# without it, a curve creeping down by 1e-4 an epoch keeps a fit going to its last epoch
MIN_IMPROVEMENT = 5e-4


class MFConfig(ModelConfig):
    """Defaults picked on validation RMSE (a split of u1.base, see benchmarks/RESULTS.md)."""

    factors: int = Field(128, ge=1, le=1024)
    epochs: int = Field(40, ge=1, le=1000)
    batch_size: int = Field(4096, ge=16, le=1_000_000)
    learning_rate: float = Field(0.008, gt=0, le=1)
    l2: float = Field(0.13, ge=0, le=10, description="L2 weight on the batch's factor rows")
    bias_l2: float = Field(0.01, ge=0, le=10, description="L2 weight on the batch's biases")
    output: Literal["identity", "sigmoid_range"] = "identity"
    patience: int = Field(3, ge=0, le=100, description="epochs without improvement to stop")
    validation_fraction: float = Field(0.05, ge=0, lt=0.5)
    refit: bool = Field(
        True, description="after early stopping, train again on all rows for the best epochs"
    )
    ensemble: int = Field(
        2,
        ge=1,
        le=8,
        description="final models trained from seeds seed, seed+1, ...; their raw scores are "
        "averaged into one wider factorization",
    )


@register
class MatrixFactorization(Recommender):
    """Ratings as user . item + user bias + item bias + global mean."""

    name = "mf"
    config_class = MFConfig
    tasks = frozenset({"rating", "ranking"})
    framework = "keras"
    config: MFConfig

    def fit(self, train: EncodedInteractions) -> FitHistory:
        """Early stopping on a validation split of `train`, then (with `refit`) the same
        number of epochs on all of `train`, so that no training row is left unused. The final
        fit is repeated with `ensemble` seeds and the models are averaged: that cuts the
        seed-to-seed noise of a single factorization."""
        train = train.ratings_only(self.name)  # a click is not a one-star rating
        cfg = self.config
        self.rating_range = (float(train.ratings.min()), float(train.ratings.max()))
        epochs, history, label = cfg.epochs, self.history.epochs, self.name
        if cfg.validation_fraction > 0 and len(train) >= 50:
            rng = np.random.default_rng(cfg.seed)
            fit_part, valid = random_split(train, cfg.validation_fraction, rng)
            self.model = self._train(fit_part, valid, cfg.epochs, history, label, cfg.seed)
            if not cfg.refit:
                self._scorer = None
                return self.history
            epochs = int(np.argmin([e["val_rmse"] for e in history])) + 1
            history, label = [], f"{self.name} refit"
        members = [
            self._train(train, None, epochs, history if k == 0 else [], label, cfg.seed + k)
            for k in range(cfg.ensemble)
        ]
        self.model = members[0] if len(members) == 1 else _averaged(members)
        self._scorer = None
        return self.history

    def _train(
        self,
        data: EncodedInteractions,
        valid: EncodedInteractions | None,
        epochs: int,
        history: list[dict[str, float]],
        label: str,
        seed: int,
    ) -> Any:
        """A fresh model fitted on `data` from `seed`; with `valid`, stopped early on its RMSE."""
        import keras

        from training.models._keras import FactorModel
        from training.models._keras_fit import EpochProgress, ValidationFigure

        cfg = self.config
        keras.utils.set_random_seed(seed)
        model = FactorModel(
            data.n_users, data.n_items, cfg.factors, cfg.l2,
            global_bias=float(data.ratings.mean()), output=cfg.output,
            min_rating=self.rating_range[0], max_rating=self.rating_range[1], seed=seed,
            bias_l2=cfg.bias_l2,
        )  # fmt: skip
        model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate),
            loss="mse",
            metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
        )
        callbacks: list[keras.callbacks.Callback] = [EpochProgress(epochs, label, history)]
        if valid is not None:

            def valid_rmse() -> float:
                predicted = self._exported(model).scorer().predict_pairs(valid.users, valid.items)
                return float(np.sqrt(np.mean((predicted - valid.ratings) ** 2)))

            callbacks = [
                ValidationFigure("val_rmse", valid_rmse),
                *callbacks,
                keras.callbacks.EarlyStopping(
                    "val_rmse",
                    patience=cfg.patience,
                    min_delta=MIN_IMPROVEMENT,
                    restore_best_weights=True,
                ),
            ]
        model.fit(
            _pairs(data), data.ratings, batch_size=cfg.batch_size, epochs=epochs,
            callbacks=callbacks, verbose=0, shuffle=True,
        )  # fmt: skip
        return model

    def export(self) -> ExportedModel:
        return self._exported(self.model)

    def _exported(self, model: Any) -> ExportedModel:
        """The "dot" arrays and parameters of a fitted FactorModel, with the loss's weights
        that fold-in solves with (`members`: how many factorizations were averaged)."""
        cfg = self.config
        params = {
            "global_bias": model.settings["global_bias"],
            "output": cfg.output,
            "min_rating": self.rating_range[0],
            "max_rating": self.rating_range[1],
            "objective": "ratings",
            "l2": cfg.l2,
            "bias_l2": cfg.bias_l2,
            "members": model.settings["factors"] // cfg.factors,
        }
        return ExportedModel("dot", model.tables(), params)

    def keras_model(self) -> object:
        return self.model


def _averaged(members: list[Any]) -> Any:
    """One FactorModel whose raw score is the mean of the members' raw scores: their factors
    side by side (the user side divided by their number) and their biases averaged."""
    from training.models._keras import FactorModel

    tables = [m.tables() for m in members]
    model = FactorModel.from_config(
        {**members[0].get_config(), "factors": sum(t["user_factors"].shape[1] for t in tables)}
    )
    model(np.zeros((1, 2), np.int32))
    n = len(tables)
    model.user_factors.set_weights([np.concatenate([t["user_factors"] for t in tables], 1) / n])
    model.item_factors.set_weights([np.concatenate([t["item_factors"] for t in tables], 1)])
    model.user_bias.set_weights([sum(t["user_bias"] for t in tables)[:, None] / n])
    model.item_bias.set_weights([sum(t["item_bias"] for t in tables)[:, None] / n])
    return model


def _pairs(data: EncodedInteractions) -> np.ndarray:
    return np.stack([data.users, data.items], axis=1).astype(np.int32)
