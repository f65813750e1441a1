"""Provider ids unique for inbound messages only

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:45:00

Outbound provider ids are not globally unique (Telegram message ids are per chat), and a
duplicate must not make the dispatcher fail after a successful send.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INBOUND = sa.text("direction = 'in'")


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_channel_provider_id", type_="unique")
    op.create_index("uq_messages_inbound_provider_id", "messages", ["channel", "provider_id"],
                    unique=True, sqlite_where=INBOUND, postgresql_where=INBOUND)
    op.create_index("ix_messages_channel_provider_id", "messages", ["channel", "provider_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_channel_provider_id", table_name="messages")
    op.drop_index("uq_messages_inbound_provider_id", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_messages_channel_provider_id",
                                          ["channel", "provider_id"])
