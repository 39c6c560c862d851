"""Seeded, vectorised negative sampling: no Python loop over interactions.

Positives are kept as sorted int64 pair codes (`training.vocab.pair_codes`); candidates are
drawn uniformly and membership is tested with a bitmap of the user x item grid, redrawing only
the collisions. A grid too big for one bitmap is tested a block of users at a time when the
queries come sorted by user, else by a searchsorted over the codes. With a density d of the
user-item matrix, the expected number of rounds is about log(n) / log(1 / d).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from training.vocab import distinct, pair_codes, split_pair_codes

# user x item grids up to this many cells (64 MB) test membership with a bitmap, which is over
# ten times faster than a binary search over the codes
BITMAP_CELLS = 1 << 26
# the bitmap of one block of users when a grid is bigger (4 MB: it stays in the CPU's cache);
# at 300,000 x 60,000 this tests 140M sorted queries in seconds where a searchsorted over the
# codes, a cache miss per step, took 25 s (72 s unsorted)
BLOCK_CELLS = 1 << 22


def positive_codes(users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    """Sorted unique codes of the (user, item) pairs."""
    return distinct(pair_codes(users, items, n_items))


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
    """`is_positive` for pairs of these `users`: a bitmap lookup when the grid is small enough,
    a bitmap per block of users when `users` are sorted (so are the subsets redrawn)."""
    cells = max(int(codes[-1]) + 1 if len(codes) else 0,
                (int(users.max()) + 1) * n_items if len(users) else 0)  # fmt: skip
    if cells > BITMAP_CELLS:
        if len(users) and (users[1:] >= users[:-1]).all():
            return lambda u, i: _blocked_lookup(codes, u, i, n_items)
        return lambda u, i: is_positive(codes, u, i, n_items)
    bitmap = np.zeros(cells, bool)
    bitmap[codes] = True
    return lambda u, i: bitmap[pair_codes(u, i, n_items)]


def _blocked_lookup(
    codes: np.ndarray, users: np.ndarray, items: np.ndarray, n_items: int
) -> np.ndarray:
    """`is_positive` for pairs sorted by user, one cache-sized bitmap per block of users."""
    found = np.zeros(len(users), bool)
    if not len(users):
        return found
    block_users = max(1, BLOCK_CELLS // n_items)
    block = (users - users[0]) // block_users
    edges = np.r_[0, np.flatnonzero(block[1:] != block[:-1]) + 1, len(users)]
    bitmap = np.zeros(block_users * n_items, bool)
    for lo, hi in itertools.pairwise(edges):
        first = int(users[0]) + int(block[lo]) * block_users
        start, stop = np.searchsorted(codes, [first * n_items, (first + block_users) * n_items])
        local = codes[start:stop] - first * n_items
        bitmap[local] = True
        found[lo:hi] = bitmap[pair_codes(users[lo:hi] - first, items[lo:hi], n_items)]
        bitmap[local] = False
    return found


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
