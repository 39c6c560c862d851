"""Fleet-wide state: the model lifecycle pointers and the deletion log.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_lifecycle",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("previous_version", sa.String(128), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.Double(), nullable=False),
        sa.Column("changed_by", sa.String(16), nullable=False),
    )
    op.create_table(
        "deletions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("deleted_at", sa.Double(), nullable=False),
    )
    op.create_index("ix_deletions_kind_external_id", "deletions", ["kind", "external_id"])


def downgrade() -> None:
    op.drop_table("deletions")
    op.drop_table("model_lifecycle")
