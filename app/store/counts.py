"""The store's row counts for /ready, counted at most once a minute per worker: counting a
table of tens of millions of rows takes seconds, and a load balancer asks every second."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from app.store.log_reads import newest_interaction_id
from app.store.repository import store_stats

MAX_AGE = 60.0  # seconds a count is reused


class StoreCounts:
    """Row counts by `store_stats`, reused for `max_age` seconds; every call still makes one
    primary-key query, so a store that stopped answering is noticed at once."""

    def __init__(self, max_age: float = MAX_AGE) -> None:
        self.max_age = max_age
        self._counted: tuple[float, dict[str, int]] | None = None
        self._lock = threading.Lock()  # one count at a time

    def get(self, session: Session) -> dict[str, int]:
        newest_interaction_id(session)  # raises if the store does not answer
        with self._lock:
            if self._counted is None or time.monotonic() - self._counted[0] > self.max_age:
                self._counted = (time.monotonic(), store_stats(session))
            return self._counted[1]
