"""Candidate retrieval as one protocol (tensorflow/recommenders' `TopK`, with `BruteForce` and
`ScaNN` behind it, is the model): `top(query, k, excluded) -> (indices, scores)`.

A query is a row index of the model: a user for recommendations, an item for similar items.
Every implementation returns the k best items that are not excluded, best first, by the one
tie rule of `app.serving.index.top_k` (higher score first, ties by the lower index), and
never fewer than k while k items are eligible:

- `ExactRetriever` scores every item and takes the top k (brute force).
- `IvfRetriever` asks an IVF index for k + |excluded| + 1 neighbours, re-scores them with the
  model's own scores, and scans the eligible items exactly whenever the index comes back
  short (a restrictive filter, lists that ran out) or cut a tie at its boundary.
- `TwoStageRetriever` lets a cheap retriever propose max(candidates, k) items and ranks only
  those by the full model (dense-head models over large catalogs).

tests/app/test_retrieval.py checks all three against a numpy argsort reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from app.serving.index import top_k, top_k_rows

if TYPE_CHECKING:
    from app.serving.ann import IvfIndex

Result = tuple[np.ndarray, np.ndarray]
ScoreAll = Callable[[int], np.ndarray]  # query -> a score for every item
ScoreMany = Callable[[np.ndarray], np.ndarray]  # queries -> (len(queries), n_items) scores
ScoreSome = Callable[[int, np.ndarray], np.ndarray]  # query, item indices -> their scores
QUERY_CHUNK_VALUES = 1 << 22  # scores held at once when many queries are scored together


class Retriever(Protocol):
    """The k best items for a query (see the module docstring)."""

    n_items: int

    def top(self, query: int, k: int, excluded: np.ndarray) -> Result: ...

    def top_many(
        self, queries: np.ndarray, k: int, excluded: Sequence[np.ndarray]
    ) -> list[Result]: ...


def _empty() -> Result:
    return np.empty(0, np.int64), np.empty(0, np.float32)


def ranked_subset(items: np.ndarray, scores: np.ndarray, k: int) -> Result:
    """The k best of `items` by `scores` under top_k's tie rule (a higher score first, equal
    scores by the lower item index, NaN as -inf), by one sort: for the tens to hundreds of
    candidates a retrieval proposes, a fifth of the numpy calls of top_k's partition."""
    ranked = np.asarray(scores, np.float32)
    ranked = np.where(np.isnan(ranked), np.float32(-np.inf), ranked)
    order = np.lexsort((items, -ranked))[: max(k, 0)]
    return np.asarray(items, np.int64)[order], ranked[order]


SMALL_SET = 4096  # exclusions up to this size are a Python set: numpy's calls cost more


def _distinct(excluded: np.ndarray) -> set[int] | np.ndarray:
    """The distinct excluded items: a set when few (a user's history, a few hidden items),
    a sorted array when many (a category filter)."""
    if len(excluded) <= SMALL_SET:
        return set(excluded.tolist())
    return np.unique(excluded)


def _member(items: np.ndarray, out: set[int] | np.ndarray) -> np.ndarray:
    """Per item, whether it is in `out` (as `_distinct` gives it)."""
    if isinstance(out, set):
        return np.fromiter(map(out.__contains__, items.tolist()), bool, len(items))
    return np.isin(items, out, assume_unique=True)


class _OneByOne:
    """`top_many` as a loop over `top`, for retrievers that answer one query at a time."""

    def top(self, query: int, k: int, excluded: np.ndarray) -> Result:
        raise NotImplementedError

    def top_many(self, queries: np.ndarray, k: int, excluded: Sequence[np.ndarray]) -> list[Result]:
        return [self.top(int(q), k, out) for q, out in zip(queries, excluded, strict=True)]


class ExactRetriever(_OneByOne):
    """Brute force: score every item, take the top k. `score_many` scores a batch of queries
    with one matrix product (POST /recommend), chunked so that memory stays bounded."""

    def __init__(
        self, n_items: int, score_all: ScoreAll, score_many: ScoreMany | None = None
    ) -> None:
        self.n_items = n_items
        self._score_all = score_all
        self._score_many = score_many

    def top(self, query: int, k: int, excluded: np.ndarray) -> Result:
        return top_k(self._score_all(query), k, excluded)

    def top_many(self, queries: np.ndarray, k: int, excluded: Sequence[np.ndarray]) -> list[Result]:
        if self._score_many is None:
            return super().top_many(queries, k, excluded)
        chunk = max(1, QUERY_CHUNK_VALUES // max(1, self.n_items))
        results: list[Result] = []
        for start in range(0, len(queries), chunk):
            scores = self._score_many(np.asarray(queries[start : start + chunk], np.int64))
            mask = np.zeros(scores.shape, bool)
            for row, out in enumerate(excluded[start : start + len(scores)]):
                mask[row, out] = True
            indices, values = top_k_rows(scores, k, mask)
            found = indices >= 0  # rows with fewer than k eligible items are padded
            results += [(i[f], v[f]) for i, v, f in zip(indices, values, found, strict=True)]
        return results


class IvfRetriever(_OneByOne):
    """Approximate: an IVF index proposes, the model's own scores order, exact when short."""

    # a query that would fetch more than this share of the catalog scans it exactly instead
    EXACT_SHARE = 0.5

    def __init__(
        self,
        index: IvfIndex,
        query_vector: Callable[[int], np.ndarray],
        score_some: ScoreSome,
        score_all: Callable[[int], np.ndarray],
    ) -> None:
        self.n_items = len(index)
        self._index = index
        self._query_vector = query_vector
        self._score_some = score_some
        self._score_all = score_all
        self.exact_scans = 0  # queries answered by the exact fallback (tests, diagnostics)

    def top(self, query: int, k: int, excluded: np.ndarray) -> Result:
        out = _distinct(excluded)
        # one neighbour beyond k + |excluded|: only a real tie with it sends us to the scan
        fetch = min(k + len(out) + 1, self.n_items)
        if k <= 0 or fetch <= 0:
            return _empty()
        if fetch > self.EXACT_SHARE * self.n_items:
            return self._exact(query, k, excluded)
        indices, _ = self._index.query(self._query_vector(query), fetch)
        if len(indices) == 0:
            return self._exact(query, k, excluded)
        scores = self._score_some(query, indices)
        keep = ~_member(indices, out)
        chosen, values = ranked_subset(indices[keep], scores[keep], k)
        short = len(chosen) < min(k, self.n_items - len(out))
        # the index stopped at `fetch` neighbours: one it left out may tie with the k-th
        cut_tie = bool(
            len(indices) == fetch < self.n_items and len(values) and scores.min() >= values[-1]
        )
        if short or cut_tie:
            return self._exact(query, k, excluded)
        return chosen, values

    def _exact(self, query: int, k: int, excluded: np.ndarray) -> Result:
        """An exact scan: every item scored as the exact route does, the excluded masked."""
        self.exact_scans += 1
        return top_k(self._score_all(query), k, excluded)


class TwoStageRetriever(_OneByOne):
    """Retrieval -> ranking: `propose` nominates max(candidates, k) eligible items, the full
    model (`rank`) orders only those."""

    def __init__(self, propose: Retriever, rank: ScoreSome, candidates: int) -> None:
        self.n_items = propose.n_items
        self._propose = propose
        self._rank = rank
        self.candidates = candidates

    def top(self, query: int, k: int, excluded: np.ndarray) -> Result:
        proposed, _ = self._propose.top(query, max(self.candidates, k), excluded)
        if len(proposed) == 0:
            return _empty()
        return ranked_subset(proposed, self._rank(query, proposed), k)
