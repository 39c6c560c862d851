"""What serving knows of deleted users and items, and which bundles a deletion applies to.

A deletion applies to a bundle whose data could hold the id: one trained from the store
before the deletion was logged (its manifest records the newest deletion id the training
read was clean of, `latest_deletion_id`), or, for a bundle without that record, one created
before the deletion. To such a bundle a deleted user is unknown (their trained row is never
used: no history means cold start) and a deleted item is excluded from every list, as a
hidden item is. An id used again after its deletion is a new user or item: bundles made
before the deletion still ignore their old vector, newer ones serve what they learned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from app.errors import NotFound
from app.store.deletions import DeletionRow

# (log id, deleted_at) of an id's newest deletion
Stamp = tuple[int, float]
MAX_CACHED = 16  # excluded-item sets kept per change (one per loaded bundle in practice)


@dataclass(frozen=True)
class Cutoff:
    """Which deletions a bundle predates (see the module docstring)."""

    through_id: int | None  # the manifest's latest_deletion_id, if it has one
    created_at: float  # unix seconds

    def applies(self, stamp: Stamp | None) -> bool:
        """Whether the deletion `stamp` (None: never deleted) applies to this bundle."""
        if stamp is None:
            return False
        if self.through_id is not None:
            return stamp[0] > self.through_id
        return stamp[1] > self.created_at


NEVER = Cutoff(None, math.inf)  # the store fallback: the store itself holds no deleted row
EVERY_BUNDLE = Cutoff(0, -math.inf)  # every deletion applies (readers that name no bundle)


class DeletionLog:
    """Every deletion a store view has applied, newest per id, published as immutable
    snapshots (a reader never sees a half-applied change)."""

    def __init__(self) -> None:
        self.newest_id = 0
        self.users: dict[str, Stamp] = {}
        self.items: dict[str, Stamp] = {}
        self.all_items: frozenset[str] = frozenset()
        self._excluded: dict[tuple[int, Cutoff], frozenset[str]] = {}

    def add(self, rows: Iterable[DeletionRow]) -> None:
        """Take newly logged deletions (in id order); copies, so readers keep a whole set."""
        users, items = dict(self.users), dict(self.items)
        for log_id, kind, external_id, deleted_at in rows:
            (users if kind == "user" else items)[external_id] = (log_id, deleted_at)
            self.newest_id = max(self.newest_id, log_id)
        self.users, self.items, self.all_items = users, items, frozenset(items)

    def excluded(self, hidden: frozenset[str], cutoff: Cutoff, version: int) -> frozenset[str]:
        """The hidden items and the deleted ones whose deletion applies to a bundle of
        `cutoff`, computed once per (`version` of the view's exclusions, cutoff)."""
        key = (version, cutoff)
        found = self._excluded.get(key)
        if found is None:
            deleted = (i for i, stamp in self.items.items() if cutoff.applies(stamp))
            found = hidden.union(deleted)
            if len(self._excluded) >= MAX_CACHED:
                self._excluded = {}
            self._excluded[key] = found
        return found


def refuse_deleted(item_ids: Iterable[str], log: DeletionLog, cutoff: Cutoff) -> None:
    """A 404 naming the asked items whose deletion applies to a bundle of `cutoff` (for it
    they are no longer in the catalog), as for items it never knew."""
    gone = [item for item in item_ids if cutoff.applies(log.items.get(item))]
    if gone:
        raise NotFound(f"deleted items: {', '.join(map(repr, gone[:20]))}")
