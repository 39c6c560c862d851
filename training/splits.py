"""Train/test splits of encoded interactions: pure, seeded, vectorised; maps are kept."""

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


def stratified_split(
    data: EncodedInteractions, test_fraction: float, rng: np.random.Generator
) -> Split:
    """Per user, a random round(fraction * n) rows (at least 1, at most n - 1) go to test."""
    order = np.lexsort((rng.random(len(data)), data.users))
    rank, size = _rank_within_user(data.users, order)
    n_test = np.clip(np.floor(test_fraction * size + 0.5), 1, size - 1)
    test = (size >= 2) & (rank < n_test)
    return data.subset(~test), data.subset(test)


def _newest_first(data: EncodedInteractions) -> tuple[np.ndarray, np.ndarray]:
    """Each row's position from its user's latest row (0 = latest; ties: the later row), and
    its user's number of rows."""
    order = np.lexsort((-np.arange(len(data)), -data.timestamps, data.users))
    return _rank_within_user(data.users, order)


def chronological_split(data: EncodedInteractions, test_fraction: float) -> Split:
    """Per user, the latest round(fraction * n) rows (at least 1, at most n - 1) go to test."""
    rank, size = _newest_first(data)
    n_test = np.clip(np.floor(test_fraction * size + 0.5), 1, size - 1)
    test = (size >= 2) & (rank < n_test)
    return data.subset(~test), data.subset(test)


def leave_one_out(data: EncodedInteractions) -> Split:
    """Per user with 2+ rows, the latest row (ties: the later row) goes to test."""
    rank, size = _newest_first(data)
    test = (size >= 2) & (rank == 0)
    return data.subset(~test), data.subset(test)


def recency_rank(data: EncodedInteractions) -> np.ndarray:
    """Each row's position from its user's latest row (0 = latest; ties: the later row)."""
    return _newest_first(data)[0]
