"""The baseline predictor: global mean plus regularised user and item biases, fitted by
alternating closed-form updates (Koren 2010, as Surprise's baseline). NumPy only."""

from __future__ import annotations

import logging

import numpy as np
from pydantic import Field

from training.models.base import ExportedModel, FitHistory, ModelConfig, Recommender, register
from training.splits import random_split
from training.vocab import EncodedInteractions

log = logging.getLogger(__name__)


class BiasConfig(ModelConfig):
    reg_user: float = Field(15.0, ge=0, le=1e4, description="shrinkage of user biases")
    reg_item: float = Field(10.0, ge=0, le=1e4, description="shrinkage of item biases")
    iterations: int = Field(10, ge=1, le=1000)
    validation_fraction: float = Field(0.05, ge=0, lt=0.5, description="rows to report on")


def _rmse(data: EncodedInteractions, mean: float, bu: np.ndarray, bi: np.ndarray) -> float:
    errors = data.ratings - (mean + bu[data.users] + bi[data.items])
    return float(np.sqrt(np.mean(errors**2)))


@register
class BiasModel(Recommender):
    """rating(u, i) = mu + b_u + b_i; ranks items by b_i ("bias" kind)."""

    name = "bias"
    config_class = BiasConfig
    config: BiasConfig
    tasks = frozenset({"rating", "ranking"})

    def fit(self, train: EncodedInteractions) -> FitHistory:
        train = train.ratings_only(self.name)  # a click is not a one-star rating
        cfg = self.config
        fit_part, valid = train, None
        if cfg.validation_fraction > 0 and len(train) >= 20:
            fit_part, valid = random_split(train, cfg.validation_fraction,
                                           np.random.default_rng(cfg.seed))  # fmt: skip
        self.mean = float(fit_part.ratings.mean())
        users, items, ratings = fit_part.users, fit_part.items, fit_part.ratings - self.mean
        n_u = np.bincount(users, minlength=train.n_users)
        n_i = np.bincount(items, minlength=train.n_items)
        self.user_bias = np.zeros(train.n_users)
        self.item_bias = np.zeros(train.n_items)
        for iteration in range(cfg.iterations):
            residual = ratings - self.item_bias[items]
            self.user_bias = np.bincount(users, residual, train.n_users) / (cfg.reg_user + n_u)
            residual = ratings - self.user_bias[users]
            self.item_bias = np.bincount(items, residual, train.n_items) / (cfg.reg_item + n_i)
            figures = {"rmse": _rmse(fit_part, self.mean, self.user_bias, self.item_bias)}
            if valid is not None:
                figures["val_rmse"] = _rmse(valid, self.mean, self.user_bias, self.item_bias)
            self.history.epochs.append(figures)
            log.info("iteration=%d %s", iteration + 1,
                     " ".join(f"{k}={v:.4f}" for k, v in figures.items()))  # fmt: skip
        self._scorer = None
        return self.history

    def export(self) -> ExportedModel:
        arrays = {"user_bias": self.user_bias.astype(np.float32),
                  "item_bias": self.item_bias.astype(np.float32)}  # fmt: skip
        params = {"global_bias": self.mean, "objective": "baseline",
                  "reg_user": self.config.reg_user}  # fmt: skip
        return ExportedModel("bias", arrays, params)
