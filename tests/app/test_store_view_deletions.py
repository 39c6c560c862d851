"""The store view applies the deletion log (SQLite, and PostgreSQL when configured): deleted
rows leave every history, and what an id posts again after its deletion stays, also when the
view read those new events before it saw the deletion."""

from __future__ import annotations

import pytest

import app.serving.store_view as store_view
from app.serving.deletions import NEVER, Cutoff
from app.serving.store_view import StoreView
from app.store.deletions import delete_entity
from app.store.repository import add_interactions


@pytest.fixture
def sessions(block_store_sessions):
    return block_store_sessions


def _holders(view: StoreView, item: str) -> list[str]:
    return [user for user in map(str, range(20)) if item in view.history(user).item_ids]


def test_view_forgets_a_deleted_user_and_item(sessions):
    view = StoreView(sessions)
    view.refresh()
    version, (_, hidden_version) = view.history("3").version, view.hidden_state
    holders = _holders(view, "12")
    assert len(view.history("3")) == 9 and holders
    with sessions() as session:
        delete_entity(session, "user", "3")
        delete_entity(session, "item", "12")
    view.refresh()
    history = view.history("3")
    assert len(history) == 0 and history.deleted is not None
    assert view.history("3").version > version  # a cached answer of theirs is stale now
    assert _holders(view, "12") == []
    assert all(view.history(user).version > 0 for user in holders)
    hidden, new_version = view.hidden_state
    assert "12" in hidden and new_version > hidden_version
    assert view.hidden_for(NEVER)[0] == frozenset()  # the store fallback: nothing to exclude
    later = Cutoff(None, history.deleted[1] + 1)  # a bundle made after the deletions
    assert view.hidden_for(later)[0] == frozenset()


@pytest.mark.parametrize(("kind", "external_id"), [("user", "3"), ("item", "12")])
def test_events_posted_again_before_the_view_sees_the_deletion_stay(
    sessions, monkeypatch, kind, external_id
):
    """The deletion and a new event of the same id land between the view's read of the log
    and its read of the interactions: the next refresh drops the old rows, not the new one."""
    view = StoreView(sessions)
    view.refresh()
    before = view.history("3").item_ids
    read_log = store_view.deletions_since

    def deletion_lands_after_the_log_read(session, after_id):
        logged = read_log(session, after_id)
        monkeypatch.setattr(store_view, "deletions_since", read_log)
        with sessions() as writer:
            delete_entity(writer, kind, external_id)
            add_interactions(writer, [{"user_id": "3", "item_id": "12", "kind": "click"}])
        return logged

    monkeypatch.setattr(store_view, "deletions_since", deletion_lands_after_the_log_read)
    view.refresh()  # the new event is read, the deletion is not yet
    assert len(view.history("3")) == len(before) + 1
    view.refresh()
    history = view.history("3")
    kept = [] if kind == "user" else [item for item in before if item != "12"]
    assert sorted(history.item_ids) == sorted([*kept, "12"])
    assert kind == "user" or _holders(view, "12") == ["3"]
    assert (history.deleted is not None) == (kind == "user")
