"""Ranking metrics of PROTOCOLS.md for one user's top-k list; vectorised helpers."""

from __future__ import annotations

import numpy as np


def discounts(k: int) -> np.ndarray:
    """The DCG discount of each list position 0..k-1: 1 / log2(position + 2)."""
    return 1.0 / np.log2(np.arange(k) + 2)


def ndcg(hits: np.ndarray, n_relevant: np.ndarray | int) -> np.ndarray:
    """nDCG@k of ranked lists, the one implementation (RANK, LOO and validation use it).

    `hits` is (lists, k) booleans: is the item at each position relevant; `n_relevant` is |T|
    per list (items no model can rank included). DCG over the positions, divided by the DCG of
    an ideal list of min(|T|, k) hits; 0 for a list without relevant items.
    """
    hits = np.atleast_2d(np.asarray(hits, bool))
    k = hits.shape[1]
    gain = discounts(k)
    n_relevant = np.broadcast_to(np.asarray(n_relevant), hits.shape[:1])
    ideal = np.cumsum(gain)[np.clip(n_relevant, 1, k) - 1] if k else np.ones(len(hits))
    return np.where(n_relevant > 0, (hits * gain).sum(axis=1) / ideal, 0.0)


def ranking_metrics(
    top: np.ndarray, relevant: set[int], n_relevant: int, k: int
) -> dict[str, float]:
    """precision, recall, ndcg, map and mrr @k of the list `top` against the test set.

    `n_relevant` is |T|, counting test items no model can rank (unseen in train).
    """
    hits = np.zeros(k, bool)
    hits[: min(k, len(top))] = [item in relevant for item in top[:k]]
    positions = np.flatnonzero(hits)
    n_hits = len(positions)
    precision_at = np.cumsum(hits) / (np.arange(k) + 1)
    return {
        f"precision@{k}": n_hits / k,
        f"recall@{k}": n_hits / n_relevant,
        f"ndcg@{k}": float(ndcg(hits, n_relevant)[0]),
        f"map@{k}": float(precision_at[positions].sum() / min(n_relevant, k)),
        f"mrr@{k}": 1.0 / (positions[0] + 1) if n_hits else 0.0,
    }


AUC_CHUNK_CELLS = 1 << 22  # positives x scores compared at once


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """P(random positive outscores random negative), ties counted 1/2; nan without both.

    Each positive's average rank (1-based, ties sharing the mean rank) is the count of lower
    scores plus (count of equal scores + 1) / 2: comparisons against the few positives, not a
    sort of every score (a catalog of 60,000 items is ranked per test user)."""
    n_pos = int(positive.sum())
    n_neg = len(scores) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    targets = scores[positive]
    chunk = max(1, AUC_CHUNK_CELLS // max(1, len(scores)))
    ranks = np.concatenate([
        (scores[None, :] < part[:, None]).sum(axis=1)
        + ((scores[None, :] == part[:, None]).sum(axis=1) + 1) / 2.0
        for part in (targets[i : i + chunk] for i in range(0, n_pos, chunk))
    ])  # fmt: skip
    return float((ranks.sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def loo_rank(held_out_score: float, negative_scores: np.ndarray) -> int:
    """0-based rank of the held-out item; a negative with an equal score ranks above it."""
    return int(np.count_nonzero(negative_scores >= held_out_score))


def loo_metrics(ranks: np.ndarray, k: int) -> dict[str, float]:
    """hr@k and ndcg@k of the held-out items' 0-based ranks (one relevant item per list)."""
    ranks = np.asarray(ranks)
    hits = ranks[:, None] == np.arange(k)
    return {f"hr@{k}": float(np.mean(ranks < k)), f"ndcg@{k}": float(np.mean(ndcg(hits, 1)))}
