"""Implicit ALS (Hu, Koren & Volinsky 2008): weighted least squares on a binary preference
matrix with confidence 1 + alpha on observed pairs, solved by alternating conjugate-gradient
steps (Takacs et al. 2011) vectorised over all users (items) at once. Explicit negatives
(dislikes, `EncodedInteractions.negative_*`) are pairs of preference 0 at that confidence.
NumPy only."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
from pydantic import Field

from training.memory_plan import ROW_BYTES
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
BLOCK_BYTES = 64 * 2**20  # other-side factor rows one block of the sparse path gathers


class _Observed:
    """One side's observed pairs: row r (a user, or an item) owns some columns. Hands out
    blocks of rows whose sums over observed columns of other-side vectors are computed
    together: one dense mask when small, else CSR rows whose gathered vectors stay within
    BLOCK_BYTES (never a rows x factors array of every pair)."""

    def __init__(self, rows: np.ndarray, columns: np.ndarray, n_rows: int, n_cols: int) -> None:
        self.n_rows = n_rows
        self.mask: np.ndarray | None = None
        if n_rows * n_cols <= DENSE_LIMIT:
            self.mask = np.zeros((n_rows, n_cols), np.float32)
            self.mask[rows, columns] = 1.0
            return
        codes = np.unique(pair_codes(rows, columns, n_cols))
        rows, columns = split_pair_codes(codes, n_cols)
        self.columns = columns.astype(np.int32)
        self.indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n_rows))]

    def bounds(self, width: int) -> Iterator[tuple[int, int]]:
        """Row ranges [lo, hi) of the blocks for vectors of `width` float32s: all rows for the
        dense mask; else rows whose pairs gather at most BLOCK_BYTES (at least one row)."""
        if self.mask is not None:
            yield 0, self.n_rows
            return
        per_block = max(1, BLOCK_BYTES // (4 * width))
        lo = 0
        while lo < self.n_rows:
            hi = int(np.searchsorted(self.indptr, self.indptr[lo] + per_block, "right")) - 1
            hi = min(max(hi, lo + 1), self.n_rows)
            yield lo, hi
            lo = hi

    def block(self, lo: int, hi: int, other: np.ndarray) -> _Block:
        """The sums of rows lo..hi-1 over `other`."""
        if self.mask is not None:
            return _Block(other, mask=self.mask[lo:hi])
        counts = np.diff(self.indptr[lo : hi + 1])
        return _Block(other[self.columns[self.indptr[lo] : self.indptr[hi]]], counts=counts)


class _Block:
    """Sums over some rows' observed columns: a dense mask times `other`, or the other-side
    vectors gathered once per block (`observed`, grouped by row, `counts` per row), also
    kept as columns: summing each row's run of columns (reduceat along the contiguous
    axis) is ~5x faster than summing runs of rows."""

    def __init__(
        self, observed: np.ndarray, mask: np.ndarray | None = None, counts: np.ndarray | None = None
    ) -> None:
        self.observed, self.mask = observed, mask
        if counts is not None:
            self.counts, self.columns = counts, np.ascontiguousarray(observed.T)
            self.nonempty = np.flatnonzero(counts)
            self.starts = (np.cumsum(counts) - counts)[self.nonempty]

    def total(self) -> np.ndarray:
        """Per row r: the sum of other[c] over its observed columns c."""
        if self.mask is not None:
            return self.mask @ self.observed
        return self._segment_sum(self.columns)

    def weighted(self, x: np.ndarray) -> np.ndarray:
        """Per row r: the sum of (x[r] . other[c]) other[c] over its observed columns c."""
        if self.mask is not None:
            return (self.mask * (x @ self.observed.T)) @ self.observed
        dots = np.einsum("nd,nd->n", self.observed, np.repeat(x, self.counts, axis=0))
        return self._segment_sum(self.columns * dots)

    def _segment_sum(self, values: np.ndarray) -> np.ndarray:
        """Per row, the sum of its run of columns of `values` (factors x pairs)."""
        out = np.zeros((len(self.counts), values.shape[0]), values.dtype)
        if values.shape[1]:
            out[self.nonempty] = np.add.reduceat(values, self.starts, axis=1).T
        return out


def _solve(
    x: np.ndarray,
    other: np.ndarray,
    pairs: _Observed,
    cfg: ALSConfig,
    sure: _Observed | None = None,
) -> np.ndarray:
    """Conjugate-gradient steps, from `x`, towards (O'O + alpha O_c'O_c + reg I) x_u =
    (1 + alpha) sum of the observed rows of O, for every row u; block by block, as each
    row's system is its own. The confident pairs c are the observed ones, plus the explicit
    negatives when `sure` holds both."""
    gram = other.T @ other + cfg.reg * np.eye(other.shape[1], dtype=other.dtype)
    sure = sure or pairs
    out = np.empty_like(x)
    for lo, hi in sure.bounds(other.shape[1]):
        weights = sure.block(lo, hi, other)
        total = (weights if sure is pairs else pairs.block(lo, hi, other)).total()
        out[lo:hi] = _conjugate_gradient(x[lo:hi], gram, total, weights, cfg)
    return out


def _conjugate_gradient(
    x: np.ndarray, gram: np.ndarray, total: np.ndarray, block: _Block, cfg: ALSConfig
) -> np.ndarray:
    """`cfg.cg_steps` conjugate-gradient steps from `x` for the rows of `block` (the pairs of
    confidence 1 + alpha), whose observed rows of the other side sum to `total`."""

    def apply(v: np.ndarray) -> np.ndarray:
        return v @ gram + cfg.alpha * block.weighted(v)

    x = x.copy()
    residual = (1.0 + cfg.alpha) * total - apply(x)
    direction = residual.copy()
    norm = np.einsum("ud,ud->u", residual, residual)
    for _ in range(cfg.cg_steps):
        if norm.max(initial=0.0) < 1e-20:
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
        sure_by_user = sure_by_item = None  # with explicit negatives: preference 0, confidence
        if len(train.negative_users):  # 1 + alpha, as implicit reads a negative value
            users = np.r_[fit_part.users, train.negative_users]
            items = np.r_[fit_part.items, train.negative_items]
            sure_by_user = _Observed(users, items, train.n_users, train.n_items)
            sure_by_item = _Observed(items, users, train.n_items, train.n_users)
        init = np.random.default_rng(cfg.seed)
        self.user_factors = (init.standard_normal((train.n_users, cfg.factors)) * 0.01).astype(
            np.float32
        )
        self.item_factors = (init.standard_normal((train.n_items, cfg.factors)) * 0.01).astype(
            np.float32
        )
        for iteration in range(cfg.iterations):
            self.user_factors = _solve(
                self.user_factors, self.item_factors, by_user, cfg, sure_by_user
            )
            self.item_factors = _solve(
                self.item_factors, self.user_factors, by_item, cfg, sure_by_item
            )
            if ranker is not None:
                figures = {"val_ndcg@10": ranker(self.export().scorer())}
                self.history.epochs.append(figures)
                log.info("iteration=%d val_ndcg@10=%.4f", iteration + 1, figures["val_ndcg@10"])
        self._scorer = None
        return self.history

    def memory_bytes(self, n_users: int, n_items: int, n_rows: int) -> int:
        """The fit's copies of the rows, both sides' pairs (int64 sort keys while building,
        int32 columns kept), the factor tables with their conjugate-gradient work copies,
        and the dense masks or one block's gathered vectors (a popular item's pairs may
        exceed a block alone)."""
        factors = self.config.factors
        tables = 6 * 4 * factors * (n_users + n_items)
        if n_users * n_items <= DENSE_LIMIT:
            work = 2 * 3 * 4 * n_users * n_items
        else:
            work = 4 * max(BLOCK_BYTES, 4 * factors * max(n_users, n_items))
        return ROW_BYTES * n_rows + 2 * 24 * n_rows + tables + work

    def export(self) -> ExportedModel:
        """The factors, and the objective's hyperparameters that fold-in solves with."""
        cfg = self.config
        params = {"objective": "als", "reg": cfg.reg, "alpha": cfg.alpha,
                  "rating_threshold": cfg.rating_threshold}  # fmt: skip
        return ExportedModel("dot", {"user_factors": self.user_factors,
                                     "item_factors": self.item_factors}, params)  # fmt: skip
