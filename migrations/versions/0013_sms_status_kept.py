"""Kept SMS status callbacks: a Twilio callback that beats the dispatcher's record of the send

Revision ID: 0013_sms_status_kept
Revises: 0012
Create Date: 2026-11-30 04:20:00

A "failed" or "undelivered" callback can arrive before the dispatcher has committed the send
it reports on. It is kept here instead of being dropped, and applied by the worker once the
send is recorded (bot.delivery.sms_status.reconcile_kept). The revision id is a name, not a
number, so this migration can be re-chained after another one without renaming it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0013_sms_status_kept"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_status_kept",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=16), nullable=True),
        sa.Column("received_at", bot.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_status_kept")),
    )
    op.create_index("uq_sms_status_kept", "sms_status_kept", ["provider_id", "status"],
                    unique=True)
    op.create_index(op.f("ix_sms_status_kept_received_at"), "sms_status_kept", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sms_status_kept_received_at"), table_name="sms_status_kept")
    op.drop_index("uq_sms_status_kept", table_name="sms_status_kept")
    op.drop_table("sms_status_kept")
