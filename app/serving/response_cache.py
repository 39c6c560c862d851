"""Rendered /recommend answers, reused until the user's history, the hidden items or the
model change: a repeat request then costs a dictionary lookup instead of scoring the catalog.

Entries are keyed by the model version and every request parameter, and carry a stamp (the
number of interactions the store view holds for the user, the hidden-items version); a
lookup whose stamp differs is a miss, so an answer is never served after what it depends on
changed. Least recently used entries go first once `max_entries` are held. Used from the
event loop only, so it needs no lock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedAnswer:
    """A rendered answer and what the serving counters need to know about it."""

    body: bytes
    strategy: str
    cold_start: bool


class ResponseCache:
    """A bounded LRU map from request key to (stamp, answer); `max_entries` 0 turns it off."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[Hashable, CachedAnswer]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, stamp: Hashable) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != stamp:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, stamp: Hashable, answer: CachedAnswer) -> None:
        if self.max_entries <= 0:
            return
        self._entries[key] = (stamp, answer)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
