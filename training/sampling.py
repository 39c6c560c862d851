"""Seeded, vectorised negative sampling: no Python loop over interactions.

Positives are kept as sorted int64 pair codes (`training.vocab.pair_codes`); candidates are
drawn uniformly and membership is tested with a bitmap of the user x item grid (or, for grids
too big for one, a searchsorted over the codes), redrawing only the collisions. With a density
d of the user-item matrix, the expected number of rounds is about log(n) / log(1 / d).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from training.vocab import pair_codes, split_pair_codes

# user x item grids up to this many cells (64 MB) test membership with a bitmap, which is over
# ten times faster than a binary search over the codes
BITMAP_CELLS = 1 << 26


def positive_codes(users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    """Sorted unique codes of the (user, item) pairs."""
    return np.unique(pair_codes(users, items, n_items))


def is_positive(
    codes: np.ndarray, users: np.ndarray, items: np.ndarray, n_items: int
) -> np.ndarray:
    """Boolean mask: is each (user, item) pair among the sorted `codes`."""
    query = pair_codes(users, items, n_items)
    at = np.searchsorted(codes, query)
    at[at == len(codes)] = 0
    return codes[at] == query if len(codes) else np.zeros(len(query), bool)


def sample_negatives(
    users: np.ndarray,
    n_items: int,
    codes: np.ndarray,
    rng: np.random.Generator,
    max_rounds: int = 50,
) -> np.ndarray:
    """One uniformly drawn item per entry of `users` that the user has no positive for."""
    positive = _membership(codes, users, n_items)
    items = rng.integers(0, n_items, len(users))
    redo = np.flatnonzero(positive(users, items))
    for _ in range(max_rounds):
        if len(redo) == 0:
            return items
        items[redo] = rng.integers(0, n_items, len(redo))
        redo = redo[positive(users[redo], items[redo])]
    return _exact_leftovers(users, items, redo, n_items, codes, rng)


def _membership(
    codes: np.ndarray, users: np.ndarray, n_items: int
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """`is_positive` for pairs of these `users`: a bitmap lookup when the grid is small enough."""
    cells = max(int(codes[-1]) + 1 if len(codes) else 0,
                (int(users.max()) + 1) * n_items if len(users) else 0)  # fmt: skip
    if cells > BITMAP_CELLS:
        return lambda u, i: is_positive(codes, u, i, n_items)
    bitmap = np.zeros(cells, bool)
    bitmap[codes] = True
    return lambda u, i: bitmap[pair_codes(u, i, n_items)]


def _exact_leftovers(
    users: np.ndarray,
    items: np.ndarray,
    redo: np.ndarray,
    n_items: int,
    codes: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw from each leftover user's explicit complement (users with almost every item)."""
    for user in np.unique(users[redo]):
        rows = redo[users[redo] == user]
        first, stop = np.searchsorted(codes, pair_codes(np.array([user, user + 1]), 0, n_items))
        seen = split_pair_codes(codes[first:stop], n_items)[1]
        free = np.setdiff1d(np.arange(n_items), seen)
        if len(free) == 0:
            raise ValueError(f"user index {user} interacted with every item: no negatives exist")
        items[rows] = rng.choice(free, len(rows))
    return items


def sample_pairs(
    users: np.ndarray,
    items: np.ndarray,
    n_items: int,
    negatives_per_positive: int,
    rng: np.random.Generator,
    codes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, items, labels): the positives (label 1) plus sampled negatives (label 0);
    `codes` are the pairs' positive_codes when the caller already has them."""
    codes = positive_codes(users, items, n_items) if codes is None else codes
    neg_users = np.repeat(users, negatives_per_positive)
    neg_items = sample_negatives(neg_users, n_items, codes, rng)
    all_users = np.concatenate([users, neg_users])
    all_items = np.concatenate([items, neg_items])
    labels = np.concatenate([np.ones(len(users), np.float32), np.zeros(len(neg_users), np.float32)])
    return all_users, all_items, labels
