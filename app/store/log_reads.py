"""The interaction log as serving reads it: one user's history, the rows past an id (the
tail), the newest ids."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from sqlalchemy import ColumnElement, Engine, Select, func, or_, select
from sqlalchemy.orm import Session

from app.store.tables import Interaction, Item, User

InteractionRow = tuple[int, str | None, int, float, str, float, bool, float]
"""(id, user_id, item row id, value, kind, created_at, from_api, timestamp (of the event)) of
one stored interaction of the tail. Items come as their row ids (items.id, never reused),
which serving translates once per item."""


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


# one user's history from the covering index ix_interactions_user_history, with the user's
# row found once and no join, as one row: the ids and item row ids as text lists (SQLite
# builds them far faster than the driver builds a Python tuple per event), the kind (the
# list of kinds only if they differ) and when the newest event posted to the API was stored
_USER_HISTORY = (
    "SELECT {ids}, {items}, min(i.kind), CASE WHEN min(i.kind) < max(i.kind) THEN {kinds} END, "
    "max(CASE WHEN i.source = 'api' THEN i.created_at END) FROM interactions i "
    "WHERE i.user_id = (SELECT id FROM users WHERE external_id = {{0}})"
)
_LISTED = {"sqlite": "group_concat({})", "postgresql": "string_agg(({})::text, ',' ORDER BY i.id)"}
_HISTORY_SQL = {
    dialect: _USER_HISTORY.format(
        ids=listed.format("i.id"), items=listed.format("i.item_id"), kinds=listed.format("i.kind")
    )
    for dialect, listed in _LISTED.items()
}
# what only a fold-in reads, in id order
_FOLD_IN_ROWS = (
    "SELECT i.id, i.value, i.timestamp FROM interactions i "
    "WHERE i.user_id = (SELECT id FROM users WHERE external_id = {0}) ORDER BY i.id"
)

HistoryRow = tuple[str | None, str | None, str | None, str | None, float | None]
"""(ids, item row ids, the first kind, every kind or None when all are the first, newest
created_at of the events posted to the API or None) of one user's events: the lists comma
separated (kinds cannot hold a comma: app/limits.py KIND_PATTERN), in the same order, not
necessarily the ids' (the caller orders them); all None when the user has no event."""


def user_history(engine: Engine, user_id: str) -> HistoryRow:
    """One user's interactions as one `HistoryRow`: one query of a covering index, sent as
    plain SQL on a pooled driver connection (serving makes it for every user not held)."""
    sql = _HISTORY_SQL.get(engine.dialect.name, _HISTORY_SQL["postgresql"])
    return _driver_rows(engine, sql, (user_id,))[0]


def user_fold_in_rows(engine: Engine, user_id: str) -> list[tuple[int, float | None, float]]:
    """(id, value, timestamp) of one user's interactions in id order: what a fold-in reads
    besides the history (app/serving/records.py FoldInColumns)."""
    return _driver_rows(engine, _FOLD_IN_ROWS, (user_id,))


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
    range, read on a pooled driver connection (as `user_history`)."""
    return _driver_rows(engine, _ITEM_ROWS, (low, high))


def count_since(session: Session, after_id: int) -> int:
    """How many interactions have an id above `after_id` (a primary-key range)."""
    return session.scalar(select(func.count()).where(Interaction.id > after_id)) or 0


def users_since(session: Session, after_id: int) -> set[str]:
    """The users of the interactions with an id above `after_id`."""
    query = (
        select(User.external_id)
        .join(Interaction, Interaction.user_id == User.id)
        .where(Interaction.id > after_id)
        .distinct()
    )
    return set(session.scalars(query))


def owners(session: Session, ids: Collection[int]) -> dict[int, tuple[str, int]]:
    """(user, item row id) of each of the interactions `ids` the store has."""
    query = (
        select(Interaction.id, User.external_id, Interaction.item_id)
        .join(User, Interaction.user_id == User.id)
        .where(Interaction.id.in_(list(ids)))
    )
    return {row[0]: (row[1], row[2]) for row in session.execute(query)}


def newest_interaction_id(session: Session) -> int:
    """The highest interaction id handed out and committed so far (0: none)."""
    return session.scalar(select(func.max(Interaction.id))) or 0


def newest_item_id(session: Session) -> int:
    """The highest item row id committed so far (0: none)."""
    return session.scalar(select(func.max(Item.id))) or 0


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
