"""Delivery status of outbound SMS, from Twilio's status callbacks.

Callbacks can arrive late, twice or out of order (Twilio sends them from several machines), so
a status only ever moves forward: a "sent" after "delivered" is ignored, and the first final
status (delivered, undelivered, failed, canceled) stays. Error codes that say something about
the tenant's number (opted out at the carrier, not a mobile) are applied like a send failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.told import notification_died
from bot.core.logs import get_logger
from bot.core.storable import storable
from bot.delivery.failures import sms_error
from bot.models import Direction, Message, OutboxItem, Tenant, utcnow
from bot.models.enums import ALERT_MESSAGE_KINDS, Channel

log = get_logger(__name__)

# Twilio's MessageStatus values in the order a message moves through them. Our dispatcher
# records "sent" when Twilio accepted the message (API answer), i.e. at least "queued".
_RANK = {
    "accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
    "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "read": 5,
}
FINAL = frozenset({"delivered", "undelivered", "failed", "canceled"})
# Final statuses that mean the recipient's phone never got the message.
NOT_RECEIVED = frozenset({"undelivered", "failed", "canceled"})


@dataclass(frozen=True)
class StatusUpdate:
    found: bool
    changed: bool
    status: str | None = None
    effect: str | None = None  # "opted_out" / "invalid" from the error code


def apply_status(session: Session, provider_id: str, status: str, error_code: str | None,
                 now: datetime | None = None) -> StatusUpdate:
    status = status.strip().lower()
    # Twilio's codes are digits; anything else is kept only as far as it can be stored.
    error_code = storable(error_code or "", 16).strip() or None
    if status not in _RANK:
        log.warning("sms.status_unknown", status=status[:20])
        return StatusUpdate(found=False, changed=False)
    message = session.scalar(select(Message).where(
        Message.channel == Channel.SMS, Message.provider_id == provider_id,
        Message.direction == Direction.OUT))
    if message is None:
        # E.g. TwiML replies (we never learn their sid) or another app on the same account.
        log.info("sms.status_unmatched", status=status)
        return StatusUpdate(found=False, changed=False)
    current = message.status
    current_rank = _RANK.get(current, -1)
    regression = _RANK[status] < current_rank or (current in FINAL and status != current
                                                  and _RANK[status] <= current_rank)
    effect = None
    if error_code and message.tenant_id is not None and status in ("undelivered", "failed"):
        tenant = session.get(Tenant, message.tenant_id)
        if tenant is not None:
            effect = sms_error(session, tenant, error_code, now=now or utcnow())
    if regression or status == current:
        return StatusUpdate(found=True, changed=False, status=current, effect=effect)
    message.status = status
    if error_code:
        message.error_code = error_code
    log.info("sms.status", message_id=message.id, status=status, error_code=error_code)
    if status in NOT_RECEIVED and message.intent in ALERT_MESSAGE_KINDS:
        _alert_not_received(session, message, status, error_code, now or utcnow())
    return StatusUpdate(found=True, changed=True, status=status, effect=effect)


def _alert_not_received(session: Session, message: Message, status: str,
                        error_code: str | None, now: datetime) -> None:
    """Twilio took the caseworker's alert SMS but the phone never got it (switched off for
    days, number gone, carrier refused): it told nobody, so the alert moves on like a dead
    letter."""
    key = session.scalar(select(OutboxItem.idempotency_key)
                         .where(OutboxItem.message_id == message.id))
    if key is None:
        return
    notification_died(session, key, message.caseworker_id, Channel.SMS,
                      f"{status} at the carrier" + (f" (error {error_code})" if error_code else ""),
                      now=now)
