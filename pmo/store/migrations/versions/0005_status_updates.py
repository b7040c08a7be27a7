"""status updates, earned value snapshots, exception gates

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 03:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A stage attempt may now hold exception gates beside the gate that closes it.
    with op.batch_alter_table("gates") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=20), server_default="stage", nullable=False)
        )
        batch.alter_column("gate_key", type_=sa.String(length=80), existing_nullable=False)
        batch.drop_constraint("uq_gates_stage_run_id", type_="unique")
        batch.create_unique_constraint(
            "uq_gates_stage_run_id_gate_key", ["stage_run_id", "gate_key"]
        )
    op.create_table(
        "status_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("stage_run_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("response_key", sa.String(length=120), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("reported_by", sa.String(length=320), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("actual_cost", sa.Numeric(14, 2), nullable=False),
        sa.Column("forecast_finish", sa.Date(), nullable=False),
        sa.Column("forecast_cost", sa.Numeric(14, 2), nullable=False),
        sa.Column("scope_change_percent", sa.Float(), nullable=False),
        sa.Column("quality_shortfall_percent", sa.Float(), nullable=False),
        sa.Column("benefits_shortfall_percent", sa.Float(), nullable=False),
        sa.Column("commentary", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("risks", sa.JSON(), nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("refusal_field", sa.String(length=120), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_status_updates_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["stage_run_id"],
            ["stage_runs.id"],
            name=op.f("fk_status_updates_stage_run_id_stage_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_updates")),
        sa.UniqueConstraint(
            "stage_run_id",
            "response_key",
            name=op.f("uq_status_updates_stage_run_id_response_key"),
        ),
    )
    op.create_table(
        "evm_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status_update_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("percent_complete", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Numeric(14, 2), nullable=False) for name in ("bac", "pv", "ev", "ac")),
        sa.Column("spi", sa.Numeric(10, 4), nullable=True),
        sa.Column("cpi", sa.Numeric(10, 4), nullable=True),
        *(
            sa.Column(name, sa.Numeric(14, 2), nullable=False)
            for name in ("sv", "cv", "eac", "vac")
        ),
        sa.Column("rag", sa.JSON(), nullable=False),
        sa.Column("overall", sa.String(length=10), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_evm_snapshots_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["status_update_id"],
            ["status_updates.id"],
            name=op.f("fk_evm_snapshots_status_update_id_status_updates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evm_snapshots")),
        sa.UniqueConstraint("status_update_id", name=op.f("uq_evm_snapshots_status_update_id")),
    )


def downgrade() -> None:
    op.drop_table("evm_snapshots")
    op.drop_table("status_updates")
    with op.batch_alter_table("gates") as batch:
        batch.drop_constraint("uq_gates_stage_run_id_gate_key", type_="unique")
        batch.create_unique_constraint("uq_gates_stage_run_id", ["stage_run_id"])
        batch.alter_column("gate_key", type_=sa.String(length=60), existing_nullable=False)
        batch.drop_column("kind")
