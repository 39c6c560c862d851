"""What the recommendation routes ask of one loaded bundle, as thin orchestration: the plan
(plan.py) retrieves, the user policy (users.py) decides between trained rows, fold-in and
popularity, the exclusions (masks.py) say what may not be returned. Numpy only."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from app.config import Settings
from app.errors import ApiError, NotFound
from app.serving.bundle import Bundle
from app.serving.costs import Costs
from app.serving.explain import explain
from app.serving.index import top_k
from app.serving.masks import Exclusions
from app.serving.plan import plan_for
from app.serving.records import (
    History,
    Recommendation,
    RecommendOptions,
    ScoredItem,
    Scores,
)
from app.serving.retrieval import Result
from app.serving.rules import RuleEngine, Rules
from app.serving.users import UserScoring

FOLD_IN_PROBE = 20  # history length of the stand-in fold-in measured at load


class NoEmbeddings(ApiError):
    status_code = 409
    code = "not_supported"


class ModelService:
    """Recommendations, similar items and scores from a verified bundle."""

    def __init__(self, bundle: Bundle, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.bundle = bundle
        self.name = bundle.model_name
        self.version: str | None = bundle.version
        self.popularity = np.log1p(bundle.popularity).astype(np.float32)
        self.plan = plan_for(bundle, settings)
        self.user_scoring = UserScoring(bundle, self.popularity, settings.negative_kinds)
        self.cutoff = self.user_scoring.cutoff  # which deletions apply to this bundle
        self.rules = RuleEngine(bundle.item_map, bundle.item_genres, settings.rules_head)
        self.exclusions = Exclusions(
            bundle.item_map, bundle.item_genres, settings.category_cache_size
        )
        self.explanations_per_item = settings.explanations_per_item
        self.costs = Costs(settings.inline_max_ms / 1000)
        self._measure()

    def _measure(self) -> None:
        """Time one request's work of each kind (see costs.py) on this model's data."""
        none = np.empty(0, np.int64)
        if len(self.bundle.user_map):
            self.costs.record("user", lambda: self.plan.users.top(0, 10, none))
        n = min(FOLD_IN_PROBE, self.bundle.scorer.n_items)
        if n:  # half top ratings, half clicks: every family that folds in accepts some
            items, is_rating = np.arange(n), np.arange(n) % 2 == 0
            values = np.where(is_rating, 5.0, 1.0).astype(np.float32)
            probe = self.bundle.scorer.fold_in
            self.costs.record("fold_in", lambda: top_k(probe(items, values, is_rating), 10))
        similar = self.plan.items
        if similar is not None:
            self.costs.record("similar", lambda: similar.top(0, 10, none))

    def folds_in(self, user_id: str, history: History) -> bool:
        """Whether answering the user reads their history's fold-in columns."""
        return self.user_scoring.needs_fold_in(user_id, history)

    def inline_for(self, user_id: str | None, history: History | None = None) -> bool:
        """Whether answering this user (None: a similar-items query) is cheap enough to run
        on the event loop, by the costs measured at load."""
        if user_id is None:
            return self.costs.inline("similar")
        fold_in = history is not None and self.user_scoring.needs_fold_in(user_id, history)
        return self.costs.inline("fold_in" if fold_in else "user")

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
        """Recommendations for many users; the retriever answers every user with a current
        model row at once (one matrix product for an exact scan)."""
        shared = self.exclusions.shared(
            options.exclude, options.hidden, options.hidden_version, options.category
        )
        seen = {user: self.user_scoring.seen(histories[user]) for user in user_ids}
        excluded = {
            user: np.concatenate(
                [
                    shared,
                    seen[user] if options.exclude_seen else [],
                    self.user_scoring.negatives(histories[user]),
                ]
            ).astype(np.int64)
            for user in user_ids
        }
        wanted = options.offset + options.k
        fetch = self.rules.pool_size(options.rules, wanted)
        rows = {
            user: row
            for user in dict.fromkeys(user_ids)
            if (row := self.user_scoring.current_row(user, histories[user])) is not None
        }
        answers = self.plan.users.top_many(
            np.array(list(rows.values()), np.int64), fetch, [excluded[u] for u in rows]
        )
        found: dict[str, tuple[Result, str]] = {
            user: (answer, "model") for user, answer in zip(rows, answers, strict=True)
        }
        results = []
        for user in user_ids:
            scores = None
            if user not in found:
                scores, strategy = self.user_scoring.scores(user, histories[user])
                found[user] = (top_k(scores, fetch, excluded[user]), strategy)
            (indices, values), strategy = found[user]
            if options.rules.active:
                pool = indices, values
                indices, values = self._ruled(
                    user, rows.get(user), scores, pool, wanted, excluded[user], options.rules
                )
            page = indices[options.offset :], values[options.offset :]
            items = self._items(*page, seen[user] if options.explain else None)
            cold = not len(histories[user])
            results.append(Recommendation(user, self.name, cold, items, strategy, self.version))
        return results

    def _ruled(
        self,
        user: str,
        row: int | None,
        scores: np.ndarray | None,
        pool: Result,
        wanted: int,
        excluded: np.ndarray,
        rules: Rules,
    ) -> Result:
        """The user's first `wanted` items under `rules`, from their `pool` and, for more,
        their model row (the served retriever) or the scores of their fold-in/popularity."""
        if row is not None:
            users, scorer = self.plan.users, self.bundle.scorer
            return self.rules.apply(
                rules, user, wanted, excluded, pool,
                lambda size: users.top(row, size, excluded),
                lambda items: scorer.score_pairs(row, items),
            )  # fmt: skip
        assert scores is not None
        return self.rules.apply(
            rules, user, wanted, excluded, pool,
            lambda size: top_k(scores, size, excluded),
            lambda items: scores[items],
        )  # fmt: skip

    def _items(
        self, indices: np.ndarray, values: np.ndarray, history: np.ndarray | None
    ) -> list[ScoredItem]:
        """Rendered items; with a `history`, each names the history items behind it."""
        ids, titles = self.bundle.item_map.ids, self.bundle.item_titles
        reasons = (
            [None] * len(indices)
            if history is None
            else explain(
                self.plan.unit_items,
                self.bundle.item_map,
                titles,
                indices,
                history,
                self.explanations_per_item,
            )
        )
        scores = np.round(np.asarray(values, np.float64), 6).tolist()  # one call, not one each
        return [
            ScoredItem(ids[i], s, titles[i], because)
            for i, s, because in zip(indices.tolist(), scores, reasons, strict=True)
        ]

    def similar(
        self,
        item_id: str,
        k: int,
        *,
        offset: int = 0,
        exclude: Collection[str] = (),
        category: str | None = None,
        hidden: Collection[str] = (),
        hidden_version: int | None = None,
    ) -> list[ScoredItem]:
        """The items nearest by cosine similarity of embeddings, never the item itself."""
        item = self.bundle.item_map.get(item_id)
        if item < 0:
            raise NotFound(f"unknown item {item_id!r}")
        if self.plan.items is None:
            raise NoEmbeddings(f"model {self.name!r} has no item embeddings")
        shared = self.exclusions.shared(exclude, hidden, hidden_version, category)
        excluded = np.concatenate([shared, [item]])
        indices, values = self.plan.items.top(item, offset + k, excluded)
        return self._items(indices[offset:], values[offset:], None)

    def score(
        self, user_id: str, item_ids: Sequence[str], history: History | None = None
    ) -> Scores:
        """Scores in the order asked, by the same policy as recommend (a user's newer
        interactions are folded in); unknown items are a 404 naming them."""
        indices = self.bundle.item_map.encode(list(item_ids))
        unknown = [item for item, i in zip(item_ids, indices, strict=True) if i < 0]
        if unknown:
            raise NotFound(f"unknown items: {', '.join(map(repr, unknown[:20]))}")
        history = history if history is not None else History.empty()
        scores, strategy = self.user_scoring.pair_scores(user_id, history, indices)
        cold = strategy == "popularity" and not len(history)
        return Scores(cold, [round(float(s), 6) for s in scores], strategy)
