import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.main import create_app
from app.store.lifecycle import point_to, read_pointers
from app.store.repository import add_interactions, item_popularity, seen_item_ids
from app.store.session import (
    MIGRATIONS,
    _alembic_config,
    create_store_engine,
    init_schema,
    make_sessionmaker,
)
from app.store.tables import Interaction
from training.datasets.store import load_store
from training.datasets.synthetic import make_synthetic
from training.importer import import_interactions


def _count(url: str) -> int:
    engine = create_store_engine(url)
    init_schema(engine)
    with engine.connect() as connection:
        n = connection.scalar(select(func.count(Interaction.id)))
    engine.dispose()
    return int(n)


def test_import_is_idempotent(store_url):
    engine = create_store_engine(store_url)
    init_schema(engine)
    data = make_synthetic(50, 80, 1000, seed=1)
    first = import_interactions(engine, data, progress=False)
    second = import_interactions(engine, data, progress=False)
    assert (first.new_interactions, second.new_interactions) == (1000, 0)
    assert _count(store_url) == 1000
    back = load_store(store_url)
    assert len(back) == 1000 and back.titles()["1"] == data.titles()["1"]


def test_add_interactions_creates_users_and_items(store_url):
    engine = create_store_engine(store_url)
    init_schema(engine)
    with make_sessionmaker(engine)() as session:
        stored = add_interactions(
            session,
            [
                {"user_id": "u1", "item_id": "a", "value": 5.0, "kind": "rating", "timestamp": 1.0},
                {"user_id": "u1", "item_id": "b", "value": 1.0, "kind": "click", "timestamp": 2.0},
                {"user_id": "u2", "item_id": "a", "value": 1.0, "kind": "click", "timestamp": 3.0},
            ],
        )
        assert stored == 3
        assert sorted(seen_item_ids(session, "u1")) == ["a", "b"]
        assert item_popularity(session, 1) == [("a", 2)]


def test_live_events_are_never_deduplicated(store_url):
    engine = create_store_engine(store_url)
    init_schema(engine)
    event = {"user_id": "u", "item_id": "i", "value": 1.0, "kind": "play", "timestamp": 5.0}
    with make_sessionmaker(engine)() as session:
        add_interactions(session, [event, event])
    assert _count(store_url) == 2


def test_concurrent_http_writers_lose_nothing(store_url, tmp_path):
    settings = Settings(database_url=store_url, artifacts_dir=tmp_path / "none")
    with TestClient(create_app(settings)) as client:

        def writer(worker: int) -> list[int]:
            return [
                client.post(
                    "/interactions",
                    json={"user_id": f"w{worker}", "item_id": f"i{n % 7}", "kind": "click"},
                ).status_code
                for n in range(100)
            ]

        with ThreadPoolExecutor(4) as pool:
            statuses = [s for result in pool.map(writer, range(4)) for s in result]
    assert statuses == [201] * 400
    assert _count(store_url) == 400


_WRITER = """
import sys
from app.store.session import (
    MIGRATIONS,
    _alembic_config,
    create_store_engine,
    init_schema,
    make_sessionmaker,
)
from app.store.repository import add_interactions
engine = create_store_engine(sys.argv[1]); init_schema(engine)
with make_sessionmaker(engine)() as session:
    for n in range(100):
        add_interactions(session, [{"user_id": f"p{sys.argv[2]}", "item_id": f"i{n}",
                                    "value": 1.0, "kind": "click", "timestamp": float(n)}])
"""


def test_concurrent_process_writers_lose_nothing(store_url):
    _count(store_url)  # schema first, so the writers race only on rows
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, store_url, str(i)]) for i in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    assert _count(store_url) == 400


def test_import_killed_midway_leaves_store_unchanged(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_store_engine(url)
    init_schema(engine)
    import_interactions(engine, make_synthetic(20, 30, 200, seed=1), progress=False)
    engine.dispose()
    big = tmp_path / "big.csv"
    data = make_synthetic(3000, 3000, 600_000, seed=2).frame
    data.to_csv(big, index=False)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "training",
            "import",
            str(big),
            "--database-url",
            url,
            "--chunk-rows",
            "20000",
        ],
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    progress, written = b"", 0.0
    while written < 100_000 and (more := proc.stderr.read1(4096)):  # the progress bar's count
        progress += more
        counts = re.findall(rb"import: ([0-9.]+)(k?)rows", progress)
        written = max((float(n) * (1000 if k else 1) for n, k in counts), default=0.0)
    assert proc.poll() is None, "import finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _count(url) == 200


def test_malformed_file_imports_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"user": ["1", "2"], "item": ["a", "b"], "rating": ["5", "x"]}).to_csv(
        bad, index=False
    )
    result = subprocess.run(
        [sys.executable, "-m", "training", "import", str(bad), "--database-url", url],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    assert result.returncode == 2
    assert "bad.csv, line 3: rating is not a number: 'x'" in result.stderr
    assert _count(url) == 0


def test_schema_is_managed_by_migrations(store_url):
    engine = create_store_engine(store_url)
    init_schema(engine)
    init_schema(engine)  # idempotent
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert version == head
    tables = set(inspect(create_store_engine(store_url)).get_table_names())
    assert tables >= {"model_lifecycle", "deletions", "interactions"}


def test_a_filled_store_keeps_its_items_and_references_through_migration_0007(tmp_path):
    """0007 rebuilds the items table of a SQLite store (AUTOINCREMENT), which interactions
    refer to: every row and id stays, and the foreign keys hold and are enforced after."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:  # the store as revision 0006 left it
        command.upgrade(_alembic_config(connection), "0006")
    import_interactions(engine, make_synthetic(30, 20, 200, seed=3), progress=False)
    rows = (
        "SELECT i.id, t.id, t.external_id, t.title FROM interactions i "
        "JOIN items t ON i.item_id = t.id ORDER BY i.id"
    )
    with engine.connect() as connection:
        before = connection.exec_driver_sql(rows).fetchall()
    init_schema(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql(rows).fetchall() == before
        newest = connection.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'items'")
        assert newest.scalar() == max(row[1] for row in before)
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(IntegrityError):  # an item that events refer to stays
            connection.execute(text("DELETE FROM items WHERE id = :id"), {"id": before[0][1]})
    engine.dispose()
    assert len(before) > 0


def test_concurrent_startups_migrate_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    code = (
        "import sys; from app.store.session import *; init_schema(create_store_engine(sys.argv[1]))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, url]) for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0] * 4
    assert _count(url) == 0


def test_server_killed_mid_write_keeps_every_acknowledged_interaction(tmp_path):
    import httpx

    from tests.serve import running_server

    url = f"sqlite:///{tmp_path / 'store.db'}"
    acknowledged: list[str] = []
    env = {"RECO_DATABASE_URL": url, "RECO_ARTIFACTS_DIR": str(tmp_path)}
    with running_server(env) as server:
        base, stop = server.base, False

        def post() -> None:
            n = 0
            with httpx.Client(base_url=base, timeout=5) as client:
                while not stop:
                    item = f"item-{n}"
                    try:
                        response = client.post(
                            "/interactions", json={"user_id": "k", "item_id": item}
                        )
                    except httpx.TransportError:
                        return
                    if response.status_code == 201:
                        acknowledged.append(item)
                    n += 1

        writers = [threading.Thread(target=post) for _ in range(4)]
        for writer in writers:
            writer.start()
        time.sleep(1.5)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=20)
        stop = True
        for writer in writers:
            writer.join()
    assert len(acknowledged) > 20
    engine = create_store_engine(url)
    with make_sessionmaker(engine)() as session:
        stored = set(seen_item_ids(session, "k"))
    engine.dispose()
    assert set(acknowledged) <= stored


def test_concurrent_pointer_writes_each_get_a_revision(store_url):
    """Replicas activating at once: every write lands, with its own revision, on SQLite and
    PostgreSQL; the last one is what the fleet serves."""
    engine = create_store_engine(store_url)
    init_schema(engine)
    sessions = make_sessionmaker(engine)
    versions = [f"2026010{n}T000000000000Z-als" for n in range(1, 9)]

    def write(version: str) -> int:
        with sessions() as session:
            return point_to(session, version, "als", "activate", serving=None).revision

    with ThreadPoolExecutor(4) as pool:
        revisions = sorted(pool.map(write, versions))
    with sessions() as session:
        pointers = read_pointers(session)
    engine.dispose()
    assert revisions == list(range(1, 9))
    assert pointers.revision == 8 and pointers.by_name == {"als": pointers.active}
