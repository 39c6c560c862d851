"""The store view applies the deletion log (SQLite, and PostgreSQL when configured): deleted
rows leave every history, and what an id posts again after its deletion stays, also when the
view read those new events before it saw the deletion."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import app.serving.history_reads as history_reads
import app.serving.store_view as store_view
from app.serving.deletions import NEVER, Cutoff
from app.serving.item_rows import BLOCK
from app.serving.store_view import StoreView
from app.store.deletions import delete_entity
from app.store.log_reads import item_external_ids
from app.store.repository import add_interactions, seen_item_ids
from app.store.tables import Item


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


def _stored(sessions, user: str) -> list[str]:
    with sessions() as session:
        return sorted(seen_item_ids(session, user))


def test_items_are_named_by_row_ids_learned_once_also_when_posted_again(sessions, monkeypatch):
    """Histories are read without the items table: item row ids are learned a block at a
    time, the catalog's at start-up, and an item deleted then posted again (a new row id)
    is named right, by a lookup of the ids from the new one on."""
    lookups: list[tuple[int, int]] = []
    lookup = history_reads.item_external_ids

    def counted(engine, low, high):
        lookups.append((low, high))
        return lookup(engine, low, high)

    monkeypatch.setattr(history_reads, "item_external_ids", counted)
    view = StoreView(sessions)
    view.refresh()
    assert lookups == [(0, BLOCK)]  # the catalog at start-up: its 20 items lie in one block
    for user in map(str, range(20)):
        assert sorted(set(view.history(user).item_ids)) == _stored(sessions, user)
    assert len(lookups) == 1
    with sessions() as session:
        delete_entity(session, "item", "12")
        add_interactions(session, [{"user_id": "3", "item_id": "12", "kind": "click"}])
        posted_again = session.scalar(select(Item.id).where(Item.external_id == "12"))
    view.refresh()
    assert sorted(set(view.history("3").item_ids)) == _stored(sessions, "3")
    assert view.history("3").item_ids.count("12") == 1
    assert lookups[1:] == [(posted_again, BLOCK)]


def test_an_event_whose_item_goes_before_it_is_named_leaves_the_history(sessions, monkeypatch):
    """The item is deleted between the read of a history and the lookup of its row id: its
    event is gone from the store too, so it is not held."""
    read_history = history_reads.user_history

    def item_goes_after_the_read(engine, user_id):
        read = read_history(engine, user_id)
        row_id = int(read[1].split(",")[0])  # the item row id of the first event
        [(_, item)] = item_external_ids(engine, row_id, row_id + 1)
        with sessions() as session:
            delete_entity(session, "item", item)
        return read

    monkeypatch.setattr(history_reads, "user_history", item_goes_after_the_read)
    view = StoreView(sessions)
    history = view.history("4", lambda _: True)
    assert sorted(set(history.item_ids)) == _stored(sessions, "4")
    assert len(history) == len(history.ids) == len(history.fold_in.timestamps) == 8


def test_an_event_gone_before_its_fold_in_columns_are_read_leaves_the_history(
    sessions, monkeypatch
):
    """The item is deleted between the read of a history and the read of its fold-in
    columns: the history keeps the events the store still has, each with its own values."""
    history = StoreView(sessions).history("4")
    gone = history.item_ids[0]
    read_columns = history_reads.user_fold_in_rows

    def item_goes_first(engine, user_id):
        with sessions() as session:
            delete_entity(session, "item", gone)
        return read_columns(engine, user_id)

    monkeypatch.setattr(history_reads, "user_fold_in_rows", item_goes_first)
    view = StoreView(sessions)
    held = view.history("4")
    folded = view.history("4", lambda _: True)
    kept = [item != gone for item in held.item_ids]
    assert folded.item_ids == [item for item in held.item_ids if item != gone]
    assert folded.ids.tolist() == held.ids[kept].tolist()
    assert len(folded.fold_in.values) == len(folded.fold_in.timestamps) == sum(kept)
