"""A bundle trained from the store carries its users' stored events, and a store view answers
a user it knows from them, with no store query, exactly while the store holds no other event
of theirs (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import app.serving.history_reads as history_reads
import app.serving.store_view as store_view
from app.serving.bundle import load_bundle
from app.serving.records import History
from app.serving.store_view import StoreView
from app.store.deletions import delete_entity
from app.store.repository import add_interactions
from app.store.session import create_store_engine, init_schema, make_sessionmaker
from tests.conftest import block_interactions
from training.cli import main
from training.importer import import_interactions


@pytest.fixture
def store(store_url: str):
    """The block fixture (20 users x 9 ratings) with a few API events of other kinds."""
    engine = create_store_engine(store_url)
    init_schema(engine)
    import_interactions(engine, block_interactions(), progress=False)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        add_interactions(session, [
            {"user_id": "3", "item_id": "15", "kind": "click", "value": 1.0, "timestamp": 3000},
            {"user_id": "3", "item_id": "16", "kind": "dislike", "value": 1.0, "timestamp": 3001},
            {"user_id": "4", "item_id": "2", "kind": "play", "value": 0.5, "timestamp": 3002},
        ])  # fmt: skip
    yield store_url, sessions
    engine.dispose()


def _train(url: str, out: Path) -> Path:
    argv = ["train", "--model", "als", "--factors", "4", "--dataset", "store",
            "--database-url", url, "--out", str(out), "--no-holdout", "--no-report"]  # fmt: skip
    assert main(argv) == 0
    return out


def _view(sessions) -> StoreView:
    view = StoreView(sessions)
    view._trained.margin = 0  # PostgreSQL's margin is for concurrent writers: none here
    view.refresh()
    return view


def _columns(history: History) -> tuple:
    kinds = [history.kind_names[code] for code in history.kind_codes.tolist()]
    return history.ids.tolist(), history.item_ids, kinds, history.newest_api_at


def _count_store_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    original = history_reads.user_history

    def counted(engine, user_id):
        reads.append(user_id)
        return original(engine, user_id)

    monkeypatch.setattr(history_reads, "user_history", counted)
    return reads


def test_known_users_histories_come_from_the_bundle_as_the_store_has_them(
    store, tmp_path, monkeypatch
):
    url, sessions = store
    bundle = load_bundle(_train(url, tmp_path / "als-1"))
    assert bundle.histories is not None and bundle.histories.through_id == 183
    assert bundle.histories.kinds == ["click", "dislike", "play", "rating"]
    from_store = StoreView(sessions)
    from_store.refresh()
    expected = {user: _columns(from_store.history(user)) for user in map(str, range(20))}
    view = _view(sessions)
    view.adopt(bundle.histories)
    reads = _count_store_reads(monkeypatch)
    got = {user: _columns(view.history(user)) for user in map(str, range(20))}
    assert got == expected  # every kind, the dislike too, and when the API events came
    assert reads == []
    assert len(got["3"][0]) == 11 and np.isfinite(got["3"][3]) and got["5"][3] == -np.inf


def test_a_user_with_an_event_after_the_bundle_is_read_from_the_store(store, tmp_path, monkeypatch):
    url, sessions = store
    bundle = load_bundle(_train(url, tmp_path / "als-1"))
    with sessions() as session:  # before the view starts: read when the bundle is adopted
        add_interactions(session, [{"user_id": "5", "item_id": "0", "kind": "click"}])
    view = _view(sessions)
    view.adopt(bundle.histories)
    reads = _count_store_reads(monkeypatch)
    assert view.history("5").item_ids[-1] == "0" and reads == ["5"]
    assert len(view.history("6")) == 9 and reads == ["5"]  # held now: no read
    with sessions() as session:  # after: seen by the view's tail
        add_interactions(session, [{"user_id": "7", "item_id": "1", "kind": "click"}])
    view.refresh()
    assert view.history("7").item_ids[-1] == "1" and reads == ["5", "7"]


def test_deletions_since_the_bundle_leave_its_histories(store, tmp_path, monkeypatch):
    url, sessions = store
    bundle = load_bundle(_train(url, tmp_path / "als-1"))
    view = _view(sessions)
    view.adopt(bundle.histories)
    holders = [user for user in map(str, range(20)) if "12" in view.history(user).item_ids]
    assert holders
    with sessions() as session:
        delete_entity(session, "user", "3")
        delete_entity(session, "item", "12")
    view.refresh()
    view.cache.clear()  # as if evicted: read again, from the bundle where it may
    reads = _count_store_reads(monkeypatch)
    assert len(view.history("3")) == 0 and reads == ["3"]  # a deleted user: the store
    assert all("12" not in view.history(user).item_ids for user in holders)
    assert reads == ["3"]  # the others still from the bundle


def test_histories_of_another_store_or_too_far_behind_are_not_adopted(store, tmp_path, monkeypatch):
    url, sessions = store
    other = f"sqlite:///{tmp_path / 'other.db'}"
    engine = create_store_engine(other)
    init_schema(engine)
    import_interactions(engine, block_interactions(per_user=7), progress=False)
    engine.dispose()
    foreign = load_bundle(_train(other, tmp_path / "als-other"))
    own = load_bundle(_train(url, tmp_path / "als-own"))
    view = _view(sessions)
    view.adopt(foreign.histories)
    assert view.trained_version is None
    monkeypatch.setattr(view._trained, "tail_limit", 2)
    with sessions() as session:
        add_interactions(session, [{"user_id": "9", "item_id": str(n)} for n in range(3)])
    view.adopt(own.histories)
    assert view.trained_version is None


def test_a_store_failing_at_adoption_leaves_the_store_answering(store, tmp_path, monkeypatch):
    """Loading a model must not fail because the store did not answer while adopting."""
    from sqlalchemy.exc import OperationalError

    import app.serving.trained_source as trained_source

    url, sessions = store
    bundle = load_bundle(_train(url, tmp_path / "als-1"))
    view = _view(sessions)

    def failing(*_args):
        raise OperationalError("SELECT count(*)", {}, Exception("store down"))

    monkeypatch.setattr(trained_source, "count_since", failing)
    view.adopt(bundle.histories)
    assert view.trained_version is None and len(view.history("3")) == 11


def test_a_bulk_import_past_the_tail_limit_lets_the_histories_go(store, tmp_path, monkeypatch):
    url, sessions = store
    bundle = load_bundle(_train(url, tmp_path / "als-1"))
    view = _view(sessions)
    view.adopt(bundle.histories)
    assert view.trained_version == "als-1"
    monkeypatch.setattr(store_view, "TAIL_LIMIT", 2)
    with sessions() as session:
        add_interactions(session, [{"user_id": "9", "item_id": str(n)} for n in range(3)])
    view.refresh()  # skips to the store's newest rows: it no longer sees each user's
    assert view.trained_version is None
    assert view.history("9").item_ids[-3:] == ["0", "1", "2"]


def test_the_service_answers_known_users_without_a_store_read(store, tmp_path, monkeypatch):
    """Through HTTP: the worker adopts the bundle's histories when it loads it; a known
    user's seen items stay out of their list, with no history query, and after the user
    posts an event, that item is left out too (read-your-writes), read from the store."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    url, _ = store
    _train(url, tmp_path / "artifacts" / "als-1")
    reads = _count_store_reads(monkeypatch)
    monkeypatch.setattr(store_view, "MAX_GAPS", 0)  # PostgreSQL's margin, as in _view
    settings = Settings(database_url=url, artifacts_dir=tmp_path / "artifacts")
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").json()["histories"] == "als-1"
        seen = set(client.app.state.view.history("8").item_ids)
        answer = client.get("/recommend/8", params={"k": 11}).json()
        assert answer["strategy"] == "model" and len(answer["items"]) == 11
        assert not seen & {item["item_id"] for item in answer["items"]}
        assert reads == []
        new = next(item["item_id"] for item in answer["items"])
        posted = client.post("/interactions", json={"user_id": "8", "item_id": new})
        assert posted.status_code == 201
        after = client.get("/recommend/8", params={"k": 11}).json()
        assert new not in {item["item_id"] for item in after["items"]}


def test_a_bundle_whose_histories_do_not_fit_is_refused(store, tmp_path):
    import json

    from app.serving.bundle import BundleError, sha256_file

    url, _ = store
    path = _train(url, tmp_path / "als-1")
    offsets = path / "histories_offsets.npy"
    np.save(offsets, np.load(offsets)[:-1])  # one user short
    manifest = json.loads((path / "manifest.json").read_text())
    entry = manifest["files"]["histories_offsets.npy"]
    entry["sha256"], entry["shape"] = sha256_file(offsets), [entry["shape"][0] - 1]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="histories"):
        load_bundle(path)
