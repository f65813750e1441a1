"""What a permanent delivery failure means for the recipient, per channel.

Called by the dispatcher in the same transaction that dead-letters the outbox row.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.channels.base import PermanentError
from bot.models import OutboxItem


def handle(session: Session, row: OutboxItem, exc: PermanentError) -> None:
    handler = _HANDLERS.get(row.channel)
    if handler is not None:
        handler(session, row, exc)


def sms_failure(session: Session, row: OutboxItem, exc: PermanentError) -> None:
    """SMS: e.g. carrier opt-out (21610) or an invalid number (21211)."""


def telegram_failure(session: Session, row: OutboxItem, exc: PermanentError) -> None:
    """Telegram: e.g. the user blocked the bot (403)."""


_HANDLERS = {"sms": sms_failure, "telegram": telegram_failure}
