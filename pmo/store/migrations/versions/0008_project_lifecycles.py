"""project lifecycles: every version pinned on a project, and the version a stage ran under

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_lifecycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("lifecycle", sa.String(length=60), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("tailoring", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("entry_stage", sa.String(length=60), nullable=True),
        sa.Column("pinned_by", sa.String(length=320), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_lifecycles_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_lifecycles")),
        sa.UniqueConstraint("project_id", "seq", name=op.f("uq_project_lifecycles_project_id_seq")),
    )
    # Rows written before this migration have none: the project's one pinned version.
    with op.batch_alter_table("stage_runs") as batch:
        batch.add_column(sa.Column("lifecycle_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stage_runs") as batch:
        batch.drop_column("lifecycle_version")
    op.drop_table("project_lifecycles")
