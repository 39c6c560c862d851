"""Deleting a user or an item: its interactions and its row go, and a `deletions` row is
appended, in one transaction. The deletion log is what tells every worker of every replica
to forget the id (app/serving/deletions.py); its ids only grow and are committed in order."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app.store.experiments import forget_user
from app.store.repository import retried
from app.store.tables import Deletion, Interaction, Item, User

Kind = Literal["user", "item"]
_TABLES = {"user": (User, Interaction.user_id), "item": (Item, Interaction.item_id)}


@dataclass(frozen=True)
class Deleted:
    """One applied deletion: its log id and time, and how many interactions went with it."""

    id: int
    kind: Kind
    external_id: str
    deleted_at: float
    interactions: int


# (log id, kind, external id, deleted_at) of one deletions row
DeletionRow = tuple[int, str, str, float]


def delete_entity(session: Session, kind: Kind, external_id: str) -> Deleted | None:
    """Remove a user's or item's interactions and row and log the deletion, all or nothing;
    None when the store does not know the id. Retried when a concurrent writer added an
    event of the id between the two deletes (the foreign key then refuses the second)."""
    return retried(session, lambda: _delete_once(session, kind, external_id))


def _delete_once(session: Session, kind: Kind, external_id: str) -> Deleted | None:
    table, column = _TABLES[kind]
    if session.get_bind().dialect.name == "postgresql":
        # one deletion at a time, so log ids commit in order and a worker reading "ids above
        # the last it applied" never skips one still uncommitted (readers are not blocked)
        session.execute(text("LOCK TABLE deletions IN SHARE ROW EXCLUSIVE MODE"))
    key = session.scalar(select(table.id).where(table.external_id == external_id))
    if key is None:
        session.rollback()
        return None
    removed = session.execute(delete(Interaction).where(column == key)).rowcount
    session.execute(delete(table).where(table.id == key))
    if kind == "user":
        forget_user(session, external_id)
    row = Deletion(kind=kind, external_id=external_id, deleted_at=time.time())
    session.add(row)
    session.commit()
    return Deleted(row.id, kind, external_id, row.deleted_at, int(removed))


def deletions_since(session: Session, after_id: int) -> list[DeletionRow]:
    """Deletions logged after `after_id`, oldest first (a primary-key range: nothing to read
    is one index probe, which is what every worker's refresh costs when nothing happened)."""
    query = (
        select(Deletion.id, Deletion.kind, Deletion.external_id, Deletion.deleted_at)
        .where(Deletion.id > after_id)
        .order_by(Deletion.id)
    )
    return [tuple(row) for row in session.execute(query)]


def latest_deletion_id(session: Session) -> int:
    """The newest deletion's log id (0: none): what a training run's data is clean of."""
    return int(session.scalar(select(func.max(Deletion.id))) or 0)
