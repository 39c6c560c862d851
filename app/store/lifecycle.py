"""The fleet's model pointers in the store: read by every worker, written by admin routes.

One row per model name says which bundle version `?model=<name>` answers from; the row named
`DEFAULT_POINTER` says what answers without `?model=`. Every write bumps that row's
`revision` in the same transaction, so a worker learns of any change by reading one
primary-key row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.store.tables import ModelLifecycle

DEFAULT_POINTER = "*"
WRITE_ATTEMPTS = 3  # two replicas creating the first row at once: the loser retries


@dataclass(frozen=True)
class Pointers:
    """The lifecycle state as of one revision (revision 0: nothing chosen yet)."""

    revision: int = 0
    active: str | None = None
    previous: str | None = None
    changed_at: float | None = None
    changed_by: str | None = None
    by_name: dict[str, str] = field(default_factory=dict)


def pointer_revision(session: Session) -> int:
    """The revision of the lifecycle state: one primary-key read, cheap enough to poll."""
    revision = session.scalar(
        select(ModelLifecycle.revision).where(ModelLifecycle.name == DEFAULT_POINTER)
    )
    return revision or 0


def read_pointers(session: Session) -> Pointers:
    rows = {row.name: row for row in session.scalars(select(ModelLifecycle))}
    default = rows.pop(DEFAULT_POINTER, None)
    if default is None:
        return Pointers(by_name={name: row.version for name, row in rows.items()})
    return Pointers(
        revision=default.revision,
        active=default.version,
        previous=default.previous_version,
        changed_at=default.changed_at,
        changed_by=default.changed_by,
        by_name={name: row.version for name, row in rows.items()},
    )


def point_to(
    session: Session, version: str, model_name: str, changed_by: str, serving: str | None
) -> Pointers:
    """Make `version` (of model `model_name`) what the fleet serves, and the version of its
    name; the version it replaces becomes the rollback target (`serving`, this worker's
    active version, when the fleet had no pointer yet)."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            _write(session, version, model_name, changed_by, serving)
            session.flush()
            pointers = read_pointers(session)  # inside the transaction: what this wrote
            session.commit()
            return pointers
        except IntegrityError:
            session.rollback()
            if attempt == WRITE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _write(
    session: Session, version: str, model_name: str, changed_by: str, serving: str | None
) -> None:
    """Bump the revision first: the UPDATE takes the write lock (SQLite) or the row lock
    (PostgreSQL), so concurrent writers queue here and each reads what the last one wrote."""
    now = time.time()
    bumped = session.execute(
        update(ModelLifecycle)
        .where(ModelLifecycle.name == DEFAULT_POINTER)
        .values(revision=ModelLifecycle.revision + 1)
    )
    if bumped.rowcount == 0:  # the fleet's first choice
        default = ModelLifecycle(name=DEFAULT_POINTER, revision=1, version=serving or version)
        session.add(default)
    else:
        default = session.get(ModelLifecycle, DEFAULT_POINTER, populate_existing=True)
    if default.version != version:
        default.previous_version = default.version
    default.version, default.changed_by, default.changed_at = version, changed_by, now
    named = session.get(ModelLifecycle, model_name, populate_existing=True)
    if named is None:
        named = ModelLifecycle(name=model_name, version=version)
        session.add(named)
    elif named.version != version:
        named.previous_version = named.version
    named.version, named.changed_by, named.changed_at = version, changed_by, now
    named.revision = default.revision
