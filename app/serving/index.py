"""Exact top-k over a score vector: argpartition then a sort of k, exclusions by index."""

from __future__ import annotations

import numpy as np


def top_k(
    scores: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the k best entries, best first, skipping `exclude` indices.

    Ties are broken by the lower index. Excluded entries are masked in a copy, so the cost is
    one O(n) partition plus O(k log k), whatever the number of exclusions.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if exclude is not None and len(exclude):
        scores = scores.copy()
        scores[exclude] = -np.inf
    available = len(scores) if exclude is None else len(scores) - len(np.unique(exclude))
    k = min(k, available)
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    if k < len(scores):
        candidates = np.argpartition(-scores, k - 1)[:k]
        # entries tied with the k-th score may sit outside the partition: include them all
        threshold = scores[candidates].min()
        candidates = np.flatnonzero(scores >= threshold)
    else:
        candidates = np.arange(len(scores))
    order = np.lexsort((candidates, -scores[candidates]))[:k]
    chosen = candidates[order]
    return chosen, scores[chosen]


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32 and contiguous."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.where(norms == 0, 1, norms))
