"""Which users a store view may answer from a bundle's trained histories
(app/serving/trained_histories.py) instead of a store query.

A user qualifies while the store holds exactly the events the bundle holds for them: the
bundle knows the user, no deletion of the user was ever logged, and no event of theirs has an
id above the bundle's `through_id` less `margin` (ids a concurrent writer held uncommitted
while the bundle was trained, as the store view waits for its own gaps). The users with such
events are read once when the histories are adopted, then every tail row the view reads adds
its user. Events of items deleted since the bundle leave a history built from it, as they
left the store. When the view stops reading every row (a bulk import longer than its tail
limit), the histories are let go: the store answers until another bundle is adopted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session

from app.serving.deletions import DeletionLog
from app.serving.trained_histories import TrainedHistories, UserEvents
from app.store.log_reads import count_since, owners, users_since

log = logging.getLogger(__name__)

SAMPLE_EVENTS = 16  # events compared with the store to tell it is the one trained on


class TrainedSource:
    """The adopted trained histories, if any, and the users they no longer answer for."""

    def __init__(self, margin: int, tail_limit: int) -> None:
        self.margin = margin
        self.tail_limit = tail_limit
        # the histories and the users with events they do not hold, swapped as one pair
        self._adopted: tuple[TrainedHistories, set[str]] | None = None

    @property
    def histories(self) -> TrainedHistories | None:
        return None if self._adopted is None else self._adopted[0]

    def adopt(self, session: Session, histories: TrainedHistories) -> bool:
        """Answer from `histories` if they are newer than the adopted ones, come from this
        store, and are not too far behind it; whether they were adopted."""
        held = self.histories
        if held is not None and held.through_id >= histories.through_id:
            return False
        since = max(0, histories.through_id - self.margin)
        behind = count_since(session, since)
        if behind > self.tail_limit:
            log.info("bundle %s: %d events since; histories read from the store",
                     histories.version, behind)  # fmt: skip
            return False
        if not self._same_store(session, histories):
            log.warning("bundle %s holds histories of another store: not used", histories.version)
            return False
        touched = users_since(session, since)
        self._adopted = (histories, touched)
        log.info("bundle %s: known users' histories from the bundle (%d users with newer "
                 "events)", histories.version, len(touched))  # fmt: skip
        return True

    @staticmethod
    def _same_store(session: Session, histories: TrainedHistories) -> bool:
        """Whether sampled events of the histories are the store's: every one found has the
        same user and item, and at least half are found (the rest may have been deleted)."""
        sample = histories.last_events(SAMPLE_EVENTS)
        stored = owners(session, [event_id for event_id, _, _ in sample])
        differ = [e for e, user, item in sample if e in stored and stored[e] != (user, item)]
        return not differ and 2 * len(stored) >= len(sample)

    def let_go(self) -> None:
        """Stop answering from the histories (the view no longer sees every new row)."""
        if self._adopted is not None:
            log.info("bundle %s: histories read from the store again", self._adopted[0].version)
        self._adopted = None

    def touch(self, users: Iterable[str]) -> None:
        """Note users with events past the histories (tail rows, in the view's order)."""
        if self._adopted is not None:
            self._adopted[1].update(users)

    def events(self, user_id: str, deletions: DeletionLog) -> tuple[UserEvents, list[str]] | None:
        """The user's events from the histories, and the items deleted since (whose events
        left the store); None when the store must be read."""
        adopted = self._adopted
        if adopted is None or user_id in adopted[1] or user_id in deletions.users:
            return None
        histories = adopted[0]
        events = histories.events(user_id)
        return None if events is None else (events, deleted_items(histories, deletions))


def deleted_items(histories: TrainedHistories, deletions: DeletionLog) -> list[str]:
    """The items deleted after `histories` were read (their events left the store)."""
    if deletions.newest_id <= histories.deletion_id:
        return []
    cutoff = histories.deletion_id
    return [item for item, (log_id, _) in deletions.items.items() if log_id > cutoff]
