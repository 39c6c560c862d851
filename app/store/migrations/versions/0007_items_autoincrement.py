"""Item ids are never handed out twice on SQLite either (AUTOINCREMENT), as 0004 did for
interactions.

Serving reads a user's history as item row ids and keeps row id -> item id once per item
(app/serving/item_rows.py), instead of joining items for every event. Without AUTOINCREMENT
SQLite gives a new item the largest id plus one, so deleting the newest item would give its
id to the next one, and a worker would name the new item's events after the deleted one.
PostgreSQL's sequences never reuse an id: nothing to do there. SQLite cannot alter a primary
key, so the table is rebuilt with the same columns and rows; interactions keep referring to
it by name (init_schema runs migrations with SQLite's foreign keys off, as its documented
table rebuild asks).

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = "id, external_id, title, genres, metadata, hidden, created_at"


def _rebuild(autoincrement: bool) -> None:
    op.create_table(
        "items_rebuilt",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.String(128), nullable=False, unique=True),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("genres", sa.String(512), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=autoincrement,
    )
    op.execute(f"INSERT INTO items_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM items")
    op.drop_table("items")
    op.rename_table("items_rebuilt", "items")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(autoincrement=False)
