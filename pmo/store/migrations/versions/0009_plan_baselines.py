"""plan baselines: plans submitted at planning and by change requests, every baseline
approved, per-package actual cost and the earned value figures against the baseline

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("stage_run_id", sa.Integer(), nullable=False),
        sa.Column("response_key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("submitted_by", sa.String(length=320), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("plan_hash", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("confirmed_activities", sa.JSON(), nullable=False),
        sa.Column("gate_key", sa.String(length=80), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("refusal_field", sa.String(length=120), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_plan_submissions_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["stage_run_id"],
            ["stage_runs.id"],
            name=op.f("fk_plan_submissions_stage_run_id_stage_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_submissions")),
        sa.UniqueConstraint(
            "stage_run_id",
            "response_key",
            name=op.f("uq_plan_submissions_stage_run_id_response_key"),
        ),
    )
    op.create_table(
        "baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("plan_hash", sa.String(length=64), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("gate_id", sa.Integer(), nullable=True),
        sa.Column("gate_round", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_baselines_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["plan_submissions.id"],
            name=op.f("fk_baselines_submission_id_plan_submissions"),
        ),
        sa.ForeignKeyConstraint(["gate_id"], ["gates.id"], name=op.f("fk_baselines_gate_id_gates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_baselines")),
        sa.UniqueConstraint("project_id", "number", name=op.f("uq_baselines_project_id_number")),
        sa.UniqueConstraint("gate_id", name=op.f("uq_baselines_gate_id")),
    )
    with op.batch_alter_table("status_updates") as batch:
        batch.add_column(sa.Column("actual_costs", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("confirmed_activities", sa.JSON(), nullable=True))
    with op.batch_alter_table("evm_snapshots") as batch:
        batch.add_column(sa.Column("baseline_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("evm", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evm_snapshots") as batch:
        batch.drop_column("evm")
        batch.drop_column("baseline_number")
    with op.batch_alter_table("status_updates") as batch:
        batch.drop_column("confirmed_activities")
        batch.drop_column("actual_costs")
    op.drop_table("baselines")
    op.drop_table("plan_submissions")
