"""What serves when no valid bundle is loaded: the store's most popular items."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from app.errors import ServiceUnavailable
from app.serving.deletions import NEVER
from app.serving.records import History, Recommendation, RecommendOptions, ScoredItem, Scores
from app.store.repository import item_popularity, item_titles

RANKING_MAX_AGE = 30.0  # seconds a popularity ranking is reused (a GROUP BY over the log)


@dataclass(frozen=True)
class _Ranking:
    """A category's most popular items (id, count, title), best first, as read at `read_at`
    with the view's exclusions at `hidden_version`; `whole` if no more items exist."""

    items: list[tuple[str, int, str]]
    hidden_version: int | None
    read_at: float
    whole: bool


class StoreFallback:
    """Popular items from the store for everyone (cold_start true), with the same filters;
    no similar items or scores. A ranking is read once per category and reused for
    `RANKING_MAX_AGE` seconds, or until an item is hidden or deleted."""

    name = "popularity-fallback"
    version = None
    cutoff = NEVER  # the store it reads holds no deleted row: no deletion to apply

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._rankings: dict[str | None, _Ranking] = {}
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
        ranking = self._ranking(options.category, wanted + len(excluded), options.hidden_version)
        ranked = [entry for entry in ranking if entry[0] not in excluded][options.offset : wanted]
        items = [ScoredItem(item, float(count), title) for item, count, title in ranked]
        return Recommendation(user_id, self.name, not len(history), items, "popularity")

    def _ranking(
        self, category: str | None, needed: int, hidden_version: int | None
    ) -> list[tuple[str, int, str]]:
        """At least `needed` of the category's most popular items (fewer if fewer exist)."""
        with self._lock:
            held = self._rankings.get(category)
            if (
                held is not None
                and held.hidden_version == hidden_version
                and time.monotonic() - held.read_at < RANKING_MAX_AGE
                and (held.whole or len(held.items) >= needed)
            ):
                return held.items
            limit = max(needed, 100)
            with self.sessions() as session:
                counts = item_popularity(session, limit, category)
                titles = item_titles(session, [item for item, _ in counts])
            items = [(item, count, titles.get(item, "")) for item, count in counts]
            whole = len(items) < limit
            self._rankings[category] = _Ranking(items, hidden_version, time.monotonic(), whole)
            return items

    def recommend_many(
        self,
        user_ids: Sequence[str],
        histories: Mapping[str, History],
        options: RecommendOptions,
    ) -> list[Recommendation]:
        return [self.recommend(user, histories[user], options) for user in user_ids]

    def folds_in(self, user_id: str, history: History) -> bool:
        """Never: popularity reads no history."""
        return False

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
