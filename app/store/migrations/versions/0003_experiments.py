"""Experiments: arms with their counters, the users they served, the lists clicked.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("winner", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("stopped_at", sa.Double(), nullable=True),
    )
    op.create_index(
        "uq_one_running_experiment",
        "experiments",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "experiment_arms",
        sa.Column("experiment_id", sa.Integer(), sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", "position"),
    )
    for table, column, length in (
        ("experiment_users", "user_id", 128),
        ("experiment_clicks", "recommendation_id", 64),
    ):
        op.create_table(
            table,
            sa.Column(
                "experiment_id", sa.Integer(), sa.ForeignKey("experiments.id"), nullable=False
            ),
            sa.Column(column, sa.String(length), nullable=False),
            sa.Column("arm", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("experiment_id", column),
        )


def downgrade() -> None:
    op.drop_table("experiment_clicks")
    op.drop_table("experiment_users")
    op.drop_table("experiment_arms")
    op.drop_table("experiments")
