"""approval code claims and resume turns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("approval_codes") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("gates") as batch:
        batch.add_column(sa.Column("resume_turn_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gates") as batch:
        batch.drop_column("resume_turn_until")
    with op.batch_alter_table("approval_codes") as batch:
        batch.drop_column("claimed_at")
