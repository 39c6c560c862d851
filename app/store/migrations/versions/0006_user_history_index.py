"""A user's history is read from one index: interactions by (user_id, id) carrying every
column serving reads, instead of an index on user_id and a table row fetched per event.

Serving reads a history when a user is first asked for; over 20M events the rows of one user
lie on as many table pages (0.5 ms of SQLite for 65 rows), while one covering index holds
them side by side. Building it on a large store takes minutes (once).

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ["user_id", "id", "item_id", "value", "kind", "timestamp", "created_at", "source"]


def upgrade() -> None:
    op.create_index("ix_interactions_user_history", "interactions", COLUMNS)
    op.drop_index("ix_interactions_user_id", "interactions")


def downgrade() -> None:
    op.create_index("ix_interactions_user_id", "interactions", ["user_id"])
    op.drop_index("ix_interactions_user_history", "interactions")
