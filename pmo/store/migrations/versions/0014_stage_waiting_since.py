"""when a stage attempt began to wait for its plan or status update

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 20:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The gate-sla sweep asks Prefect about a waiting run only when its input was recorded
    # after the wait began; rows older than this migration have none and are always asked.
    with op.batch_alter_table("stage_runs") as batch:
        batch.add_column(sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stage_runs") as batch:
        batch.drop_column("waiting_since")
