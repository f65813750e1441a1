"""Stranded inbound SMS: the worker processes a stored SMS whose processing failed

Revision ID: 0014_stranded_inbound
Revises: 0013_sms_status_kept
Create Date: 2026-12-01 10:00:00

The webhook stores an inbound SMS in one transaction and processes it in a second; when the
second fails past Twilio's retries the message used to stay unprocessed for good. The worker's
`process_stranded_inbound` job (bot.tenants.stranded) now processes it. `messages.
process_failures` and `process_retry_at` are its backoff; `ix_messages_unprocessed` covers the
few inbound rows not yet processed, so the job never reads the whole message log. The revision
id is a name, not a number, so this migration can be re-chained after another one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0014_stranded_inbound"
down_revision: str | None = "0013_sms_status_kept"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPROCESSED = "direction = 'in' AND processed_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("process_failures", sa.SmallInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("process_retry_at",
                                   bot.models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_messages_unprocessed", "messages", ["channel", "created_at"],
                    sqlite_where=sa.text(UNPROCESSED), postgresql_where=sa.text(UNPROCESSED))


def downgrade() -> None:
    op.drop_index("ix_messages_unprocessed", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("process_retry_at")
        batch.drop_column("process_failures")
