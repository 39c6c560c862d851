"""What serves when no valid bundle is loaded: the store's most popular items."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session, sessionmaker

from app.errors import ServiceUnavailable
from app.serving.deletions import NEVER
from app.serving.records import History, Recommendation, RecommendOptions, ScoredItem, Scores
from app.store.repository import item_popularity, item_titles


class StoreFallback:
    """Popular items from the store for everyone (cold_start true), with the same filters;
    no similar items or scores."""

    name = "popularity-fallback"
    version = None
    cutoff = NEVER  # the store it reads holds no deleted row: no deletion to apply

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        # one query at a time: a request already holds a connection, so unbounded nesting
        # could exhaust the pool under load
        self._lock = threading.Lock()

    def recommend(
        self, user_id: str, history: History, options: RecommendOptions
    ) -> Recommendation:
        excluded = set(options.exclude) | set(options.hidden)
        if options.exclude_seen:
            excluded |= set(history.item_ids)
        wanted = options.offset + options.k
        with self._lock, self.sessions() as session:
            ranked = [
                (i, n)
                for i, n in item_popularity(session, wanted + len(excluded), options.category)
                if i not in excluded
            ][options.offset : wanted]
            titles = item_titles(session, [i for i, _ in ranked])
        items = [ScoredItem(i, float(n), titles.get(i, "")) for i, n in ranked]
        return Recommendation(user_id, self.name, not len(history), items, "popularity")

    def recommend_many(
        self,
        user_ids: Sequence[str],
        histories: Mapping[str, History],
        options: RecommendOptions,
    ) -> list[Recommendation]:
        return [self.recommend(user, histories[user], options) for user in user_ids]

    def inline_for(self, user_id: str | None, history: History | None = None) -> bool:
        """Never: it queries the store, so it always runs off the event loop."""
        return False

    def _unavailable(self) -> ServiceUnavailable:
        return ServiceUnavailable("no model is loaded; train one with `reco train`")

    def similar(self, item_id: str, k: int, **filters: object) -> list[ScoredItem]:
        raise self._unavailable()

    def score(
        self, user_id: str, item_ids: Sequence[str], history: History | None = None
    ) -> Scores:
        raise self._unavailable()
