"""Implicit ALS (Hu, Koren & Volinsky 2008): weighted least squares on a binary preference
matrix with confidence 1 + alpha on observed pairs, solved by alternating conjugate-gradient
steps (Takacs et al. 2011) vectorised over all users (items) at once. NumPy only."""

from __future__ import annotations

import logging

import numpy as np
from pydantic import Field

from training.models._implicit import (
    ImplicitConfig,
    ValidationRanker,
    carve_validation,
    positives,
)
from training.models.base import ExportedModel, FitHistory, Recommender, register
from training.vocab import EncodedInteractions, pair_codes, split_pair_codes

log = logging.getLogger(__name__)


class ALSConfig(ImplicitConfig):
    factors: int = Field(256, ge=1, le=1024)
    reg: float = Field(30.0, ge=0, le=1e5, description="L2 weight on every factor row")
    alpha: float = Field(3.0, gt=0, le=1e4, description="extra confidence of an observed pair")
    iterations: int = Field(15, ge=1, le=200)
    cg_steps: int = Field(3, ge=1, le=50, description="conjugate-gradient steps per update")
    validation_fraction: float = Field(
        0.0, ge=0, lt=0.5, description="rows held out to log validation ndcg@10 per iteration"
    )


DENSE_LIMIT = 40_000_000  # users x items up to which a dense mask (BLAS) beats gathers


class _Observed:
    """One side's observed pairs: row r (a user, or an item) owns columns[r]. Computes the
    sums over each row's observed columns of other-side vectors, densely when small."""

    def __init__(self, rows: np.ndarray, columns: np.ndarray, n_rows: int, n_cols: int) -> None:
        self.n_rows = n_rows
        self.mask: np.ndarray | None = None
        if n_rows * n_cols <= DENSE_LIMIT:
            self.mask = np.zeros((n_rows, n_cols), np.float32)
            self.mask[rows, columns] = 1.0
            return
        codes = np.unique(pair_codes(rows, columns, n_cols))
        self.rows, self.columns = split_pair_codes(codes, n_cols)
        counts = np.bincount(self.rows, minlength=n_rows)
        self.starts = np.r_[0, np.cumsum(counts)[:-1]][counts > 0]
        self.nonempty = np.flatnonzero(counts)

    def total(self, other: np.ndarray) -> np.ndarray:
        """Per row r: the sum of other[c] over its observed columns c."""
        if self.mask is not None:
            return self.mask @ other
        return self._segment_sum(other[self.columns])

    def weighted(self, x: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Per row r: the sum of (x[r] . other[c]) other[c] over its observed columns c."""
        if self.mask is not None:
            return (self.mask * (x @ other.T)) @ other
        observed = other[self.columns]
        dots = np.einsum("nd,nd->n", observed, x[self.rows])
        return self._segment_sum(observed * dots[:, None])

    def _segment_sum(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_rows, values.shape[1]), values.dtype)
        if len(values):
            out[self.nonempty] = np.add.reduceat(values, self.starts, axis=0)
        return out


def _solve(x: np.ndarray, other: np.ndarray, pairs: _Observed, cfg: ALSConfig) -> np.ndarray:
    """Conjugate-gradient steps, from `x`, towards (O'O + alpha O_u'O_u + reg I) x_u =
    (1 + alpha) sum of the observed rows of O, for every row u at once."""
    gram = other.T @ other + cfg.reg * np.eye(other.shape[1], dtype=other.dtype)

    def apply(v: np.ndarray) -> np.ndarray:
        return v @ gram + cfg.alpha * pairs.weighted(v, other)

    x = x.copy()
    residual = (1.0 + cfg.alpha) * pairs.total(other) - apply(x)
    direction = residual.copy()
    norm = np.einsum("ud,ud->u", residual, residual)
    for _ in range(cfg.cg_steps):
        if norm.max() < 1e-20:
            break
        applied = apply(direction)
        step = norm / np.maximum(np.einsum("ud,ud->u", direction, applied), 1e-20)
        x += step[:, None] * direction
        residual -= step[:, None] * applied
        new_norm = np.einsum("ud,ud->u", residual, residual)
        direction = residual + (new_norm / np.maximum(norm, 1e-20))[:, None] * direction
        norm = new_norm
    return x


@register
class ImplicitALS(Recommender):
    """Score = x_u . y_i ("dot" kind)."""

    name = "als"
    config_class = ALSConfig
    config: ALSConfig

    def fit(self, train: EncodedInteractions) -> FitHistory:
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        data = positives(train, cfg.rating_threshold)
        fit_part, valid = carve_validation(data, cfg.validation_fraction, rng)
        ranker = None if valid is None else ValidationRanker(fit_part, valid, rng)
        by_user = _Observed(fit_part.users, fit_part.items, train.n_users, train.n_items)
        by_item = _Observed(fit_part.items, fit_part.users, train.n_items, train.n_users)
        init = np.random.default_rng(cfg.seed)
        self.user_factors = (init.standard_normal((train.n_users, cfg.factors)) * 0.01).astype(
            np.float32
        )
        self.item_factors = (init.standard_normal((train.n_items, cfg.factors)) * 0.01).astype(
            np.float32
        )
        for iteration in range(cfg.iterations):
            self.user_factors = _solve(self.user_factors, self.item_factors, by_user, cfg)
            self.item_factors = _solve(self.item_factors, self.user_factors, by_item, cfg)
            if ranker is not None:
                figures = {"val_ndcg@10": ranker(self.export().scorer())}
                self.history.epochs.append(figures)
                log.info("iteration=%d val_ndcg@10=%.4f", iteration + 1, figures["val_ndcg@10"])
        self._scorer = None
        return self.history

    def export(self) -> ExportedModel:
        """The factors, and the objective's hyperparameters that fold-in solves with."""
        cfg = self.config
        params = {"objective": "als", "reg": cfg.reg, "alpha": cfg.alpha,
                  "rating_threshold": cfg.rating_threshold}  # fmt: skip
        return ExportedModel("dot", {"user_factors": self.user_factors,
                                     "item_factors": self.item_factors}, params)  # fmt: skip
