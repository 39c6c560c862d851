"""Train/test splits: pure, seeded, vectorised; the one implementation of each split.

The `*_mask` functions work on plain arrays (a user code per row, timestamps) and return the
rows that go to test, so the same code splits encoded interactions (models carving a
validation part) and the raw frames of PROTOCOLS.md (`training.protocols`). Users may be coded
in any way: only equality of codes matters, and row order decides ties.
"""

from __future__ import annotations

import numpy as np

from training.vocab import EncodedInteractions

Split = tuple[EncodedInteractions, EncodedInteractions]


def random_split(
    data: EncodedInteractions, test_fraction: float, rng: np.random.Generator
) -> Split:
    """Exactly round(n * fraction) randomly chosen rows go to test."""
    n_test = round(len(data) * test_fraction)
    test = np.zeros(len(data), bool)
    test[rng.permutation(len(data))[:n_test]] = True
    return data.subset(~test), data.subset(test)


def _rank_within_user(users: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows visited in `order` (grouped by user), each row's position in its user's group
    and its user's group size, aligned with the original rows."""
    grouped = users[order]
    starts = np.r_[0, np.flatnonzero(np.diff(grouped)) + 1]
    sizes = np.diff(np.r_[starts, len(grouped)])
    position = np.arange(len(grouped)) - np.repeat(starts, sizes)
    rank, size = np.empty_like(position), np.empty_like(position)
    rank[order], size[order] = position, np.repeat(sizes, sizes)
    return rank, size


def _share(size: np.ndarray, fraction: float) -> np.ndarray:
    """Rows to test out of a user's `size`: floor(fraction * n + 0.5), at least 1, at most
    n - 1 (PROTOCOLS.md's RANK rule with fraction 0.25)."""
    return np.clip(np.floor(fraction * size + 0.5), 1, size - 1)


def per_user_random_mask(
    users: np.ndarray, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Test rows of a per-user random split: each user with n >= 2 rows has a random
    `_share` of them in test (one uniform key per row, drawn in row order, sorted per user);
    users with one row stay in train."""
    order = np.lexsort((rng.random(len(users)), users))
    rank, size = _rank_within_user(users, order)
    return (size >= 2) & (rank < _share(size, fraction))


def _newest_first(users: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's position from its user's latest row (0 = latest; ties: the later row), and
    its user's number of rows."""
    order = np.lexsort((-np.arange(len(users)), -timestamps, users))
    return _rank_within_user(users, order)


def leave_one_out_mask(users: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Test rows of leave-one-out: per user with 2+ rows, the latest (ties: the later row)."""
    rank, size = _newest_first(users, timestamps)
    return (size >= 2) & (rank == 0)


def stratified_split(
    data: EncodedInteractions, test_fraction: float, rng: np.random.Generator
) -> Split:
    """Per user, a random round(fraction * n) rows (at least 1, at most n - 1) go to test."""
    test = per_user_random_mask(data.users, test_fraction, rng)
    return data.subset(~test), data.subset(test)


def leave_one_out(data: EncodedInteractions) -> Split:
    """Per user with 2+ rows, the latest row (ties: the later row) goes to test."""
    test = leave_one_out_mask(data.users, data.timestamps)
    return data.subset(~test), data.subset(test)


def recency_rank(data: EncodedInteractions) -> np.ndarray:
    """Each row's position from its user's latest row (0 = latest; ties: the later row)."""
    return _newest_first(data.users, data.timestamps)[0]
