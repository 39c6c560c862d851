"""Exact top-k over a score vector: argpartition then a sort of k, exclusions by index."""

from __future__ import annotations

import numpy as np


def top_k(
    scores: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the k best entries, best first, skipping `exclude` indices.

    Ties are broken by the lower index; NaN ranks like -inf. Cost: O(n) to drop exclusions
    and partition, plus O(k log k) to sort the chosen k, whatever the exclusions or ties.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if np.isnan(scores).any():
        scores = np.where(np.isnan(scores), np.float32(-np.inf), scores)
    ids = None
    if exclude is not None and len(exclude):
        keep = np.ones(len(scores), dtype=bool)
        keep[exclude] = False
        ids = np.flatnonzero(keep)  # ascending, so ties by position are ties by index
        scores = scores[ids]
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    if k < len(scores):
        threshold = scores[np.argpartition(-scores, k - 1)[k - 1]]
        above = np.flatnonzero(scores > threshold)
        ties = np.flatnonzero(scores == threshold)[: k - len(above)]
        candidates = np.concatenate([above, ties])
    else:
        candidates = np.arange(len(scores))
    chosen = candidates[np.lexsort((candidates, -scores[candidates]))]
    return (chosen if ids is None else ids[chosen]), scores[chosen]


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32 and contiguous."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.where(norms == 0, 1, norms))
