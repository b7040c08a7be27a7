"""gatekeepers score a gate's criteria with their answer; mail of no one project

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gate_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gate_decision_id", sa.Integer(), nullable=False),
        sa.Column("criterion_key", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gate_decision_id"],
            ["gate_decisions.id"],
            name=op.f("fk_gate_scores_gate_decision_id_gate_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_scores")),
        sa.UniqueConstraint(
            "gate_decision_id",
            "criterion_key",
            name=op.f("uq_gate_scores_gate_decision_id_criterion_key"),
        ),
    )

    # The portfolio review goes to the PMO: a message of no one project.
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("gate_scores")
