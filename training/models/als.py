"""Implicit ALS (Hu, Koren & Volinsky 2008): weighted least squares on a binary preference
matrix with confidence 1 + alpha on observed pairs, solved by alternating conjugate-gradient
steps (Takacs et al. 2011): for every user u, (Y'Y + alpha Y_u'Y_u + reg I) x_u = (1 + alpha)
times the sum of u's observed rows of Y, and the same for items. Explicit negatives
(dislikes, `EncodedInteractions.negative_*`) are pairs of preference 0 at that confidence.

The solves run in `implicit`'s multi-threaded CPU solver (about a sixth of the CPU time of
the NumPy blocks it replaced; benchmarks/RESULTS.md); no TensorFlow."""

from __future__ import annotations

import logging

import numpy as np
from pydantic import Field
from scipy import sparse

from training.memory_plan import ROW_BYTES
from training.models._implicit import (
    ImplicitConfig,
    ValidationRanker,
    carve_validation,
    positives,
)
from training.models.base import ExportedModel, FitHistory, Recommender, register
from training.vocab import EncodedInteractions

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


def confidence_matrix(data: EncodedInteractions) -> sparse.csr_matrix:
    """users x items CSR (float32) of `data`'s rows, which are distinct positive pairs: 1 for
    each, -1 for each explicit negative. `implicit` scales it by 1 + alpha and reads a
    negative value as preference 0 at that confidence: the system in the module docstring."""
    rows = np.r_[data.users, data.negative_users]
    columns = np.r_[data.items, data.negative_items]
    values = np.r_[np.ones(len(data), np.float32), -np.ones(len(data.negative_users), np.float32)]
    return sparse.csr_matrix((values, (rows, columns)), shape=(data.n_users, data.n_items))


def initial_factors(cfg: ALSConfig, n_users: int, n_items: int) -> tuple[np.ndarray, ...]:
    """Seeded (user, item) factors the first iteration starts from: N(0, 0.01^2), float32."""
    init = np.random.default_rng(cfg.seed)
    users = (init.standard_normal((n_users, cfg.factors)) * 0.01).astype(np.float32)
    return users, (init.standard_normal((n_items, cfg.factors)) * 0.01).astype(np.float32)


@register
class ImplicitALS(Recommender):
    """Score = x_u . y_i ("dot" kind)."""

    name = "als"
    config_class = ALSConfig
    config: ALSConfig

    def fit(self, train: EncodedInteractions) -> FitHistory:
        # imported here, as Keras is for its models: only a fit loads its native solver
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        data = positives(train, cfg.rating_threshold)
        fit_part, valid = carve_validation(data, cfg.validation_fraction, rng)
        ranker = None if valid is None else ValidationRanker(fit_part, valid, rng)
        matrix = confidence_matrix(fit_part)

        def validate(iteration: int, _seconds: float, _loss: float | None) -> None:
            """After each iteration: the validation ndcg@10 of the factors so far."""
            if ranker is None:
                return
            self.user_factors, self.item_factors = solver.user_factors, solver.item_factors
            figures = {"val_ndcg@10": ranker(self.export().scorer())}
            self.history.epochs.append(figures)
            log.info("iteration=%d val_ndcg@10=%.4f", iteration + 1, figures["val_ndcg@10"])

        with threadpool_limits(1, "blas"):  # implicit's own threads do the work
            solver = AlternatingLeastSquares(
                factors=cfg.factors,
                regularization=cfg.reg,
                alpha=1 + cfg.alpha,
                iterations=cfg.iterations,
            )
            solver.cg_steps = cfg.cg_steps
            solver.user_factors, solver.item_factors = initial_factors(
                cfg, train.n_users, train.n_items
            )
            solver.fit(matrix, show_progress=False, callback=validate)
        self.user_factors, self.item_factors = solver.user_factors, solver.item_factors
        self._scorer = None
        return self.history

    def memory_bytes(self, n_users: int, n_items: int, n_rows: int) -> int:
        """The fit's copies of the rows, the distinct pairs' sort keys, `implicit`'s three
        CSR copies of the confidences (built, scaled, transposed: 8 bytes a pair each) and
        the factor tables with its work copies."""
        tables = 3 * 4 * self.config.factors * (n_users + n_items)
        return ROW_BYTES * n_rows + 2 * 24 * n_rows + 3 * 8 * n_rows + tables

    def export(self) -> ExportedModel:
        """The factors, and the objective's hyperparameters that fold-in solves with."""
        cfg = self.config
        params = {"objective": "als", "reg": cfg.reg, "alpha": cfg.alpha,
                  "rating_threshold": cfg.rating_threshold}  # fmt: skip
        return ExportedModel("dot", {"user_factors": self.user_factors,
                                     "item_factors": self.item_factors}, params)  # fmt: skip
