"""Outbox priority: caseworker alerts before bulk check-in prompts; outbox.message_id indexed

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-30 01:10:00

Alerts and check-in prompts share one sending number and its rate cap. Rows are now claimed by
priority first (0 alert, 1 conversation, 2 bulk), then by due time, so an alert raised while the
planner's prompts are queued goes out next instead of after them. Existing rows get their
kind's priority.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('pending', 'sending')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False,
                                   server_default="1"))
    op.execute("UPDATE outbox SET priority = 0"
               " WHERE kind IN ('alert', 'alert_reminder') OR kind LIKE 'alert.%'")
    op.execute("UPDATE outbox SET priority = 2 WHERE kind IN ('checkin', 'reminder')")
    # A status callback finds the outbox row (and so the alert) of the message it reports on.
    op.create_index("ix_outbox_message_id", "outbox", ["message_id"])
    op.create_index("ix_outbox_claim_order", "outbox", ["priority", "next_attempt_at", "id"],
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade() -> None:
    op.drop_index("ix_outbox_claim_order", table_name="outbox")
    op.drop_index("ix_outbox_message_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
