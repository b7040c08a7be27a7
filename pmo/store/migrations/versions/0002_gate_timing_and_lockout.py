"""gate timing, lockout and refusal kinds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 02:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gates") as batch:
        batch.add_column(sa.Column("round_opened_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("wrong_codes", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE gates SET round_opened_at = opened_at")
    with op.batch_alter_table("gate_decisions") as batch:
        batch.add_column(sa.Column("refusal_kind", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gate_decisions") as batch:
        batch.drop_column("refusal_kind")
    with op.batch_alter_table("gates") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("locked_at")
        batch.drop_column("wrong_codes")
        batch.drop_column("round_opened_at")
