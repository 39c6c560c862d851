"""Interaction ids are never handed out twice on SQLite either (AUTOINCREMENT).

Without it SQLite gives a new row the largest id plus one, so deleting the newest rows (a
user's or item's deletion) would give their ids to the next events, which every store view
and every trained model's `latest_interaction_id` already count as seen. PostgreSQL's
sequences never reuse an id: nothing to do there. SQLite cannot alter a primary key, so the
table is rebuilt with the same columns, rows and indexes.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = "id, user_id, item_id, value, kind, timestamp, source, created_at"


def _indexes() -> None:
    op.create_index("ix_interactions_user_id", "interactions", ["user_id"])
    op.create_index("ix_interactions_item_id", "interactions", ["item_id"])
    op.create_index(
        "uq_imported_interaction",
        "interactions",
        ["user_id", "item_id", "kind", "timestamp"],
        unique=True,
        sqlite_where=sa.text("source = 'import'"),
        postgresql_where=sa.text("source = 'import'"),
    )


def _rebuild(autoincrement: bool) -> None:
    op.create_table(
        "interactions_rebuilt",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("timestamp", sa.Double(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sqlite_autoincrement=autoincrement,
    )
    op.execute(f"INSERT INTO interactions_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM interactions")
    op.drop_table("interactions")  # its indexes go with it
    op.rename_table("interactions_rebuilt", "interactions")
    _indexes()


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(autoincrement=False)
