"""each lifecycle run's state changes, recorded from Prefect's events

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 04:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("state_type", sa.String(length=20), nullable=False),
        sa.Column("state_name", sa.String(length=60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_run_states_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_states")),
        sa.UniqueConstraint("event_id", name=op.f("uq_run_states_event_id")),
    )
    op.create_index(op.f("ix_run_states_flow_run_id"), "run_states", ["flow_run_id"])
    op.create_index(op.f("ix_run_states_occurred_at"), "run_states", ["occurred_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_run_states_occurred_at"), table_name="run_states")
    op.drop_index(op.f("ix_run_states_flow_run_id"), table_name="run_states")
    op.drop_table("run_states")
