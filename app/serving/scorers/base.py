"""The scorer contract: scoring by user index, fold-in of a new history, the kind registry.

A bundle's manifest names its scorer kind; `build_scorer` turns the kind, arrays and params
into a scorer. Used by the serving process and by offline evaluation alike; numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np


class ScorerError(ValueError):
    """Arrays or params that do not fit the scorer kind."""


class FoldInUnsupported(ScorerError):
    """The model family cannot compute a user's scores from a history it was not trained on."""


# which items to score: an index array, or ALL_ITEMS (a view of every row, no table copy)
ItemSelection = np.ndarray | slice
ALL_ITEMS = slice(None)


class Scorer:
    """Scores items for users by index; subclasses implement one model kind."""

    kind: ClassVar[str]

    def __init__(self, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> None:
        self.arrays = dict(arrays)
        self.params = dict(params)
        self._cache: dict[str, Any] = {}

    @property
    def n_items(self) -> int:
        raise NotImplementedError

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for each user index, shape (len(users), n_items), float32."""
        raise NotImplementedError

    def score_pairs(self, user: int, items: np.ndarray) -> np.ndarray:
        """Scores of the given item indices for one user index."""
        return self.score_users(np.array([user]))[0, items]

    def item_embeddings(self) -> np.ndarray | None:
        """Item vectors for item-to-item similarity, or None if the kind has none."""
        return None

    def fold_in(self, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray) -> np.ndarray:
        """Scores of every item (float32, n_items) for a user whose history is `items` (this
        model's indices, oldest first), `values` and `is_rating` (a rating, else an implicit
        event), solving the objective the family was trained with. Families override this;
        the base, like implicit's `recalculate_user`, says it is not supported."""
        raise FoldInUnsupported(f"{self.kind} models cannot fold in a new history")

    def fold_in_disliking(
        self, items: np.ndarray, values: np.ndarray, is_rating: np.ndarray, disliked: np.ndarray
    ) -> np.ndarray:
        """`fold_in`, told also the items the user disliked (this model's indices): a family
        whose objective can hold an explicit negative uses them (als); the others give them
        no weight, as here."""
        return self.fold_in(items, values, is_rating)

    def predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Rating-scale predictions for (user, item) index pairs, -1 meaning unknown: an
        unknown side contributes nothing beyond the model's baseline."""
        raise ScorerError(f"{self.kind} models do not predict ratings")

    def cached(self, name: str, build: Callable[[], Any]) -> Any:
        """A value derived from the model's arrays (fold-in's Gram matrix...), built once."""
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    def _require(self, *names: str) -> list[np.ndarray]:
        missing = [n for n in names if n not in self.arrays]
        if missing:
            raise ScorerError(f"{self.kind} scorer needs arrays {missing}")
        return [self.arrays[n] for n in names]

    def _checked_items(self, items: np.ndarray) -> np.ndarray:
        """`items` as int64, or ScorerError naming the valid range."""
        items = np.asarray(items, np.int64)
        if len(items) and (items.min() < 0 or items.max() >= self.n_items):
            raise ScorerError(f"item indices must lie in 0..{self.n_items - 1}")
        return items


NOTHING = np.empty(0, np.int64)
# a disliked item is one label-0 row (pointwise) or one pair against each positive, weighing
# 1 / positives (pairwise), per epoch, as training adds them (training/models/_sampled.py)
DISLIKE_WEIGHT = 1.0


def positive_items(
    items: np.ndarray, values: np.ndarray, is_rating: np.ndarray, threshold: float | None
) -> np.ndarray:
    """The distinct items of a history (oldest first) that count as positives, in order of
    their first occurrence, as training counts them (it keeps a pair's first row): every
    implicit event, and ratings >= `threshold` when one is set. FoldInUnsupported when none
    is left."""
    keep = np.ones(len(items), bool)
    if threshold is not None:
        keep = ~np.asarray(is_rating, bool) | (np.asarray(values) >= threshold)
    kept = np.asarray(items, np.int64)[keep]
    if not len(kept):
        raise FoldInUnsupported("the history holds no positive interaction to fold in")
    _, first = np.unique(kept, return_index=True)
    return kept[np.sort(first)]


def fold_in_param(scorer: Scorer, name: str) -> float:
    """A hyperparameter that the bundle must record for fold-in; FoldInUnsupported naming it
    when it does not (a bundle exported before fold-in recorded it)."""
    if name not in scorer.params:
        raise FoldInUnsupported(f"this {scorer.kind} bundle records no {name!r} for fold-in")
    return float(scorer.params[name])


def threshold_param(scorer: Scorer) -> float | None:
    """The rating threshold training used for positives, if any."""
    value = scorer.params.get("rating_threshold")
    return None if value is None else float(value)


def pointwise_targets(
    scorer: Scorer, history: np.ndarray, disliked: np.ndarray = NOTHING
) -> tuple[np.ndarray, np.ndarray, float]:
    """(labels, weights, ridge) of one user's share of a pointwise sampled loss: label 1 on
    the history (recency-weighted), label 0 on `negatives` sampled items per positive, taken
    in expectation over the other items and weighing what their positive weighs, plus one
    label-0 row of `DISLIKE_WEIGHT` per disliked item, as training adds; per-row L2 `l2`
    over all the user's rows (the ridge on their parameters)."""
    l2, negatives = fold_in_param(scorer, "l2"), fold_in_param(scorer, "negatives")
    n, n_items = len(history), scorer.n_items
    labels = np.zeros(n_items)
    labels[history] = 1.0
    positive = recency_weights(n, scorer.params)
    weights = np.full(n_items, negatives * positive.sum() / max(n_items - n, 1))
    weights[history] = positive
    disliked = explicit_negatives(history, disliked)
    weights[disliked] += DISLIKE_WEIGHT
    return labels, weights, 2.0 * l2 * (n * (1.0 + negatives) + len(disliked))


def explicit_negatives(history: np.ndarray, disliked: np.ndarray) -> np.ndarray:
    """The distinct disliked items that are not positives of the history (training drops a
    pair's rows once it is disliked, so such an item is a positive only if liked again)."""
    return np.setdiff1d(np.asarray(disliked, np.int64), history)


def recency_weights(count: int, params: Mapping[str, Any]) -> np.ndarray:
    """Loss weights of `count` positives, oldest first, as the sampled models weighed them in
    training: `recency_floor` + exp(-r / `recency`), r = how many positives are newer; all
    ones without recency. Divided, as in training, by `recency_mean`: their mean over the
    training positives."""
    recency = float(params.get("recency") or 0.0)
    if recency <= 0:
        return np.ones(count)
    newer = np.arange(count)[::-1]
    raw = float(params.get("recency_floor", 0.0)) + np.exp(-newer / recency)
    return raw / float(params.get("recency_mean", 1.0))


def rating_history(
    items: np.ndarray, values: np.ndarray, is_rating: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(items, ratings) of a history's rating events, one per item (the latest rating of an
    item replaces earlier ones): rating models train and fold in on ratings only, so a history
    without a rating raises FoldInUnsupported."""
    rated = np.flatnonzero(np.asarray(is_rating, bool))
    if not len(rated):
        raise FoldInUnsupported("rating models fold in ratings only; this history has none")
    reversed_items = np.asarray(items, np.int64)[rated][::-1]
    distinct, last = np.unique(reversed_items, return_index=True)
    return distinct, np.asarray(values, np.float64)[rated][::-1][last]


SCORERS: dict[str, type[Scorer]] = {}


def register_scorer(cls: type[Scorer]) -> type[Scorer]:
    """Class decorator: make a scorer kind available to `build_scorer` by its `kind`."""
    SCORERS[cls.kind] = cls
    return cls


def build_scorer(kind: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> Scorer:
    """The scorer for `kind`; ScorerError if the kind is unknown or the arrays do not fit."""
    try:
        cls = SCORERS[kind]
    except KeyError:
        raise ScorerError(f"unknown scorer kind {kind!r}; known: {sorted(SCORERS)}") from None
    return cls(arrays, params)
