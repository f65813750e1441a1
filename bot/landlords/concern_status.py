"""Keeping the landlord informed: when a caseworker acts on a concern's alert, the concern's
status follows and the landlord gets a short Telegram message (never any tenant details)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.alerts.lifecycle import on_state_change
from bot.core import outbox
from bot.landlords import texts as landlord_texts
from bot.models import Alert, AlertState, ConcernStatus, Landlord, utcnow
from bot.models.enums import Channel, OutboxKind

_STATUS_FOR_STATE = {
    AlertState.ACKNOWLEDGED: ConcernStatus.ACKNOWLEDGED,
    AlertState.RESOLVED: ConcernStatus.RESOLVED,
    AlertState.OPEN: ConcernStatus.RECEIVED,  # reopened: handled again, no message
}


@on_state_change
def follow_alert(session: Session, alert: Alert, now: datetime | None = None) -> None:
    """Runs after every alert action (registered with bot.alerts.lifecycle); a no-op for alerts
    that are not concerns."""
    concern = alert.concern
    if concern is None:
        return
    now = now or utcnow()
    new_status = _STATUS_FOR_STATE[AlertState(alert.state)]
    if concern.status == new_status:
        return
    concern.status = str(new_status)
    concern.updated_at = now
    if new_status == ConcernStatus.RECEIVED:
        return
    landlord = session.get(Landlord, concern.landlord_id)
    if landlord is None or landlord.telegram_chat_id is None or not landlord.telegram_active:
        return
    text = (landlord_texts.status_acknowledged if new_status == ConcernStatus.ACKNOWLEDGED
            else landlord_texts.status_resolved)(landlord.language, concern.reference)
    # One push per concern and status: a reopen-and-resolve again does not repeat it.
    outbox.enqueue(session, channel=Channel.TELEGRAM, recipient=str(landlord.telegram_chat_id),
                   body=text, key=f"concern:{concern.id}:{new_status}",
                   kind=OutboxKind.CONCERN_STATUS,
                   landlord_id=landlord.id)
