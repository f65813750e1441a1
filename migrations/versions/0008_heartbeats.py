"""Heartbeats: each web and worker process says it is alive

Revision ID: 0008
Revises: 0010
Create Date: 2026-11-29 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0008"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("process", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", bot.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", bot.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("process", name=op.f("pk_heartbeats")),
    )
    op.create_index(op.f("ix_heartbeats_kind"), "heartbeats", ["kind"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_heartbeats_kind"), table_name="heartbeats")
    op.drop_table("heartbeats")
