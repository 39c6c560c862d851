"""Idempotency keys: a POST /interactions sent again with the same `Idempotency-Key` (a
client's retry, or a load balancer's after a replica died mid-request) gets the first
answer and stores nothing. The key is written in the events' own transaction, so either both
are stored or neither; keys older than the retention are purged as new ones arrive."""

from __future__ import annotations

import time

from sqlalchemy import Double, Index, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.store.tables import Base

PURGE_EVERY_SECONDS = 60.0


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    stored: Mapped[int]  # the first answer's count of stored events
    created_at: Mapped[float] = mapped_column(Double, default=time.time)

    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)


def first_answer(session: Session, key: str) -> int | None:
    """The count the first request with `key` stored, if one was committed."""
    return session.scalar(select(IdempotencyKey.stored).where(IdempotencyKey.key == key))


class KeyKeeper:
    """Claims keys inside a transaction and purges expired ones now and then (per worker)."""

    def __init__(self, retention_seconds: float) -> None:
        self.retention_seconds = retention_seconds
        self._purged_at = 0.0

    def claim(self, session: Session, key: str, stored: int) -> None:
        """Record `key` in the open transaction: a concurrent claim of the same key fails
        with IntegrityError at commit (or waits for the first and then fails)."""
        session.add(IdempotencyKey(key=key, stored=stored, created_at=time.time()))
        now = time.monotonic()
        if now - self._purged_at > PURGE_EVERY_SECONDS:
            self._purged_at = now
            expired = time.time() - self.retention_seconds
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < expired))
