"""the store judges every answer and update: wait markers replace resume turns and claims

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Where a run waits (its pause key) and how many waits it has had: an answer that
    # decides a gate, or an update, knows which pause to wake.
    with op.batch_alter_table("gates") as batch:
        batch.add_column(sa.Column("waiting_key", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("waits", sa.Integer(), server_default="0", nullable=False))
        batch.drop_column("resume_turn_until")
    with op.batch_alter_table("stage_runs") as batch:
        batch.add_column(sa.Column("waiting_key", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("waits", sa.Integer(), server_default="0", nullable=False))
    # An answer is judged and recorded in one locked transaction: nothing to claim ahead.
    with op.batch_alter_table("approval_codes") as batch:
        batch.drop_column("claimed_at")
    with op.batch_alter_table("status_updates") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=20), server_default="prefect", nullable=False)
        )
        batch.drop_column("submission_id")


def downgrade() -> None:
    with op.batch_alter_table("status_updates") as batch:
        batch.add_column(
            sa.Column("submission_id", sa.String(length=36), server_default="", nullable=False)
        )
        batch.drop_column("channel")
    with op.batch_alter_table("approval_codes") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("stage_runs") as batch:
        batch.drop_column("waits")
        batch.drop_column("waiting_key")
    with op.batch_alter_table("gates") as batch:
        batch.add_column(sa.Column("resume_turn_until", sa.DateTime(timezone=True), nullable=True))
        batch.drop_column("waits")
        batch.drop_column("waiting_key")
