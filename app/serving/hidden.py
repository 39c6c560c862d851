"""The set of hidden items, cached briefly so /recommend does not query it on every request."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from app.store.repository import hidden_item_ids

TTL_SECONDS = 1.0


class HiddenItems:
    """Hidden item ids from the store; refreshed after TTL_SECONDS, or at once after a change
    made through this process (other worker processes see it within TTL_SECONDS)."""

    def __init__(self) -> None:
        self._ids: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, session: Session) -> frozenset[str]:
        """The hidden ids, read through the request's own session when stale (never a second
        connection per request: that could exhaust the pool under load)."""
        if time.monotonic() - self._read_at > TTL_SECONDS:
            with self._lock:
                self._ids = frozenset(hidden_item_ids(session))
                self._read_at = time.monotonic()
        return self._ids

    def invalidate(self) -> None:
        self._read_at = float("-inf")
