"""RANK's lists and metrics (PROTOCOLS.md): the lists the server would return, taken for
batches of users sized to the memory budget, each batch's metrics taken before the next is
scored, so evaluation never holds a users x items matrix."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pandas as pd

from app.config import Settings
from app.serving.index import top_k_rows
from app.serving.plan import served_users
from app.serving.rules import NO_RULES, RuleEngine, Rules
from training.memory_plan import score_batch_users
from training.metrics import auc, ranking_metrics
from training.models._implicit import history_csr
from training.models.base import Recommender
from training.vocab import EncodedInteractions

SCORE_BATCH = 512  # users a batch at most, whatever the budget


def _excluded_rows(
    unseen: np.ndarray, users: np.ndarray, indptr: np.ndarray, indices: np.ndarray
) -> np.ndarray:
    """(len(users), n_items) mask of what a user is never recommended: their train items (the
    CSR rows `indptr`, `indices`) and the `unseen` items (those that do not occur in train)."""
    excluded = np.repeat(unseen[None, :], len(users), axis=0)
    counts = indptr[users + 1] - indptr[users]
    rows = np.repeat(np.arange(len(users)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    excluded[rows, indices[np.repeat(indptr[users], counts) + offsets]] = True
    return excluded


Ranked = tuple[np.ndarray, list[np.ndarray], np.ndarray]


def ranked_batches(
    model: Recommender,
    train: EncodedInteractions,
    users: np.ndarray,
    k: int,
    rules: Rules = NO_RULES,
) -> Iterator[Ranked]:
    """Per batch of user indices (as many as the memory budget lets one batch score, see
    `training.memory_plan.score_batch_users`): the users, the top-k item indices RANK
    evaluates for each (their training items and items unseen in training excluded), taken
    by the retriever the server would use for this model (exact, IVF or retrieval ->
    ranking, by the RECO_* settings; ties by the lower index) and reordered by `rules` (e.g.
    dither) as the server would, and every item's score with the excluded ones at -inf (for
    auc). Never more than one batch of users x items at once."""
    settings = Settings()
    retriever, route = served_users(model.scorer, settings)
    engine = RuleEngine(train.item_map, [""] * train.n_items, settings.rules_head)
    size = engine.pool_size(rules, k)
    indptr, indices = history_csr(train)
    unseen = train.item_counts() == 0
    step = min(SCORE_BATCH, score_batch_users(train.n_items))
    for batch_start in range(0, len(users), step):
        batch = users[batch_start : batch_start + step]
        excluded = _excluded_rows(unseen, batch, indptr, indices)
        scores = model.score(batch)
        out = [np.flatnonzero(row) for row in excluded]
        if route == "exact":  # what ExactRetriever.top_many does, on the scores in hand
            top, values = top_k_rows(scores, size, excluded)
            answers = [(i[i >= 0], v[i >= 0]) for i, v in zip(top, values, strict=True)]
        else:
            answers = retriever.top_many(batch, size, out)
        scores = scores.astype(np.float64)
        scores[excluded] = -np.inf
        tops = []
        for user, answer, gone in zip(batch.tolist(), answers, out, strict=True):
            if rules.active:  # the server's rule engine, seeded by the user's id
                answer = engine.apply(
                    rules, str(train.user_map.ids[user]), k, gone, answer,
                    lambda size, u=user, out=gone: retriever.top(u, size, out),
                    lambda items, u=user: model.scorer.score_pairs(u, items),
                )  # fmt: skip
            tops.append(answer[0][:k])
        yield batch, tops, scores


def ranked_lists(
    model: Recommender,
    train: EncodedInteractions,
    users: np.ndarray,
    k: int,
    rules: Rules = NO_RULES,
) -> dict[int, np.ndarray]:
    """Per user index: the top-k item indices of `ranked_batches` (the served lists)."""
    return {
        user: top
        for batch, tops, _ in ranked_batches(model, train, users, k, rules)
        for user, top in zip(batch.tolist(), tops, strict=True)
    }


def evaluate_ranking(
    model: Recommender,
    train: EncodedInteractions,
    test: pd.DataFrame,
    k: int,
    rules: Rules = NO_RULES,
) -> tuple[dict[str, float], float]:
    """RANK metrics of a fitted model on raw test rows; returns (metrics, recommend seconds).

    The lists are `ranked_batches`': the ones the server returns for the same model,
    exclusions and rules; each batch's metrics are taken before the next is scored."""
    user_idx = train.user_map.encode(test["user"].to_numpy())
    item_idx = train.item_map.encode(test["item"].to_numpy())
    known = user_idx >= 0
    order = np.argsort(user_idx[known], kind="stable")
    test_users, test_items = user_idx[known][order], item_idx[known][order]
    users, starts, counts = np.unique(test_users, return_index=True, return_counts=True)
    start = time.perf_counter()
    per_user: list[dict[str, float]] = []
    aucs = []
    shown = np.zeros(train.n_items, bool)
    position = 0
    for _, tops, scores in ranked_batches(model, train, users, k, rules):
        for top, row in zip(tops, scores, strict=True):
            items = test_items[starts[position] : starts[position] + counts[position]]
            position += 1
            top = top[np.isfinite(row[top])]
            shown[top] = True
            relevant = items[items >= 0]
            per_user.append(ranking_metrics(top, set(relevant.tolist()), len(items), k))
            candidates = np.isfinite(row)
            positive = np.zeros(train.n_items, bool)
            positive[relevant] = True
            aucs.append(auc(row[candidates], positive[candidates]))
    recommend_seconds = time.perf_counter() - start
    metrics = pd.DataFrame(per_user).mean().to_dict()
    metrics["auc"] = float(np.nanmean(aucs)) if aucs else float("nan")
    metrics[f"coverage@{k}"] = int(shown.sum()) / max(1, int((train.item_counts() > 0).sum()))
    return metrics, recommend_seconds
