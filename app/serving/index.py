"""Exact top-k of the serving contract: one tie rule for serving and evaluation alike."""

from __future__ import annotations

import numpy as np


def top_k(
    scores: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the k best entries, best first, skipping `exclude` indices.

    One row of `top_k_rows`, so the same tie rule: ties are broken by the lower index, NaN
    ranks like -inf. Fewer than k come back when fewer than k entries are not excluded.
    """
    scores = np.asarray(scores, dtype=np.float32)
    excluded = None
    if exclude is not None and len(exclude):
        excluded = np.zeros((1, len(scores)), dtype=bool)
        excluded[0, exclude] = True
    indices, values = top_k_rows(scores[None, :], k, excluded)
    found = indices[0] >= 0
    return indices[0][found], values[0][found]


def top_k_rows(
    scores: np.ndarray, k: int, excluded: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a (users, items) score matrix, the k best columns, best first: (indices
    int64, scores float32), both of shape (rows, min(k, columns)).

    The tie rule of the serving contract, used by serving and evaluation alike: a higher score
    first, equal scores by the lower index; NaN ranks like -inf. `excluded` (a boolean matrix
    of the same shape) removes entries; a row with fewer than k entries left is padded with
    index -1 and score -inf. Cost: O(columns) per row (a partition to find the k-th score,
    then a sort of the chosen k), whatever the exclusions or ties.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if np.isnan(scores).any():
        scores = np.where(np.isnan(scores), np.float32(-np.inf), scores)
    n_rows, n_columns = scores.shape
    width = max(0, min(k, n_columns))
    if width == 0:
        return np.empty((n_rows, 0), np.int64), np.empty((n_rows, 0), np.float32)
    eligible = np.ones(scores.shape, bool) if excluded is None else ~np.asarray(excluded, bool)
    ranked = scores if excluded is None else np.where(eligible, scores, np.float32(-np.inf))
    kth = np.argpartition(-ranked, width - 1, axis=1)[:, width - 1 : width]
    threshold = np.take_along_axis(ranked, kth, axis=1)
    above = ranked > threshold
    ties = (ranked == threshold) & eligible
    room = width - above.sum(axis=1, keepdims=True)
    chosen = above | (ties & (np.cumsum(ties, axis=1) <= room))
    rows, columns = np.nonzero(chosen)  # columns ascending within each row
    order = np.lexsort((columns, -scores[rows, columns], rows))
    rows, columns = rows[order], columns[order]
    starts = np.r_[0, np.cumsum(chosen.sum(axis=1))[:-1]]
    position = np.arange(len(rows)) - starts[rows]
    indices = np.full((n_rows, width), -1, np.int64)
    values = np.full((n_rows, width), -np.inf, np.float32)
    indices[rows, position] = columns
    values[rows, position] = scores[rows, columns]
    return indices, values


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32 and contiguous."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.where(norms == 0, 1, norms))
