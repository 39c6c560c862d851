"""The interaction store's tables: users, items (with metadata) and interactions."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Double, ForeignKey, Index, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID_LENGTH = 128


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    title: Mapped[str] = mapped_column(String(512), default="")
    genres: Mapped[str] = mapped_column(String(512), default="")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    # ids are never reused, also after the newest item is deleted (migration 0007): serving
    # names a history's items by their row ids
    __table_args__ = {"sqlite_autoincrement": True}


class Interaction(Base):
    """One event. Imported rows are unique per (user, item, kind, timestamp), so a re-import
    adds nothing; events posted to the API are appended, never deduplicated."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    value: Mapped[float] = mapped_column(Double, default=1.0)
    kind: Mapped[str] = mapped_column(String(32), default="rating")
    timestamp: Mapped[float] = mapped_column(Double)
    source: Mapped[str] = mapped_column(String(16), default="api")
    # when it was stored, unix seconds (a float loads far faster than a datetime on SQLite)
    created_at: Mapped[float] = mapped_column(Double, default=time.time)

    __table_args__ = (
        Index(
            "uq_imported_interaction",
            "user_id",
            "item_id",
            "kind",
            "timestamp",
            unique=True,
            sqlite_where=text("source = 'import'"),
            postgresql_where=text("source = 'import'"),
        ),
        # a user's history from the index alone, in id order (migration 0006)
        Index(
            "ix_interactions_user_history",
            "user_id",
            "id",
            "item_id",
            "value",
            "kind",
            "timestamp",
            "created_at",
            "source",
        ),
        # ids are never reused, also after the newest rows are deleted (migration 0004)
        {"sqlite_autoincrement": True},
    )


class ModelLifecycle(Base):
    """Which bundle version serves, shared by every worker of every replica. The row named
    `DEFAULT_POINTER` is what answers without `?model=`; a row per model name pins the version
    `?model=<name>` answers from. `revision` grows with every change, so a worker polls one
    primary-key row to learn whether to look again."""

    __tablename__ = "model_lifecycle"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(ID_LENGTH))
    previous_version: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    revision: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[float] = mapped_column(Double, default=time.time)
    changed_by: Mapped[str] = mapped_column(String(16))  # activate, reload or rollback


class Deletion(Base):
    """A user or item deleted through the API: its rows are gone from the store, and every
    worker stops using its vector in bundles made before `deleted_at`. Ids only grow, so a
    worker polls `max(id)`."""

    __tablename__ = "deletions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # "user" or "item"
    external_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    deleted_at: Mapped[float] = mapped_column(Double, default=time.time)

    __table_args__ = (Index("ix_deletions_kind_external_id", "kind", "external_id"),)
