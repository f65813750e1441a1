"""Dispatch claim tokens and the global send-rate slots

Revision ID: 0006
Revises: 0011
Create Date: 2026-11-29 22:30:00

`outbox.claim_token` lets a dispatcher re-check, right before the provider call, that a row is
still its own; `send_slots` holds each sender's next free send slot, shared by all workers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
    op.create_table(
        "send_slots",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("next_slot", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "sender", name=op.f("pk_send_slots")),
    )


def downgrade() -> None:
    op.drop_table("send_slots")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claim_token")
