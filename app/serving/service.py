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

EXPLANATIONS_PER_ITEM = 3
DEFAULT_ANN_THRESHOLD = 200_000


@dataclass(frozen=True)
class HistoryEvent:
    """One stored interaction of the user, as the recommender needs it."""

    item_id: str
    value: float
    kind: str
    created_at: float  # unix seconds when it was stored
    id: int = 0
    source: str = "api"


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

    def __init__(self, bundle: Bundle, ann_threshold: int = DEFAULT_ANN_THRESHOLD) -> None:
        self.bundle = bundle
        self.name = bundle.model_name
        self.version = bundle.version
        self.trained_at = _utc(datetime.fromisoformat(bundle.created_at))
        self.trained_through = bundle.manifest.get("dataset", {}).get("latest_interaction_id")
        embeddings = bundle.scorer.item_embeddings()
        self.unit_items = None if embeddings is None else normalise_rows(embeddings)
        self.popularity = np.log1p(bundle.popularity).astype(np.float32)
        self._categories: dict[str, np.ndarray] = {}
        self.ann = AnnRetrieval.for_bundle(bundle, self.unit_items, ann_threshold)

    def _known_items(self, item_ids: Collection[str]) -> np.ndarray:
        indices = self.bundle.item_map.encode(list(item_ids))
        return indices[indices >= 0]

    def _outside_category(self, category: str) -> np.ndarray:
        """Indices of items not in `category` (cached per category)."""
        if category not in self._categories:
            inside = np.array([category in g.split("|") for g in self.bundle.item_genres], bool)
            self._categories[category] = np.flatnonzero(~inside)
        return self._categories[category]

    def _is_newer(self, event: HistoryEvent) -> bool:
        """Whether the model was trained without this event: by interaction id when it was
        trained from the store, else an API event stored after the bundle was made."""
        if self.trained_through is not None:
            return event.id > self.trained_through
        return event.source == "api" and event.created_at > self.trained_at.timestamp()

    def _user_scores(self, user_id: str, history: Sequence[HistoryEvent]) -> tuple[np.ndarray, str]:
        """Scores of every item and how they were obtained (model, fold_in or popularity)."""
        user = self.bundle.user_map.get(user_id)
        newer = any(self._is_newer(e) for e in history)
        if user >= 0 and not newer:
            return self.bundle.scorer.score_users(np.array([user]))[0], "model"
        events = [(self.bundle.item_map.get(e.item_id), e) for e in history]
        known = [(i, e) for i, e in events if i >= 0]
        if known:
            items = np.array([i for i, _ in known])
            values = np.array([e.value for _, e in known], np.float32)
            is_rating = np.array([e.kind == "rating" for _, e in known])
            scores = fold_in_scores(self.bundle.scorer, items, values, is_rating)
            if scores is not None:
                return scores, "fold_in"
        if user >= 0:
            return self.bundle.scorer.score_users(np.array([user]))[0], "model"
        return self.popularity, "popularity"

    def recommend(
        self, user_id: str, history: Sequence[HistoryEvent], options: RecommendOptions
    ) -> Recommendation:
        """The page of top items for a user after filters; popular items for a user with no
        interactions at all (cold start), fold-in for users the model has not seen."""
        return self.recommend_many([user_id], {user_id: history}, options)[0]

    def recommend_many(
        self,
        user_ids: Sequence[str],
        histories: Mapping[str, Sequence[HistoryEvent]],
        options: RecommendOptions,
    ) -> list[Recommendation]:
        """Recommendations for many users: the model rows of every user who needs no fold-in
        are scored with one matrix product."""
        rows = {
            u: self.bundle.user_map.get(u)
            for u in user_ids
            if self.bundle.user_map.get(u) >= 0 and not any(map(self._is_newer, histories[u]))
        }
        if self.ann is not None:
            rows = {}  # retrieval below goes through the ANN index per user instead
        batch = self.bundle.scorer.score_users(np.array(list(rows.values()), dtype=np.int64))
        batch_row = {user: n for n, user in enumerate(rows)}
        shared = [self._known_items(options.exclude), self._known_items(options.hidden)]
        if options.category:
            shared.append(self._outside_category(options.category))
        results = []
        for user in user_ids:
            history = histories[user]
            seen = self._known_items({e.item_id for e in history})
            excluded = np.concatenate([*shared, seen] if options.exclude_seen else shared)
            wanted = options.offset + options.k
            known = self.bundle.user_map.get(user)
            if self.ann is not None and known >= 0 and not any(map(self._is_newer, history)):
                (indices, values), strategy = self.ann.user_top(known, wanted, excluded), "model"
            else:
                if user in batch_row:
                    scores, strategy = batch[batch_row[user]], "model"
                else:
                    scores, strategy = self._user_scores(user, history)
                indices, values = top_k(scores, wanted, excluded)
            indices, values = indices[options.offset :], values[options.offset :]
            reasons = self._explain(indices, seen) if options.explain else [None] * len(indices)
            items = [
                ScoredItem(
                    self.bundle.item_map.ids[i],
                    round(float(s), 6),
                    self.bundle.item_titles[i],
                    because,
                )
                for i, s, because in zip(indices.tolist(), values.tolist(), reasons, strict=True)
            ]
            results.append(Recommendation(user, self.name, not history, items, strategy))
        return results

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
