"""Undelivered alerts, unknown senders' alerts, municipalities' SMS numbers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 22:40:00

`alerts.undelivered_at`: set when an alert's whole policy and the intake route reached nobody;
such an alert stays due for a retry and sits at the top of every queue. `alerts.sender_phone`:
the unknown number an alert is about, so later messages from it join the one open alert.
`organisations.sms_number`: the service number tenants text, which tells an unknown sender's
municipality.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undelivered_at", bot.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("sender_phone", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_alerts_sender_phone", ["sender_phone"])
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_number", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint("uq_organisations_sms_number", ["sms_number"])


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_organisations_sms_number", type_="unique")
        batch_op.drop_column("sms_number")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_sender_phone")
        batch_op.drop_column("sender_phone")
        batch_op.drop_column("undelivered_at")
