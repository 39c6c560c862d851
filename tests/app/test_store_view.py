"""The store view: histories read on demand equal the store's, kept current (tail, gaps, other
workers) within a bounded memory."""

from __future__ import annotations

import math

import httpx
import pytest
from sqlalchemy import text

import app.serving.store_view as store_view
from app.serving.history_cache import ENTRY_COST
from app.serving.signal import ChangeSignal
from app.serving.store_view import StoreView
from app.store.repository import add_interactions, user_interactions
from app.store.session import create_store_engine, init_schema, make_sessionmaker
from tests.app.conftest import make_client
from tests.conftest import block_interactions
from tests.serve import running_server
from training.importer import import_interactions


@pytest.fixture
def sessions(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'view.db'}")
    init_schema(engine)
    import_interactions(engine, block_interactions(), progress=False)
    yield make_sessionmaker(engine)
    engine.dispose()


def _items(view: StoreView, user: str) -> list[str]:
    return sorted(view.history(user).item_ids)


def test_view_holds_what_the_store_holds(sessions):
    view = StoreView(sessions)
    view.refresh()
    assert len(view) == 0  # start-up reads no history
    with sessions() as session:
        stored = user_interactions(session, "3", limit=1000)
    assert _items(view, "3") == sorted(row["item_id"] for row in stored)
    history = view.history("3")
    assert history.is_rating.all() and history.newest_api_at == -math.inf  # all imported
    assert history.fold_in is None  # read only for a fold-in
    assert len(view) == len(stored) + ENTRY_COST and len(view.cache) == 1
    assert len(view.history("nobody")) == 0 and view.hidden == frozenset()


def test_refresh_reads_only_what_is_new(sessions):
    view = StoreView(sessions)
    view.refresh()
    before = view.history("3")
    with sessions() as session:
        add_interactions(session, [{"user_id": "3", "item_id": "new-item", "kind": "click"}])
    assert "new-item" not in _items(view, "3")  # until it looks again
    assert view.refresh() == 1 and view.refresh() == 0
    history = view.history("3", lambda _: True)  # with its fold-in columns
    new = history.item_ids.index("new-item")
    assert (history.is_rating[new], history.fold_in.values[new]) == (False, 1.0)
    assert history.newest_api_at > 0  # posted to the API
    assert history.version > before.version


def _stored_columns(sessions, user: str) -> tuple[list[str], list[float], list[float]]:
    """The user's (item ids, values, timestamps) in the store, in id order."""
    with sessions() as session:
        rows = session.execute(
            text(
                "SELECT it.external_id, i.value, i.timestamp FROM interactions i "
                "JOIN items it ON it.id = i.item_id JOIN users u ON u.id = i.user_id "
                "WHERE u.external_id = :user ORDER BY i.id"
            ),
            {"user": user},
        ).all()
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def test_fold_in_columns_are_read_when_asked_for_and_kept_current(sessions):
    """A history is read without its fold-in columns; asked for them, it gets the store's
    values and timestamps in id order, and the tail appends to them."""
    view = StoreView(sessions)
    view.refresh()
    assert view.history("3").fold_in is None
    folded = view.history("3", lambda _: True)
    items, values, times = _stored_columns(sessions, "3")
    assert folded.item_ids == items and list(folded.ids) == sorted(folded.ids)
    assert folded.fold_in.values.tolist() == values and folded.fold_in.timestamps.tolist() == times
    assert view.history("3") is folded  # held with its columns
    with sessions() as session:
        add_interactions(session, [{"user_id": "3", "item_id": "7", "value": 2.5,
                                    "kind": "rating", "timestamp": 123.0}])  # fmt: skip
    view.refresh()
    grown = view.history("3")
    items, values, times = _stored_columns(sessions, "3")
    assert grown.item_ids == items and grown.fold_in is not None
    assert grown.fold_in.values.tolist() == values and grown.fold_in.timestamps.tolist() == times


def test_events_of_several_kinds_are_ordered_by_id(sessions):
    """The history comes from the store one kind at a time; it is ordered by id again."""
    view = StoreView(sessions)
    view.refresh()
    with sessions() as session:
        posted = (("1", "click"), ("2", "play"), ("3", "click"), ("4", "rating"))
        add_interactions(session, [{"user_id": "3", "item_id": i, "kind": k} for i, k in posted])
    history = view.history("3", lambda _: True)
    kinds = [history.kind_names[code] for code in history.kind_codes]
    assert history.item_ids == _stored_columns(sessions, "3")[0]
    assert kinds[-4:] == ["click", "play", "click", "rating"]
    assert history.is_rating.tolist() == [kind == "rating" for kind in kinds]


def test_a_user_first_seen_after_start_up_is_read_whole_then_kept_current(sessions):
    """A user not held is read from the store when asked for (with events the tail passed
    while nobody held them); an unknown user is held as empty and their first event lands."""
    view = StoreView(sessions)
    view.refresh()
    assert len(view.history("newcomer")) == 0
    with sessions() as session:
        add_interactions(session, [{"user_id": "7", "item_id": "a", "kind": "click"}])
        add_interactions(session, [{"user_id": "newcomer", "item_id": "b", "kind": "click"}])
    view.refresh()  # 7 is not held: the tail passes them by
    assert "7" not in view.cache and "a" in _items(view, "7")
    assert _items(view, "newcomer") == ["b"]


def test_memory_is_bounded_by_the_events_held(sessions):
    """Held histories stay under the capacity, least recently used out; one evicted is read
    again, equal to what it was."""
    view = StoreView(sessions, capacity=2 * (9 + ENTRY_COST))
    view.refresh()
    first = _items(view, "1")
    view.history("2")
    view.history("1")  # now the most recently used
    view.history("3")
    assert "1" in view.cache and "3" in view.cache and "2" not in view.cache
    assert view.cache.events <= view.cache.capacity
    for user in map(str, range(20)):
        view.history(user)
    assert len(view.cache) == 2 and _items(view, "1") == first


def test_a_long_tail_empties_the_cache_instead_of_being_read(sessions, monkeypatch):
    """A bulk import adds more than TAIL_LIMIT rows: the held histories go and are read
    again, whole, when asked for."""
    monkeypatch.setattr(store_view, "TAIL_LIMIT", 3)
    view = StoreView(sessions)
    view.refresh()
    view.history("3")
    rows = [{"user_id": "3", "item_id": f"bulk-{n}", "kind": "click"} for n in range(5)]
    with sessions() as session:
        add_interactions(session, rows)
    view.refresh()
    assert "3" not in view.cache
    assert {f"bulk-{n}" for n in range(5)} <= set(_items(view, "3"))


def test_a_lower_id_committed_late_is_picked_up(sessions):
    """On PostgreSQL a writer can commit id n after another committed n + 1: the view waits
    for skipped ids instead of moving past them for good."""
    view = StoreView(sessions)
    view.refresh()
    held = len(view.history("0"))
    newest = view._newest_id
    insert = text(
        "INSERT INTO interactions (id, user_id, item_id, value, kind, timestamp, source, "
        "created_at) VALUES (:id, :user, 1, 5.0, 'rating', 0, 'api', 0)"
    )
    with sessions() as session:
        user = session.scalar(text("SELECT id FROM users WHERE external_id = '0'"))
        session.execute(insert, {"id": newest + 2, "user": user})
        session.commit()
    assert view.refresh() == 1
    with sessions() as session:
        session.execute(insert, {"id": newest + 1, "user": user})
        session.commit()
    assert view.refresh() == 1
    assert len(view.history("0")) == held + 2


def test_signal_token_is_shared_through_the_file(tmp_path):
    first = ChangeSignal.open(tmp_path / "signal")
    second = ChangeSignal.open(tmp_path / "signal")
    before = second.token()
    first.bump()
    assert second.token() == first.token() != before


def test_a_write_through_one_app_reaches_another_at_once(mf_artifacts, tmp_path):
    """Two apps over one store stand in for two worker processes; the periodic refresh is
    made too slow to help, so only the change signal can make the second see the write."""
    slow = {"store_refresh_seconds": 3600}
    with (
        make_client(mf_artifacts, tmp_path, **slow) as writer,
        make_client(mf_artifacts, tmp_path, **slow) as reader,
    ):
        first = reader.get("/recommend/0", params={"k": 1}).json()["items"][0]["item_id"]
        event = {"user_id": "0", "item_id": first, "kind": "click"}
        assert writer.post("/interactions", json=event).status_code == 201
        after = reader.get("/recommend/0", params={"k": 20}).json()
        assert first not in [item["item_id"] for item in after["items"]]
        assert after["strategy"] == "fold_in"


def test_several_worker_processes_never_recommend_what_was_just_seen(mf_artifacts, tmp_path):
    """A real uvicorn with two workers: every fresh connection may reach either of them."""
    make_client(mf_artifacts, tmp_path).close()  # creates and fills the store
    env = {
        "RECO_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "RECO_ARTIFACTS_DIR": str(mf_artifacts),
        "RECO_WORKERS": "2",
        "RECO_STORE_REFRESH_SECONDS": "3600",
    }
    with running_server(env) as server:
        for user in ("1", "5", "9"):
            top = httpx.get(f"{server.base}/recommend/{user}", params={"k": 1}).json()
            item = top["items"][0]["item_id"]
            event = {"user_id": user, "item_id": item, "kind": "click"}
            assert httpx.post(f"{server.base}/interactions", json=event).status_code == 201
            for _ in range(6):
                body = httpx.get(f"{server.base}/recommend/{user}", params={"k": 20}).json()
                assert item not in [i["item_id"] for i in body["items"]]
