"""The interaction log as serving reads it: one user's history, the rows past an id (the
tail), the newest id."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from sqlalchemy import ColumnElement, Engine, Select, func, or_, select
from sqlalchemy.orm import Session

from app.store.tables import Interaction, User

InteractionRow = tuple[int, str | None, int, float, str, float, bool, float]
"""(id, user_id, item row id, value, kind, created_at, from_api, timestamp (of the event)) of
one stored interaction; one user's history leaves user_id None (the caller knows it). Items
come as their row ids (items.id, never reused), which serving translates once per item."""


def interactions_since(
    session: Session, after_id: int, also_ids: Collection[int] = (), chunk: int = 50_000
) -> Iterator[Sequence[InteractionRow]]:
    """Interactions with an id above `after_id` or in `also_ids`, in id order, `chunk` rows at
    a time (streamed, so a large store never sits in memory twice)."""
    condition = Interaction.id > after_id
    if also_ids:
        condition = or_(condition, Interaction.id.in_(list(also_ids)))
    query = interaction_rows(condition).execution_options(yield_per=chunk)
    for rows in session.execute(query).partitions():
        yield [tuple(row) for row in rows]


# the user's row once, no per-row strings that the caller already has or only compares, and
# no join: every column comes from the covering index ix_interactions_user_history
_USER_ROWS = (
    "SELECT i.id, NULL, i.item_id, i.value, i.kind, i.created_at, i.source = 'api', "
    "i.timestamp FROM interactions i "
    "WHERE i.user_id = (SELECT id FROM users WHERE external_id = {0}) ORDER BY i.id"
)


def user_interaction_rows(engine: Engine, user_id: str) -> list[InteractionRow]:
    """One user's interactions as `InteractionRow`s, in id order: one query of a covering
    index, sent as plain SQL on a pooled driver connection (a third of the time of the same
    query built and read through a Session; serving makes it for every user not held)."""
    return _driver_rows(engine, _USER_ROWS, (user_id,))


def _driver_rows(engine: Engine, sql: str, parameters: tuple) -> list[tuple]:
    """The rows of `sql` (its placeholders written `{0}`) on a pooled driver connection."""
    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(sql.format(marker), parameters)
        return cursor.fetchall()
    finally:
        connection.close()  # back to the pool


_ITEM_ROWS = "SELECT id, external_id FROM items WHERE id >= {0} AND id < {0}"


def item_external_ids(engine: Engine, low: int, high: int) -> list[tuple[int, str]]:
    """(row id, external id) of the items with `low` <= row id < `high`: a primary-key
    range, read on a pooled driver connection (as `user_interaction_rows`)."""
    return _driver_rows(engine, _ITEM_ROWS, (low, high))


def newest_interaction_id(session: Session) -> int:
    """The highest interaction id handed out and committed so far (0: none)."""
    return session.scalar(select(func.max(Interaction.id))) or 0


def interaction_rows(condition: ColumnElement[bool]) -> Select:
    """The interactions matching `condition` as `InteractionRow`s, in id order."""
    return (
        select(
            Interaction.id,
            User.external_id,
            Interaction.item_id,
            Interaction.value,
            Interaction.kind,
            Interaction.created_at,
            Interaction.source == "api",
            Interaction.timestamp,
        )
        .join(User, Interaction.user_id == User.id)
        .where(condition)
        .order_by(Interaction.id)
    )
