"""An in-memory view of the store's interactions and hidden items, so that /recommend reads a
user's history without a database round trip.

Interactions are held as numpy columns (about 42 bytes per event; app/serving/columns.py)
with each user's row positions beside them. The view catches up by reading only interactions
with an id above the highest it holds: right after this process writes (read-your-writes),
whenever another worker process of the host signals a change (`ChangeSignal`, checked per
request), and every `refresh_seconds` for writers elsewhere (`reco import`, other hosts). Ids
that a concurrent writer allocated but had not yet committed (possible on PostgreSQL) are
remembered as gaps and looked for again until they appear or `gap_patience_seconds` pass.
Each refresh also reads the deletion log past the newest deletion applied
(app/serving/deletions.py).
"""

from __future__ import annotations

import array
import asyncio
import logging
import threading
import time
from collections.abc import Iterable, Sequence

import numpy as np
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from app.serving.columns import Columns, Interned
from app.serving.deletions import EVERY_BUNDLE, Cutoff, DeletionLog
from app.serving.records import History
from app.serving.signal import ChangeSignal
from app.store.deletions import DeletionRow, deletions_since, rows_of
from app.store.repository import InteractionRow, hidden_item_ids, interactions_since

log = logging.getLogger(__name__)

MAX_GAPS = 900  # the newest missing ids waited for (one IN list, under SQLite's limit)


class StoreView:
    """Every user's interactions and the hidden items (see the module docstring)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        signal: ChangeSignal | None = None,
        refresh_seconds: float = 1.0,
        gap_patience_seconds: float = 300.0,
    ) -> None:
        self._sessions = sessions
        self._signal = signal
        self.refresh_seconds = refresh_seconds
        self.gap_patience_seconds = gap_patience_seconds
        self._columns = Columns()
        self._rows_of_user: dict[str, array.array] = {}
        self._items = Interned()
        self._users = Interned()  # the user column: whose rows an item deletion takes
        self._dropped: dict[str, int] = {}  # rows deletions took per user (user_version)
        self.deletions = DeletionLog()
        self._kinds = Interned()
        self._newest_id = 0
        self._gaps: dict[int, float] = {}  # missing id -> when first missed (monotonic)
        self._seen_token: int | None = None
        # the hidden items and a version that goes up whenever they or the deletions change,
        # swapped as one pair so that a reader never sees one set with another's version
        self._hidden: tuple[frozenset[str], int] = (frozenset(), 0)
        self._refreshing = threading.Lock()  # one refresh (store read) at a time
        self._applying = threading.Lock()  # readers vs the short in-memory apply step

    def __len__(self) -> int:
        return self._columns.size

    @property
    def hidden_state(self) -> tuple[frozenset[str], int]:
        """The items no list may hold, hidden or deleted, and their version."""
        return self.hidden_for(EVERY_BUNDLE)

    def hidden_for(self, cutoff: Cutoff) -> tuple[frozenset[str], int]:
        """The hidden items and the deleted ones whose deletion applies to a bundle of
        `cutoff` (app/serving/deletions.py), and their version: one read, so they agree."""
        hidden, version = self._hidden
        return self.deletions.excluded(hidden, cutoff, version), version

    @property
    def hidden(self) -> frozenset[str]:
        return self.hidden_state[0]

    def is_stale(self) -> bool:
        """Whether another process signalled a change since the last refresh (a memory read)."""
        return self._signal is not None and self._signal.token() != self._seen_token

    def refresh(self) -> int:
        """Read interactions the view does not hold yet, and the hidden items; the count read."""
        with self._refreshing:
            return self._read_new()

    def catch_up(self) -> None:
        """Refresh if the view is still stale once its turn comes, so that requests which all
        noticed one signal wait for one store read instead of making one each."""
        with self._refreshing:
            if self.is_stale():
                self._read_new()

    def _read_new(self) -> int:
        token = self._signal.token() if self._signal is not None else None
        self._expire_gaps()
        catching_up = self._newest_id > 0  # gaps in the first load are history, not lag
        read = 0
        with self._sessions() as session:
            # deletions first: one logged after this read is forgotten by the next refresh
            deleted = deletions_since(session, self.deletions.newest_id)
            if deleted:
                self._forget(session, deleted)
            for rows in interactions_since(session, self._newest_id, list(self._gaps)):
                self._apply(rows, catching_up)
                read += len(rows)
            hidden = frozenset(hidden_item_ids(session))
        if hidden != self._hidden[0] or deleted:
            self._hidden = (hidden, self._hidden[1] + 1)
        self._seen_token = token
        return read

    def changed(self) -> None:
        """After this process wrote to the store: refresh now, then tell the other workers."""
        self.refresh()
        if self._signal is not None:
            self._signal.bump()

    async def keep_current(self) -> None:
        """Refresh every `refresh_seconds` until cancelled; a failing store is logged, not fatal."""
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await run_in_threadpool(self.refresh)
            except Exception as error:  # keep serving the view we have
                log.warning("store view refresh failed: %s", error)

    def user_version(self, user_id: str) -> int:
        """A number that goes up whenever the user's history changes: its length, plus the
        rows deletions took (and one per deletion), so it never returns to an old value."""
        positions = self._rows_of_user.get(user_id)
        return self._dropped.get(user_id, 0) + (0 if positions is None else len(positions))

    def histories(self, user_ids: Iterable[str]) -> dict[str, History]:
        """Each user's events in the order the view received them (empty for unknown users)."""
        return {user: self.history(user) for user in user_ids}

    def history(self, user_id: str) -> History:
        with self._applying:
            positions = self._rows_of_user.get(user_id)
            deleted = self.deletions.users.get(user_id)
            if positions is None:
                return History.empty(deleted)
            rows = np.array(positions, dtype=np.int64)
            data = self._columns.data
        return History(
            item_codes=data["item"][rows],
            item_names=self._items.values,
            values=data["value"][rows],
            is_rating=data["is_rating"][rows],
            ids=data["id"][rows],
            created_at=data["created_at"][rows],
            from_api=data["from_api"][rows],
            timestamps=data["timestamp"][rows],
            kind_codes=data["kind"][rows],
            kind_names=self._kinds.values,
            deleted=deleted,
        )

    def _apply(self, rows: Sequence[InteractionRow], note_gaps: bool) -> None:
        """Add rows (in id order) the view does not hold yet and note the ids skipped."""
        fresh = [row for row in rows if row[0] > self._newest_id or row[0] in self._gaps]
        if fresh:
            self._append(fresh)
            self._advance([row[0] for row in fresh], note_gaps)

    def _append(self, fresh: Sequence[InteractionRow]) -> None:
        columns = {
            "id": [row[0] for row in fresh],
            "user": [self._users.code(row[1]) for row in fresh],
            "item": [self._items.code(row[2]) for row in fresh],
            "value": [row[3] for row in fresh],
            "is_rating": [row[4] == "rating" for row in fresh],
            "created_at": [row[5] for row in fresh],
            "from_api": [row[6] == "api" for row in fresh],
            "timestamp": [row[7] for row in fresh],
            "kind": [self._kinds.code(row[4]) for row in fresh],
        }
        with self._applying:
            first = self._columns.size
            self._columns.append(columns)
            for position, row in enumerate(fresh, start=first):
                self._rows_of_user.setdefault(row[1], array.array("q")).append(position)

    def _forget(self, session: Session, deleted: Sequence[DeletionRow]) -> None:
        """Apply newly logged deletions: the deleted rows leave every history as the ids join
        the log (worked out first, so readers wait only for the swap), then rows an id made
        again since (a new user or item) that the view already passed are read back."""
        changes: dict[str, tuple[np.ndarray, int]] = {}  # user -> (rows kept, version step)
        dropped = [row for row in deleted if self._drop(row[1], row[2], changes)]
        with self._applying:
            for user, (kept, step) in changes.items():
                self._dropped[user] = self._dropped.get(user, 0) + step
                if len(kept):
                    self._rows_of_user[user] = array.array("q", kept.tobytes())
                else:
                    self._rows_of_user.pop(user, None)
            self.deletions.add(deleted)
        for _, kind, external_id, _ in dropped:
            again = rows_of(session, kind, external_id, self._newest_id)
            if again:
                self._append(again)
                self._advance([row[0] for row in again], note_gaps=False)

    def _drop(self, kind: str, external_id: str, changes: dict) -> bool:
        """Work out into `changes` a deleted user's rows, or a deleted item's in every history,
        taken away; whether there were any. Columns keep them (unreachable) until a restart."""
        data, size = self._columns.data, self._columns.size
        code = -1 if kind == "user" else self._items.find(external_id)
        if code is None:
            return False
        if kind == "user":
            holders = [external_id]
        else:
            codes = np.unique(data["user"][:size][data["item"][:size] == code])
            holders = [self._users.values[c] for c in codes.tolist()]
        taken = 0
        for user in holders:
            rows, step = changes.get(user, (None, 0))
            if rows is None:
                if user not in self._rows_of_user:
                    continue
                rows = np.array(self._rows_of_user[user], np.int64)
            kept = rows[data["item"][rows] != code] if kind == "item" else rows[:0]
            taken += len(rows) - len(kept)
            changes[user] = (kept, step + len(rows) - len(kept) + 1)
        return taken > 0

    def _advance(self, ids: list[int], note_gaps: bool) -> None:
        """Move the newest id past `ids`; with `note_gaps`, wait for ids skipped on the way."""
        now = time.monotonic()
        for event_id in ids:
            self._gaps.pop(event_id, None)
            if event_id > self._newest_id:
                if note_gaps:
                    lowest = max(self._newest_id + 1, event_id - MAX_GAPS)
                    self._gaps.update(dict.fromkeys(range(lowest, event_id), now))
                self._newest_id = event_id
        if len(self._gaps) > MAX_GAPS:
            self._gaps = dict(sorted(self._gaps.items())[-MAX_GAPS:])

    def _expire_gaps(self) -> None:
        deadline = time.monotonic() - self.gap_patience_seconds
        self._gaps = {gap: since for gap, since in self._gaps.items() if since > deadline}
