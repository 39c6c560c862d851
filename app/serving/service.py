"""What the recommendation routes do, on one loaded bundle: numpy only, no TensorFlow."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from app.errors import ApiError, NotFound
from app.serving.bundle import Bundle
from app.serving.foldin import fold_in_scores
from app.serving.index import normalise_rows, top_k
from app.serving.retrieval import AnnRetrieval
from app.serving.scorers import NCFScorer

EXPLANATIONS_PER_ITEM = 3
# catalogs up to this size are scored on the event loop: well under a millisecond of numpy
INLINE_MAX_ITEMS = 20_000


@dataclass(frozen=True)
class ServingOptions:
    """How bundles are served (RECO_ANN_THRESHOLD, RECO_RANKING_CANDIDATES)."""

    ann_threshold: int = 200_000  # catalogs this large retrieve through an ANN index
    ranking_candidates: int = 1000  # items a dense-head model ranks after retrieval


@dataclass(frozen=True)
class History:
    """A user's stored interactions as columns, as the recommender needs them. Items are
    codes into `item_names`, a list shared by every history of one store view that only ever
    grows, so a model can translate codes to its own indices once per item, not per request."""

    item_codes: np.ndarray  # int32, into item_names
    item_names: Sequence[str]
    values: np.ndarray  # float32
    is_rating: np.ndarray  # bool: a rating (else a click, play... which counts as positive)
    ids: np.ndarray  # int64 store ids
    created_at: np.ndarray  # float64 unix seconds when stored
    from_api: np.ndarray  # bool: posted to the API (not imported)

    def __len__(self) -> int:
        return len(self.item_codes)

    @property
    def item_ids(self) -> list[str]:
        return [self.item_names[code] for code in self.item_codes.tolist()]

    @classmethod
    def empty(cls) -> History:
        types = (np.int32, np.float32, bool, np.int64, np.float64, bool)
        codes, *columns = (np.empty(0, t) for t in types)
        return cls(codes, [], *columns)


@dataclass(frozen=True)
class Because:
    item_id: str
    title: str
    similarity: float


@dataclass(frozen=True)
class ScoredItem:
    item_id: str
    score: float
    title: str
    because: list[Because] | None = None


@dataclass(frozen=True)
class Recommendation:
    user_id: str
    model: str
    cold_start: bool
    items: list[ScoredItem]
    strategy: str = "model"  # model | fold_in | popularity


@dataclass(frozen=True)
class RecommendOptions:
    """Filters and paging of one /recommend request."""

    k: int = 10
    offset: int = 0
    exclude: Collection[str] = ()
    category: str | None = None
    exclude_seen: bool = True
    explain: bool = False
    hidden: Collection[str] = field(default_factory=frozenset)


class NoEmbeddings(ApiError):
    status_code = 409
    code = "not_supported"


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ModelService:
    """Recommendations, similar items and scores from a verified bundle."""

    def __init__(self, bundle: Bundle, options: ServingOptions = ServingOptions()) -> None:
        self.bundle = bundle
        self.name = bundle.model_name
        self.version = bundle.version
        self.trained_at = _utc(datetime.fromisoformat(bundle.created_at))
        self.trained_through = bundle.manifest.get("dataset", {}).get("latest_interaction_id")
        embeddings = bundle.scorer.item_embeddings()
        self.unit_items = None if embeddings is None else normalise_rows(embeddings)
        self.popularity = np.log1p(bundle.popularity).astype(np.float32)
        self._categories: dict[str, np.ndarray] = {}
        self.ann = AnnRetrieval.for_bundle(bundle, self.unit_items, options.ann_threshold)
        # retrieval -> ranking for dense-head models whose catalog exceeds the candidate count
        self.candidates = options.ranking_candidates
        self.two_stage = isinstance(bundle.scorer, NCFScorer) and (
            bundle.scorer.n_items > self.candidates
        )
        self.inline = self.ann is None and bundle.scorer.n_items <= INLINE_MAX_ITEMS
        # (item names of a store view, their indices in this bundle): see History
        self._code_table: tuple[Sequence[str], np.ndarray] = ([], np.empty(0, np.int32))

    def _known_items(self, item_ids: Collection[str]) -> np.ndarray:
        indices = self.bundle.item_map.encode(list(item_ids))
        return indices[indices >= 0]

    def _history_items(self, history: History) -> np.ndarray:
        """This bundle's indices (-1 where unknown) of the history's items, translated by a
        table that grows with the view's item list instead of per request."""
        names, indices = self._code_table
        if names is not history.item_names:  # another view: start a table for it
            names, indices = history.item_names, np.empty(0, np.int32)
        if len(indices) < len(names):  # the view learned new items since
            indices = np.concatenate([indices, self.bundle.item_map.encode(names[len(indices) :])])
            self._code_table = (names, indices)
        return indices[history.item_codes]

    def _outside_category(self, category: str) -> np.ndarray:
        """Indices of items not in `category` (cached per category)."""
        if category not in self._categories:
            inside = np.array([category in g.split("|") for g in self.bundle.item_genres], bool)
            self._categories[category] = np.flatnonzero(~inside)
        return self._categories[category]

    def _has_newer(self, history: History) -> bool:
        """Whether the model was trained without some of these events: by interaction id when
        it was trained from the store, else API events stored after the bundle was made."""
        if self.trained_through is not None:
            return bool((history.ids > self.trained_through).any())
        newer = history.from_api & (history.created_at > self.trained_at.timestamp())
        return bool(newer.any())

    def _user_scores(self, user_id: str, history: History) -> tuple[np.ndarray, str]:
        """Scores of every item, and how they were obtained (fold_in, model or popularity), for
        a user whose model row is missing or older than their history."""
        user = self.bundle.user_map.get(user_id)
        items = self._history_items(history)
        known = items >= 0
        if known.any():
            scores = fold_in_scores(
                self.bundle.scorer, items[known], history.values[known], history.is_rating[known]
            )
            if scores is not None:
                return scores, "fold_in"
        if user >= 0:
            return self.bundle.scorer.score_users(np.array([user]))[0], "model"
        return self.popularity, "popularity"

    def recommend(
        self, user_id: str, history: History, options: RecommendOptions
    ) -> Recommendation:
        """The page of top items for a user after filters; popular items for a user with no
        interactions at all (cold start), fold-in for users the model has not seen."""
        return self.recommend_many([user_id], {user_id: history}, options)[0]

    def recommend_many(
        self,
        user_ids: Sequence[str],
        histories: Mapping[str, History],
        options: RecommendOptions,
    ) -> list[Recommendation]:
        """Recommendations for many users: the model rows of every user who needs no fold-in
        are scored with one matrix product."""
        up_to_date = {
            u: known
            for u in user_ids
            if (known := self.bundle.user_map.get(u)) >= 0 and not self._has_newer(histories[u])
        }
        # with an ANN index or two stages, retrieval below goes per user instead
        rows = up_to_date if self.ann is None and not self.two_stage else {}
        batch = self.bundle.scorer.score_users(np.array(list(rows.values()), dtype=np.int64))
        batch_row = {user: n for n, user in enumerate(rows)}
        shared = [self._known_items(options.exclude), self._known_items(options.hidden)]
        if options.category:
            shared.append(self._outside_category(options.category))
        results = []
        for user in user_ids:
            history = histories[user]
            seen = self._history_items(history)
            seen = seen[seen >= 0]  # repeats are harmless to exclusion; explain dedupes
            excluded = np.concatenate([*shared, seen] if options.exclude_seen else shared)
            wanted = options.offset + options.k
            if self.ann is not None and user in up_to_date:
                indices, values = self.ann.user_top(up_to_date[user], wanted, excluded)
                strategy = "model"
            elif self.two_stage and user in up_to_date:
                indices, values = self._retrieve_and_rank(up_to_date[user], wanted, excluded)
                strategy = "model"
            else:
                if user in batch_row:
                    scores, strategy = batch[batch_row[user]], "model"
                else:
                    scores, strategy = self._user_scores(user, history)
                indices, values = top_k(scores, wanted, excluded)
            indices, values = indices[options.offset :], values[options.offset :]
            if options.explain:
                reasons = self._explain(indices, np.unique(seen))
            else:
                reasons = [None] * len(indices)
            items = [
                ScoredItem(
                    self.bundle.item_map.ids[i],
                    round(float(s), 6),
                    self.bundle.item_titles[i],
                    because,
                )
                for i, s, because in zip(indices.tolist(), values.tolist(), reasons, strict=True)
            ]
            results.append(Recommendation(user, self.name, not len(history), items, strategy))
        return results

    def _retrieve_and_rank(
        self, user: int, k: int, excluded: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Two stages: the model's cheap dot-product part proposes `candidates` items, the
        full model (its dense layers) ranks only those."""
        scorer = self.bundle.scorer
        assert isinstance(scorer, NCFScorer)
        proposed, _ = top_k(scorer.retrieval_scores(user), self.candidates, excluded)
        order, values = top_k(scorer.score_pairs(user, proposed), k)
        return proposed[order], values

    def _explain(self, indices: np.ndarray, history: np.ndarray) -> list[list[Because] | None]:
        """Per recommended item, the history items nearest to it in embedding space."""
        if self.unit_items is None or len(history) == 0:
            return [[] for _ in indices]
        similarity = self.unit_items[indices] @ self.unit_items[history].T
        reasons = []
        for row in similarity:
            best = np.argsort(-row, kind="stable")[:EXPLANATIONS_PER_ITEM]
            reasons.append(
                [
                    Because(
                        self.bundle.item_map.ids[history[j]],
                        self.bundle.item_titles[history[j]],
                        round(float(row[j]), 6),
                    )
                    for j in best
                ]
            )
        return reasons

    def similar(
        self,
        item_id: str,
        k: int,
        *,
        offset: int = 0,
        exclude: Collection[str] = (),
        category: str | None = None,
        hidden: Collection[str] = (),
    ) -> list[ScoredItem]:
        """The items nearest by cosine similarity of embeddings, never the item itself."""
        item = self.bundle.item_map.get(item_id)
        if item < 0:
            raise NotFound(f"unknown item {item_id!r}")
        if self.unit_items is None:
            raise NoEmbeddings(f"model {self.name!r} has no item embeddings")
        excluded = [np.array([item]), self._known_items(exclude), self._known_items(hidden)]
        if category:
            excluded.append(self._outside_category(category))
        if self.ann is not None:
            indices, values = self.ann.similar_top(item, offset + k, np.concatenate(excluded))
        else:
            similarities = self.unit_items @ self.unit_items[item]
            indices, values = top_k(similarities, offset + k, np.concatenate(excluded))
        ids = self.bundle.item_map.ids
        return [
            ScoredItem(ids[i], round(float(s), 6), self.bundle.item_titles[i])
            for i, s in zip(indices[offset:].tolist(), values[offset:].tolist(), strict=True)
        ]

    def score(self, user_id: str, item_ids: Sequence[str]) -> tuple[bool, list[float]]:
        """(cold_start, scores in the order asked); unknown items are a 404 naming them.

        A user the model does not know is scored by the item-only baseline (popularity).
        """
        indices = self.bundle.item_map.encode(list(item_ids))
        unknown = [item for item, i in zip(item_ids, indices, strict=True) if i < 0]
        if unknown:
            raise NotFound(f"unknown items: {', '.join(map(repr, unknown[:20]))}")
        user = self.bundle.user_map.get(user_id)
        if user < 0:
            return True, [round(float(s), 6) for s in self.popularity[indices]]
        scores = self.bundle.scorer.score_pairs(user, indices)
        return False, [round(float(s), 6) for s in scores]
