"""Ranking metrics of PROTOCOLS.md for one user's top-k list; vectorised helpers."""

from __future__ import annotations

import numpy as np


def ranking_metrics(
    top: np.ndarray, relevant: set[int], n_relevant: int, k: int
) -> dict[str, float]:
    """precision, recall, ndcg, map and mrr @k of the list `top` against the test set.

    `n_relevant` is |T|, counting test items no model can rank (unseen in train).
    """
    hits = np.fromiter((item in relevant for item in top[:k]), bool, min(k, len(top)))
    positions = np.flatnonzero(hits)
    n_hits = len(positions)
    discounts = 1.0 / np.log2(np.arange(k) + 2)
    ideal = discounts[: min(n_relevant, k)].sum()
    precision_at = np.cumsum(hits) / (np.arange(len(hits)) + 1)
    return {
        f"precision@{k}": n_hits / k,
        f"recall@{k}": n_hits / n_relevant,
        f"ndcg@{k}": float(discounts[positions].sum() / ideal) if ideal else 0.0,
        f"map@{k}": float(precision_at[positions].sum() / min(n_relevant, k)),
        f"mrr@{k}": 1.0 / (positions[0] + 1) if n_hits else 0.0,
    }


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """P(random positive outscores random negative), ties counted 1/2; nan without both."""
    n_pos = int(positive.sum())
    n_neg = len(scores) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    # average ranks (1-based) with ties sharing the mean rank
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mean_rank = first + (counts + 1) / 2.0
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(mean_rank, counts)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def loo_rank(held_out_score: float, negative_scores: np.ndarray) -> int:
    """0-based rank of the held-out item; a negative with an equal score ranks above it."""
    return int(np.count_nonzero(negative_scores >= held_out_score))
