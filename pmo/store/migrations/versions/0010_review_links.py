"""review links, delegations, gate meetings: approvers' personal links to a gate round's
review page and to their inbox; delegations, and the approver a delegate answered for;
the review meeting of a gate round

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("approver_email", sa.String(length=320), nullable=False),
        sa.Column("delegate_email", sa.String(length=320), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_review_links_gate_id_gates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_review_links_token_hash")),
    )
    op.create_index(
        op.f("ix_review_links_approver_email"), "review_links", ["approver_email"], unique=False
    )
    op.create_table(
        "inbox_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("approver_email", sa.String(length=320), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_inbox_links_token_hash")),
    )
    op.create_index(
        op.f("ix_inbox_links_approver_email"), "inbox_links", ["approver_email"], unique=False
    )

    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_email", sa.String(length=320), nullable=False),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    op.create_index(op.f("ix_delegations_from_email"), "delegations", ["from_email"], unique=False)
    op.create_index(op.f("ix_delegations_to_email"), "delegations", ["to_email"], unique=False)
    with op.batch_alter_table("gate_decisions") as batch:
        batch.add_column(sa.Column("on_behalf_of", sa.String(length=320), nullable=True))
    op.create_table(
        "gate_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("set_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["gate_id"], ["gates.id"], name=op.f("fk_gate_meetings_gate_id_gates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_meetings")),
        sa.UniqueConstraint("gate_id", "round", name=op.f("uq_gate_meetings_gate_id_round")),
    )


def downgrade() -> None:
    op.drop_table("gate_meetings")
    with op.batch_alter_table("gate_decisions") as batch:
        batch.drop_column("on_behalf_of")
    op.drop_index(op.f("ix_delegations_to_email"), table_name="delegations")
    op.drop_index(op.f("ix_delegations_from_email"), table_name="delegations")
    op.drop_table("delegations")
    op.drop_index(op.f("ix_inbox_links_approver_email"), table_name="inbox_links")
    op.drop_table("inbox_links")
    op.drop_index(op.f("ix_review_links_approver_email"), table_name="review_links")
    op.drop_table("review_links")
