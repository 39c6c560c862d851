"""Deleting users and items in the store (SQLite, and PostgreSQL when configured): all or
nothing, logged, never handing a deleted row's id to a new event, invisible to training."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.store.deletions import delete_entity, deletions_since, latest_deletion_id
from app.store.repository import add_interactions, user_exists
from app.store.tables import Interaction, Item, User
from tests.conftest import block_interactions
from training.cli import main
from training.datasets.store import load_store


@pytest.fixture
def sessions(block_store_sessions):
    return block_store_sessions


def _count(session, column, key) -> int:
    return session.scalar(select(func.count(Interaction.id)).where(column == key))


def _ids(session, table) -> set[str]:
    return set(session.scalars(select(table.external_id)))


def test_delete_user_removes_history_and_row_and_logs_it(sessions):
    with sessions() as session:
        user = session.scalar(select(User.id).where(User.external_id == "3"))
        done = delete_entity(session, "user", "3")
        assert (done.kind, done.external_id, done.interactions) == ("user", "3", 9)
        assert _count(session, Interaction.user_id, user) == 0
        assert not user_exists(session, "3") and "3" in _ids(session, Item)
        assert deletions_since(session, 0) == [(done.id, "user", "3", done.deleted_at)]
        assert latest_deletion_id(session) == done.id
        assert delete_entity(session, "user", "3") is None  # unknown now
        assert latest_deletion_id(session) == done.id  # nothing logged for an unknown id


def test_delete_item_removes_every_users_event_of_it(sessions):
    with sessions() as session:
        item = session.scalar(select(Item.id).where(Item.external_id == "12"))
        events = _count(session, Interaction.item_id, item)
        done = delete_entity(session, "item", "12")
        assert done.interactions == events > 0
        assert _count(session, Interaction.item_id, item) == 0
        assert "12" not in _ids(session, Item) and len(_ids(session, User)) == 20
        assert delete_entity(session, "item", "nope") is None


def _refuse_deletion_log_writes(session) -> None:
    """A trigger that fails the last step of a deletion (the log row), on either database."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON deletions "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    else:
        session.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql"
            )
        )
        session.execute(
            text("CREATE TRIGGER refuse BEFORE INSERT ON deletions EXECUTE FUNCTION refuse()")
        )
    session.commit()


def test_a_failed_deletion_leaves_nothing_half_deleted(sessions):
    """The log insert fails after the interactions and the row were deleted: the whole
    transaction rolls back, the user keeps every event and the row."""
    with sessions() as session:
        _refuse_deletion_log_writes(session)
        user = session.scalar(select(User.id).where(User.external_id == "3"))
        with pytest.raises(DBAPIError, match="refused"):
            delete_entity(session, "user", "3")
        session.rollback()
        assert user_exists(session, "3") and _count(session, Interaction.user_id, user) == 9
        assert latest_deletion_id(session) == 0


def test_ids_of_deleted_newest_rows_are_never_reused(sessions):
    """Deleting the newest events must not hand their ids to the next ones (SQLite reuses
    max(id) + 1 without AUTOINCREMENT): store views and bundles count those ids as seen."""
    with sessions() as session:
        add_interactions(session, [{"user_id": "late", "item_id": "1"}] * 3)
        newest = session.scalar(select(func.max(Interaction.id)))
        delete_entity(session, "user", "late")
        add_interactions(session, [{"user_id": "late", "item_id": "2"}])
        assert session.scalar(select(func.max(Interaction.id))) == newest + 1


def test_training_after_a_deletion_never_sees_the_user_or_item(store_url, sessions, tmp_path):
    """`reco train --dataset store` reads no row of a deleted user or item, and its bundle
    records the deletions its data is clean of."""
    with sessions() as session:
        delete_entity(session, "user", "3")
        done = delete_entity(session, "item", "12")
    data = load_store(store_url)
    full = block_interactions().frame
    assert len(data) == ((full["user"] != "3") & (full["item"] != "12")).sum()
    assert "3" not in set(data.frame["user"]) and "12" not in set(data.frame["item"])
    assert "12" not in set(data.items["item"])
    bundle = tmp_path / "bundle"
    argv = ["train", "--model", "popularity", "--dataset", "store", "--database-url",
            store_url, "--out", str(bundle), "--no-holdout", "--no-report"]  # fmt: skip
    assert main(argv) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["dataset"]["latest_deletion_id"] == done.id
    assert "12" not in json.loads((bundle / "items.json").read_text())


def test_ids_of_deleted_newest_items_are_never_reused(sessions):
    """Serving names a history's items by their row ids, learned once per item
    (app/serving/item_rows.py): a new item must never get a deleted one's id."""
    with sessions() as session:
        add_interactions(session, [{"user_id": "1", "item_id": "newest"}])
        newest = session.scalar(select(func.max(Item.id)))
        delete_entity(session, "item", "newest")
        add_interactions(session, [{"user_id": "1", "item_id": "next"}])
        assert session.scalar(select(Item.id).where(Item.external_id == "next")) == newest + 1
