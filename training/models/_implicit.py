"""What the implicit-feedback models share: positives, a validation split carved from the
training data only, the user -> items history, and the validation ranking metric.

NumPy only: the numpy models (ease, als, rp3beta) use it without importing TensorFlow.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from app.serving.index import top_k_rows
from app.serving.scorers import Scorer
from training.memory_plan import score_batch_users
from training.metrics import ndcg
from training.models.base import ModelConfig
from training.splits import recency_rank, stratified_split
from training.vocab import EncodedInteractions, distinct, pair_codes, split_pair_codes

VALIDATION_K = 10
MAX_VALIDATION_USERS = 2000
RECENCY_FLOOR = 0.3  # the weight an old interaction keeps, beside a newest one's 1 + floor
RECENCY_HELP = (
    f"weight each positive by {RECENCY_FLOOR} + exp(-r / recency), r = how many of the user's "
    "interactions are newer (0: every positive weighs the same)"
)


class ImplicitConfig(ModelConfig):
    """Data preparation and validation options of every implicit-feedback model."""

    rating_threshold: float | None = Field(
        None, description="ratings >= this are positives; None: every row is a positive"
    )
    validation_fraction: float = Field(
        0.05, ge=0, lt=0.5, description="per-user share of training rows held out to validate"
    )


def positives(train: EncodedInteractions, threshold: float | None) -> EncodedInteractions:
    """The distinct (user, item) rows that count as positives: every event that is not a
    rating, and the ratings >= threshold (all of them when the threshold is None)."""
    keep = ~train.is_rating | (True if threshold is None else train.ratings >= threshold)
    _, first = np.unique(pair_codes(train.users[keep], train.items[keep], train.n_items),
                         return_index=True)  # fmt: skip
    return train.subset(np.flatnonzero(keep)[np.sort(first)])


def carve_validation(
    data: EncodedInteractions, fraction: float, rng: np.random.Generator
) -> tuple[EncodedInteractions, EncodedInteractions | None]:
    """(fit part, validation part): a per-user random share of the training rows, or no
    validation when the fraction is 0 or the data too small to spare rows."""
    if fraction <= 0 or len(data) < 20:
        return data, None
    return stratified_split(data, fraction, rng)


def history_csr(data: EncodedInteractions) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, indices): each user's distinct items, sorted, as CSR rows (int64, int32)."""
    codes = distinct(pair_codes(data.users, data.items, data.n_items))
    users, items = split_pair_codes(codes, data.n_items)
    indptr = np.r_[0, np.cumsum(np.bincount(users, minlength=data.n_users))].astype(np.int64)
    return indptr, items.astype(np.int32)


def interaction_matrix(data: EncodedInteractions) -> np.ndarray:
    """Dense binary user x item matrix (float32) of the distinct pairs."""
    matrix = np.zeros((data.n_users, data.n_items), np.float32)
    matrix[data.users, data.items] = 1.0
    return matrix


def _rows_csr(data: EncodedInteractions, row: np.ndarray, n_rows: int) -> tuple[np.ndarray, ...]:
    """(indptr, items) of `data`'s rows whose user has a row number (`row[user] >= 0`), as
    CSR rows in row-number order."""
    mask = row[data.users] >= 0
    rows, items = row[data.users[mask]], data.items[mask]
    order = np.argsort(rows, kind="stable")
    return np.r_[0, np.cumsum(np.bincount(rows, minlength=n_rows))], items[order]


def _dense_rows(indptr: np.ndarray, items: np.ndarray, lo: int, hi: int, n: int) -> np.ndarray:
    """Boolean (hi - lo, n) matrix of CSR rows lo..hi-1."""
    matrix = np.zeros((hi - lo, n), bool)
    counts = np.diff(indptr[lo : hi + 1])
    matrix[np.repeat(np.arange(hi - lo), counts), items[indptr[lo] : indptr[hi]]] = True
    return matrix


class ValidationRanker:
    """ndcg@10 of the held-out rows, ranking every item the user did not fit on (as RANK does).

    Used for early stopping and tuning, so test data never steers training. Users are scored
    in batches sized to the memory budget, never all of them x every item at once.
    """

    def __init__(
        self, fit: EncodedInteractions, valid: EncodedInteractions, rng: np.random.Generator
    ) -> None:
        users = distinct(valid.users)
        if len(users) > MAX_VALIDATION_USERS:
            users = np.sort(rng.choice(users, MAX_VALIDATION_USERS, replace=False))
        row = np.full(fit.n_users, -1)
        row[users] = np.arange(len(users))
        self.users, self.n_items = users, fit.n_items
        self.seen = _rows_csr(fit, row, len(users))
        self.relevant = _rows_csr(valid, row, len(users))
        self.batch = score_batch_users(fit.n_items)

    def __call__(self, scorer: Scorer) -> float:
        gains, has_relevant = [], []
        for lo in range(0, len(self.users), self.batch):
            hi = min(lo + self.batch, len(self.users))
            seen = _dense_rows(*self.seen, lo, hi, self.n_items)
            relevant = _dense_rows(*self.relevant, lo, hi, self.n_items) & ~seen
            scores = scorer.score_users(self.users[lo:hi])
            top, _ = top_k_rows(scores, min(VALIDATION_K, self.n_items - 1), seen)
            hits = np.take_along_axis(relevant, np.maximum(top, 0), axis=1) & (top >= 0)
            n_relevant = relevant.sum(axis=1)
            gains.append(ndcg(hits, n_relevant))
            has_relevant.append(n_relevant > 0)
        mask = np.concatenate(has_relevant) if has_relevant else np.zeros(0, bool)
        return float(np.concatenate(gains)[mask].mean()) if mask.any() else 0.0


class SampledConfig(ImplicitConfig):
    """Training options of the neural models fitted on sampled negatives."""

    epochs: int = Field(40, ge=1, le=1000)
    batch_size: int = Field(4096, ge=16, le=1_000_000)
    learning_rate: float = Field(0.005, gt=0, le=1)
    negatives: int = Field(4, ge=1, le=100, description="sampled negatives per positive")
    patience: int = Field(3, ge=0, le=100, description="epochs without improvement to stop")
    finish_epochs: int = Field(
        3,
        ge=0,
        le=100,
        description="after early stopping, epochs over all training rows (validation rows "
        "too) at a fifth of the learning rate",
    )
    # 50: +0.02-0.04 hr@10 on a next-item validation for up to -0.01 ndcg@10 on a random-split
    # one (benchmarks/RESULTS.md)
    recency: float = Field(50, ge=0, le=1e6, description=RECENCY_HELP)


def raw_recency_weights(data: EncodedInteractions, recency: float) -> np.ndarray:
    """RECENCY_FLOOR + exp(-r / recency) per row, r = how many of the user's rows are newer;
    all ones when recency is 0."""
    if recency <= 0 or len(data) == 0:
        return np.ones(len(data))
    return RECENCY_FLOOR + np.exp(-recency_rank(data) / recency)


def recency_weights(data: EncodedInteractions, recency: float) -> np.ndarray:
    """Per-row loss weights (float32, mean 1) that favour each user's latest interactions:
    what a user did lately says most about what they want next. All ones when recency is 0."""
    weights = raw_recency_weights(data, recency)
    if len(weights):
        weights = weights / weights.mean()
    return weights.astype(np.float32)


def shuffled(rng: np.random.Generator, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays permuted by one shared random order (np.take: twice as fast as indexing
    with the order at millions of rows)."""
    order = rng.permutation(len(arrays[0]))
    return tuple(np.take(a, order, axis=0) for a in arrays)


class FactorSampledConfig(SampledConfig):
    """Embedding width and per-row L2 of the sampled-negative factor models (imf, bpr); their
    recency weighting is gentler (100): at 50 their random-split validation lost more than
    the noise (see benchmarks/RESULTS.md)."""

    factors: int = Field(64, ge=1, le=1024)
    l2: float = Field(1e-2, ge=0, le=10, description="L2 weight on the batch's rows")
    recency: float = Field(100, ge=0, le=1e6, description=RECENCY_HELP)
