"""What a permanent delivery failure means for the recipient, per channel.

Called by the dispatcher in the same transaction that dead-letters the outbox row.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit
from bot.alerts import raise_alert
from bot.channels.base import PermanentError
from bot.models import Caseworker, Home, Landlord, OutboxItem, Tenant


def handle(session: Session, row: OutboxItem, exc: PermanentError) -> None:
    handler = _HANDLERS.get(row.channel)
    if handler is not None:
        handler(session, row, exc)


def sms_failure(session: Session, row: OutboxItem, exc: PermanentError) -> None:
    """SMS: e.g. carrier opt-out (21610) or an invalid number (21211)."""


def telegram_failure(session: Session, row: OutboxItem, exc: PermanentError) -> None:
    """Telegram: the user blocked the bot (403). Stop sending to that chat and tell staff.

    A landlord's chat is marked inactive (kept, so an unblock plus /start restores it); a
    caseworker's chat is unlinked (alerts go by their other channels; they re-link from the
    dashboard). Staff learn of it through a low ``delivery_failed`` alert routed to the team
    concerned, plus an audit record. Other 4xx (bad request) only dead-letter the row.
    """
    if exc.code != "403":
        return
    try:
        chat_id = int(row.recipient)
    except ValueError:
        return
    landlord = session.scalar(select(Landlord).where(Landlord.telegram_chat_id == chat_id))
    if landlord is not None and landlord.telegram_active:
        landlord.telegram_active = False
        audit.record(session, "system", "telegram.blocked", "landlord", landlord.id,
                     outbox_id=row.id)
        team_id = session.scalar(
            select(Caseworker.team_id).join(Tenant, Tenant.caseworker_id == Caseworker.id)
            .join(Home, Tenant.home_id == Home.id).where(Home.landlord_id == landlord.id)
            .limit(1))
        alert, created = raise_alert(
            session, source="delivery_failed",
            summary=f"Landlord {landlord.name} ({landlord.company}) blocked the Telegram bot: "
                    "status updates cannot reach them",
            detail={"channel": "telegram", "landlord_id": landlord.id})
        if created:
            alert.team_id = team_id
    caseworker = session.scalar(select(Caseworker).where(Caseworker.telegram_chat_id == chat_id))
    if caseworker is not None:
        caseworker.telegram_chat_id = None
        audit.record(session, "system", "telegram.blocked", "caseworker", caseworker.id,
                     outbox_id=row.id)
        alert, created = raise_alert(
            session, source="delivery_failed",
            summary=f"Caseworker {caseworker.name} blocked the Telegram bot; their Telegram "
                    "link was removed",
            detail={"channel": "telegram", "caseworker_id": caseworker.id})
        if created:
            alert.team_id = caseworker.team_id


_HANDLERS = {"sms": sms_failure, "telegram": telegram_failure}
