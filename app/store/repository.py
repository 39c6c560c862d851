"""Store queries and writes used by the routes, the importer and the training loader."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.store.tables import Interaction, Item, User

CHUNK = 5_000
ATTEMPTS = 3  # of a write that raced a deletion (see retried)
T = TypeVar("T")


def insert_ignoring_duplicates(connection: Connection, table: Table, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL, in chunks."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing()
    for start in range(0, len(rows), CHUNK):
        connection.execute(statement, rows[start : start + CHUNK])


def ensure_ids(
    connection: Connection,
    table: Table,
    external_ids: Iterable[str],
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, int]:
    """Database ids of `external_ids`, creating missing rows (safe with concurrent writers).

    `extra` gives column values for newly created rows (e.g. item titles).
    """
    wanted = list(dict.fromkeys(external_ids))
    known = _lookup(connection, table, wanted)
    missing = [e for e in wanted if e not in known]
    if missing:
        extra = extra or {}
        rows = [{"external_id": e, **extra.get(e, {})} for e in missing]
        insert_ignoring_duplicates(connection, table, rows)
        known.update(_lookup(connection, table, missing))
    return known


def _lookup(connection: Connection, table: Table, external_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(external_ids), 900):  # stays under SQLite's variable limit
        chunk = external_ids[start : start + 900]
        query = select(table.c.external_id, table.c.id).where(table.c.external_id.in_(chunk))
        found.update({external: key for external, key in connection.execute(query)})
    return found


def retried(session: Session, work: Callable[[], T]) -> T:
    """Run `work` (one transaction that commits), again after a rollback when a concurrent
    deletion removed a user or item row it had found (a foreign key or an update then fails):
    the next attempt sees the deletion, so the id is made anew or found gone."""
    for attempt in range(ATTEMPTS):
        try:
            return work()
        except (IntegrityError, StaleDataError):
            session.rollback()
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def add_interactions(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Store events (user_id, item_id, value, kind, timestamp); commits before returning."""
    return retried(session, lambda: _add_interactions(session, rows))


def _add_interactions(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    stored = insert_interactions(session, rows)
    session.commit()
    return stored


def insert_interactions(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Add events to the open transaction (the caller commits, and retries with `retried`)."""
    connection = session.connection()
    users = ensure_ids(connection, User.__table__, (r["user_id"] for r in rows))
    items = ensure_ids(connection, Item.__table__, (r["item_id"] for r in rows))
    now = time.time()
    session.execute(
        Interaction.__table__.insert(),
        [
            {
                "user_id": users[r["user_id"]],
                "item_id": items[r["item_id"]],
                "value": float(r.get("value", 1.0)),
                "kind": r.get("kind") or "interaction",
                # 0 is a valid epoch time: only a missing timestamp means now
                "timestamp": now if r.get("timestamp") is None else float(r["timestamp"]),
                "source": "api",
            }
            for r in rows
        ],
    )
    return len(rows)


def seen_item_ids(session: Session, user_id: str) -> list[str]:
    """External ids of every item the user interacted with (one indexed query)."""
    query = (
        select(Item.external_id)
        .join(Interaction, Interaction.item_id == Item.id)
        .join(User, Interaction.user_id == User.id)
        .where(User.external_id == user_id)
        .distinct()
    )
    return list(session.scalars(query))


def user_exists(session: Session, user_id: str) -> bool:
    return session.scalar(select(User.id).where(User.external_id == user_id)) is not None


def user_interactions(
    session: Session, user_id: str, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """The user's events, newest first, with item titles."""
    query = (
        select(
            Item.external_id, Item.title, Interaction.value, Interaction.kind, Interaction.timestamp
        )
        .join(Interaction, Interaction.item_id == Item.id)
        .join(User, Interaction.user_id == User.id)
        .where(User.external_id == user_id)
        .order_by(Interaction.timestamp.desc(), Interaction.id.desc())
        .limit(limit)
        .offset(offset)
    )
    keys = ("item_id", "title", "value", "kind", "timestamp")
    return [dict(zip(keys, row, strict=True)) for row in session.execute(query)]


def item_popularity(
    session: Session, limit: int, category: str | None = None
) -> list[tuple[str, int]]:
    """The most-interacted visible items with their counts, only those of `category` if
    given (one of the item's "|"-separated genres)."""
    count = func.count(Interaction.id)
    query = (
        select(Item.external_id, count)
        .join(Interaction, Interaction.item_id == Item.id)
        .where(Item.hidden.is_(False))
        .group_by(Item.id)
        .order_by(count.desc(), Item.id)
        .limit(limit)
    )
    if category:
        genres = literal("|") + Item.genres + literal("|")
        query = query.where(genres.contains(f"|{category}|", autoescape=True))
    return [(item, int(n)) for item, n in session.execute(query)]


def item_titles(session: Session, item_ids: Sequence[str]) -> dict[str, str]:
    query = select(Item.external_id, Item.title).where(Item.external_id.in_(list(item_ids)))
    return {item: title for item, title in session.execute(query)}


def store_stats(session: Session) -> dict[str, int]:
    """Row counts, also a cheap check that the store answers."""
    return {
        "users": session.scalar(select(func.count(User.id))) or 0,
        "items": session.scalar(select(func.count(Item.id))) or 0,
        "interactions": session.scalar(select(func.count(Interaction.id))) or 0,
    }


def hidden_item_ids(session: Session) -> set[str]:
    return set(session.scalars(select(Item.external_id).where(Item.hidden.is_(True))))


def item_details(session: Session, item_id: str) -> dict[str, Any] | None:
    """An item's metadata and interaction count, or None if the store does not know it."""
    item = session.scalar(select(Item).where(Item.external_id == item_id))
    if item is None:
        return None
    count = session.scalar(select(func.count(Interaction.id)).where(Interaction.item_id == item.id))
    return {
        "item_id": item.external_id,
        "title": item.title,
        "categories": [g for g in item.genres.split("|") if g],
        "metadata": item.meta or {},
        "hidden": item.hidden,
        "interactions": int(count or 0),
    }


def upsert_item(
    session: Session,
    item_id: str,
    *,
    title: str,
    categories: Sequence[str],
    metadata: Mapping[str, Any],
    hidden: bool,
) -> dict[str, Any]:
    """Create or replace an item's metadata (and visibility); commits."""

    def upsert() -> None:
        ensure_ids(session.connection(), Item.__table__, [item_id])
        item = session.scalar(select(Item).where(Item.external_id == item_id))
        if item is None:
            raise StaleDataError(f"item {item_id!r} was deleted meanwhile")
        item.title, item.genres = title, "|".join(categories)
        item.meta, item.hidden = dict(metadata), hidden
        session.commit()

    retried(session, upsert)
    return item_details(session, item_id) or {}


def user_summary(session: Session, user_id: str) -> dict[str, Any] | None:
    """Counts, time span, kinds and top categories of a user's history; None if unknown."""
    user = session.scalar(select(User).where(User.external_id == user_id))
    if user is None:
        return None
    rows = session.execute(
        select(Interaction.kind, Interaction.timestamp, Item.genres)
        .join(Item, Interaction.item_id == Item.id)
        .where(Interaction.user_id == user.id)
    ).all()
    kinds: dict[str, int] = {}
    genres: dict[str, int] = {}
    for kind, _, item_genres in rows:
        kinds[kind] = kinds.get(kind, 0) + 1
        for genre in filter(None, item_genres.split("|")):
            genres[genre] = genres.get(genre, 0) + 1
    stamps = [stamp for _, stamp, _ in rows]
    top = sorted(genres.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return {
        "user_id": user_id,
        "interactions": len(rows),
        "first_timestamp": min(stamps) if stamps else None,
        "last_timestamp": max(stamps) if stamps else None,
        "kinds": kinds,
        "top_categories": [{"category": g, "count": n} for g, n in top],
    }
