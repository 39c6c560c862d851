"""Engines for the store: SQLite (WAL, busy timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Sync handlers run on a threadpool of 40: let each of them hold a connection at once.
POOL = {"pool_size": 10, "max_overflow": 40}


def create_store_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder created and WAL mode switched on."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **POOL)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **POOL)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


MIGRATIONS = Path(__file__).with_name("migrations")


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


STARTUP_PATIENCE_SECONDS = 30.0


def init_schema(engine: Engine) -> None:
    """Bring the schema to the newest alembic migration. Idempotent; retried for a while, so
    that several processes may start at once (a loser of the race finds the schema there) and
    a database server that is still starting up is waited for."""
    deadline = time.monotonic() + STARTUP_PATIENCE_SECONDS
    while True:
        try:
            _upgrade(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _upgrade(engine: Engine) -> None:
    """Run the pending migrations in one transaction; on SQLite with foreign keys off, as
    its documented way of altering a table asks (build the new table, copy every row, drop
    the old, rename): dropping a table that others refer to would fail their check."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # outside a transaction: the pragma is a no-op inside one
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                command.upgrade(_alembic_config(connection), "head")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
