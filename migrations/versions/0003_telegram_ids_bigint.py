"""Telegram ids as 64-bit integers

Telegram user ids have passed 2**31 and group chat ids look like -1001234567890: a 32-bit
INTEGER column cannot hold them on PostgreSQL. SQLite's INTEGER is already 64-bit: nothing to do.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("landlords", "telegram_user_id"), ("landlords", "telegram_chat_id"),
           ("caseworkers", "telegram_chat_id"))


def _retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite's INTEGER already holds 64 bits; rebuilding referenced tables is risky
    for table, column in COLUMNS:
        op.alter_column(table, column, existing_type=old, type_=new)


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer())
