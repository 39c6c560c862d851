"""What serving knows of the store: users' histories, read on demand and kept in an LRU of
bounded size (app/serving/history_cache.py), the hidden items and the deletion log.

A user's history is one indexed query the first time it is asked for; the worker then keeps
it current by reading only the interactions with an id above the highest it has seen (the
tail), appending each to its user's history if that history is held (others are read whole
when next asked for). It reads the tail right after this process writes (read-your-writes),
whenever another worker process of the host signals a change (`ChangeSignal`, checked per
request), and every `refresh_seconds` for writers elsewhere (`reco import`, other hosts). A
tail longer than `TAIL_LIMIT` (a bulk import) empties the cache instead of being read. Ids
that a concurrent writer allocated but had not yet committed (possible on PostgreSQL) are
remembered as gaps and looked for again until they appear or `gap_patience_seconds` pass.
Each refresh first reads the deletion log past the newest deletion applied
(app/serving/deletions.py) and drops the held histories a deletion touched.

A user a loaded bundle trained from the store knows, with no event past it, is answered from
the histories the bundle carries, with no query (app/serving/trained_source.py). Start-up
reads no interaction; it learns the catalog's item row ids (app/serving/item_rows.py), as a
refresh does after a bulk import, so that the first requests do not wait for them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.serving.deletions import EVERY_BUNDLE, Cutoff, DeletionLog
from app.serving.history_cache import HistoryCache
from app.serving.history_reads import HistoryReads
from app.serving.records import History
from app.serving.signal import ChangeSignal
from app.serving.trained_histories import TrainedHistories
from app.serving.trained_source import TrainedSource
from app.store.deletions import DeletionRow, deletions_since
from app.store.log_reads import (
    InteractionRow,
    interactions_since,
    newest_interaction_id,
    newest_item_id,
)
from app.store.repository import hidden_item_ids

log = logging.getLogger(__name__)

MAX_GAPS = 900  # the newest missing ids waited for (one IN list, under SQLite's limit)
TAIL_LIMIT = 100_000  # a longer tail empties the cache rather than being read
DEFAULT_CAPACITY = 2_000_000  # events held (about 40 bytes each)

Wanted = Callable[[History], bool]  # whether a history's fold-in columns are needed


def _never(_history: History) -> bool:
    return False


def _always(_history: History) -> bool:
    return True


class StoreView:
    """Users' histories on demand, the hidden items and deletions (see the module docstring)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        signal: ChangeSignal | None = None,
        refresh_seconds: float = 1.0,
        gap_patience_seconds: float = 300.0,
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self._sessions = sessions
        self._engine = sessions.kw["bind"]
        self._local = self._engine.dialect.name == "sqlite"  # see fetch
        self._signal = signal
        self.refresh_seconds = refresh_seconds
        self.gap_patience_seconds = gap_patience_seconds
        self.cache = HistoryCache(capacity)
        self._reads = HistoryReads(self._engine)
        self.deletions = DeletionLog()
        # SQLite commits ids in order; PostgreSQL may commit an id below the newest later
        self._trained = TrainedSource(0 if self._local else MAX_GAPS, TAIL_LIMIT)
        self._newest_id = 0
        self._started = False  # the first refresh skips to the tail's last MAX_GAPS ids
        self._gaps: dict[int, float] = {}  # missing id -> when first missed (monotonic)
        self._seen_token: int | None = None
        # the hidden items and a version that goes up whenever they or the deletions change,
        # swapped as one pair so that a reader never sees one set with another's version
        self._hidden: tuple[frozenset[str], int] = (frozenset(), 0)
        self._reading = threading.Lock()  # one tail read at a time
        # goes up whenever the tail brings rows, a deletion applies or the cache empties: a
        # history read while it moved may miss a row the tail passed, so it is not held
        self._generation = 0
        self._holding = threading.Lock()  # a read history's entry vs the tail's changes

    def __len__(self) -> int:
        """The events held in memory, with `ENTRY_COST` for each user held."""
        return self.cache.events

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
    def trained_version(self) -> str | None:
        """The bundle whose histories answer the users it knows (None: the store does)."""
        return getattr(self._trained.histories, "version", None)

    @property
    def hidden(self) -> frozenset[str]:
        return self.hidden_state[0]

    def is_stale(self) -> bool:
        """Whether another process signalled a change since the last refresh (a memory read)."""
        return self._signal is not None and self._signal.token() != self._seen_token

    def refresh(self) -> int:
        """Read the tail of interactions, deletions and hidden items; the tail rows read."""
        with self._reading:
            return self._read_new()

    def catch_up(self) -> None:
        """Refresh if the view is still stale once its turn comes, so that requests which all
        noticed one signal wait for one store read instead of making one each."""
        with self._reading:
            if self.is_stale():
                self._read_new()

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

    async def fetch(self, user_id: str, folds_in: Wanted = _never) -> History:
        """The user's history, read from the store if not held, with its fold-in columns if
        `folds_in(history)`: on the event loop from SQLite (a local read of one index range,
        a fraction of a millisecond, that never waits for a writer in WAL mode; a thread hop
        costs more, and 16 threads reading at once fight for the GIL: 321 against 564 req/s
        at 20M events), else in a worker thread."""
        history = self.cache.get(user_id)
        if history is not None and (history.fold_in is not None or not folds_in(history)):
            return history
        if self._local:
            return self.history(user_id, folds_in)
        return await run_in_threadpool(self.history, user_id, folds_in)

    async def fetch_many(self, user_ids: Sequence[str]) -> dict[str, History]:
        """`histories`, off the event loop if one of them must be read from the store."""
        held = {user: self.cache.get(user) for user in user_ids}
        if any(history is None or history.fold_in is None for history in held.values()):
            return await run_in_threadpool(self.histories, user_ids)
        return held

    def histories(self, user_ids: Iterable[str]) -> dict[str, History]:
        """Each user's events in id order (empty for unknown users), with their fold-in
        columns: their users may be answered by several models (experiment arms)."""
        return {user: self.history(user, _always) for user in user_ids}

    def history(self, user_id: str, folds_in: Wanted = _never) -> History:
        """The user's events in id order, read from the store (and held) if not held, with
        their fold-in columns if `folds_in(history)`."""
        generation = self._generation  # first: a tail read from now on is noticed below
        history = self.cache.get(user_id)
        if history is not None and (history.fold_in is not None or not folds_in(history)):
            return history
        if history is None:
            base = History.empty(self.deletions.users.get(user_id), self.deletions.newest_id << 32)
            history = self._read(user_id, base)
        if history.fold_in is None and folds_in(history):
            history = self._reads.with_fold_in(user_id, history)
        with self._holding:
            if self._generation == generation:
                self.cache.put(user_id, history)
        return history

    def adopt(self, histories: TrainedHistories | None) -> None:
        """Answer the users a bundle knows from its histories (app/serving/trained_source.py);
        after the first refresh, as the app's view has made it by the time models load."""
        if histories is None:
            return
        try:
            with self._reading, self._sessions() as session:
                self._trained.adopt(session, histories)
        except SQLAlchemyError as error:  # the model still loads; the store answers
            log.warning("bundle %s: histories not adopted: %s", histories.version, error)

    def _read(self, user_id: str, base: History) -> History:
        """A history not held: from the adopted bundle's histories if exact, else the store."""
        found = self._trained.events(user_id, self.deletions)
        if found is None:
            return self._reads.read(user_id, base)
        return self._reads.from_trained(*found, base)

    def _read_new(self) -> int:
        token = self._signal.token() if self._signal is not None else None
        self._expire_gaps()
        read = 0
        with self._sessions() as session:
            # deletions first: one logged after this read is forgotten by the next refresh
            deleted = deletions_since(session, self.deletions.newest_id)
            if deleted:
                self._forget(deleted)
            newest = newest_interaction_id(session)
            if not self._started or newest - self._newest_id > TAIL_LIMIT:
                self._skip_to(newest)
                self._reads.learn_catalog(newest_item_id(session))
            for rows in interactions_since(session, self._newest_id, list(self._gaps)):
                self._apply(rows)
                read += len(rows)
            hidden = frozenset(hidden_item_ids(session))
        if hidden != self._hidden[0] or deleted:
            self._hidden = (hidden, self._hidden[1] + 1)
        self._seen_token = token
        return read

    def _skip_to(self, newest: int) -> None:
        """Start over near the store's newest id: the held histories go (they are read again
        when asked for), and only the last MAX_GAPS ids are read, noting the missing ones."""
        if self._started:
            skipped = newest - self._newest_id
            log.info("store view: %d new interactions; histories are read again", skipped)
            self._trained.let_go()  # rows it skips may be of any user
        with self._holding:
            self._generation += 1
            self.cache.clear()
        self._gaps.clear()
        self._newest_id = max(0, newest - MAX_GAPS)
        self._started = True

    def _apply(self, rows: Sequence[InteractionRow]) -> None:
        """Append rows (in id order) not seen yet to the held histories of their users, and
        note the ids skipped."""
        fresh = [row for row in rows if row[0] > self._newest_id or row[0] in self._gaps]
        by_user: dict[str, list[InteractionRow]] = {}
        for row in fresh:
            by_user.setdefault(row[1], []).append(row)
        self._trained.touch(by_user)  # first: a history read from now on sees the user
        with self._holding:
            if fresh:
                self._generation += 1
            for user, own in by_user.items():
                history = self.cache.get(user)
                if history is not None:
                    self.cache.put(user, self._reads.appended(history, own))
        self._advance([row[0] for row in fresh])

    def _forget(self, deleted: Sequence[DeletionRow]) -> None:
        """Apply newly logged deletions: the held histories of deleted users, and of users
        holding a deleted item, go (the store no longer has those rows: reading a history
        again is exact, also for events an id posted after its deletion)."""
        touched: set[str] = set()
        for _, kind, external_id, _ in deleted:
            if kind == "user":
                touched.add(external_id)
            elif (code := self._reads.item_code(external_id)) is not None:
                touched.update(self.cache.holders(code))
        with self._holding:
            self._generation += 1
            self.deletions.add(deleted)
            self.cache.drop(touched)

    def _advance(self, ids: list[int]) -> None:
        """Move the newest id past `ids`, waiting for the ids skipped on the way."""
        now = time.monotonic()
        for event_id in ids:
            self._gaps.pop(event_id, None)
            if event_id > self._newest_id:
                lowest = max(self._newest_id + 1, event_id - MAX_GAPS)
                self._gaps.update(dict.fromkeys(range(lowest, event_id), now))
                self._newest_id = event_id
        if len(self._gaps) > MAX_GAPS:
            self._gaps = dict(sorted(self._gaps.items())[-MAX_GAPS:])

    def _expire_gaps(self) -> None:
        deadline = time.monotonic() - self.gap_patience_seconds
        self._gaps = {gap: since for gap, since in self._gaps.items() if since > deadline}
