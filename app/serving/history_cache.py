"""Recently used users' histories, bounded by the events they hold in all (least recently
used first out), so a worker's memory does not grow with the store's size."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from app.serving.records import History

# what an entry costs besides its events, in events: its arrays' headers (about 1 KB)
ENTRY_COST = 32


class HistoryCache:
    """User id -> `History`, at most `capacity` events (plus `ENTRY_COST` each) in all.
    Unknown users are kept too, as empty histories, so a cold user costs one store read."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.events = 0  # what the entries cost, as counted against `capacity`
        self._entries: OrderedDict[str, History] = OrderedDict()
        self._lock = threading.Lock()  # the event loop reads while pool threads put

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, user_id: str) -> bool:
        return user_id in self._entries

    def get(self, user_id: str) -> History | None:
        """The user's history if held, now the most recently used."""
        with self._lock:
            history = self._entries.get(user_id)
            if history is not None:
                self._entries.move_to_end(user_id)
            return history

    def put(self, user_id: str, history: History) -> None:
        """Hold (or replace) a history, evicting the least recently used beyond capacity;
        the newest entry stays even if it alone exceeds it."""
        with self._lock:
            old = self._entries.pop(user_id, None)
            if old is not None:
                self.events -= len(old) + ENTRY_COST
            self._entries[user_id] = history
            self.events += len(history) + ENTRY_COST
            while self.events > self.capacity and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                self.events -= len(evicted) + ENTRY_COST

    def drop(self, user_ids: Iterable[str]) -> None:
        with self._lock:
            for user_id in user_ids:
                old = self._entries.pop(user_id, None)
                if old is not None:
                    self.events -= len(old) + ENTRY_COST

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.events = 0

    def holders(self, item_code: int) -> list[str]:
        """The held users whose history has the item of `item_code`."""
        with self._lock:
            entries = list(self._entries.items())
        return [user for user, history in entries if (history.item_codes == item_code).any()]
