"""Alerts remember when they were put on the municipality's intake route

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-29 23:45:00

When nobody on an alert's team can be reached, the escalator hands it to the intake route; the
intake team must then be able to open and act on it (not only on alerts with no team at all).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intake_at", bot.models.base.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("intake_at")
