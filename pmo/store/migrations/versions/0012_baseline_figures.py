"""a baseline keeps what its plan asks for month by month (planned value, effort by role),
computed once when approved, so a portfolio of thousands reads figures instead of plans

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:30:00

Existing rows keep a null: computing their figures needs the application's scheduler,
which a migration must not import (it changes; the migration must not). A null is
computed from the plan when read (`pmo.store.plans.figures_of`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("baselines") as batch:
        batch.add_column(sa.Column("figures", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("baselines") as batch:
        batch.drop_column("figures")
