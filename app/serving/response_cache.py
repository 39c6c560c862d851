"""Rendered /recommend answers, reused until the user's history, the hidden items or the
model change: a repeat request then costs a dictionary lookup instead of scoring the catalog.

Entries are keyed by the model version and every request parameter, and carry a stamp (the
number of interactions the store view holds for the user, the hidden-items version); a
lookup whose stamp differs is a miss, so an answer is never served after what it depends on
changed. The cache is bounded by bytes, not entries (a k=1000 answer with explanations is
~300 KB, a k=10 one under 1 KB): least recently used entries go first once the bodies and
a per-entry overhead exceed `max_bytes`. Used from the event loop only, so it needs no lock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

ENTRY_OVERHEAD = 512  # bytes per entry beyond its body: key tuple, stamp, dict slot


@dataclass(frozen=True)
class CachedAnswer:
    """A rendered answer and what the serving counters need to know about it."""

    body: bytes
    strategy: str
    cold_start: bool

    @property
    def size(self) -> int:
        """Bytes this answer holds in the cache, overhead included."""
        return len(self.body) + ENTRY_OVERHEAD


class ResponseCache:
    """A byte-bounded LRU map from request key to (stamp, answer); `max_bytes` 0 turns it off."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
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
        """Keep `answer`, dropping the least recently used entries until it fits; an answer
        larger than the whole budget is not kept."""
        self._drop(key)
        if answer.size > self.max_bytes:
            return
        self._entries[key] = (stamp, answer)
        self.bytes += answer.size
        while self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry[1].size
