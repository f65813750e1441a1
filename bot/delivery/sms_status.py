"""Delivery status of outbound SMS, from Twilio's status callbacks.

Callbacks can arrive late, twice or out of order (Twilio sends them from several machines), so
a status only ever moves forward: a "sent" after "delivered" is ignored, and the first final
status (delivered, undelivered, failed, canceled) stays. Error codes that say something about
the tenant's number (opted out at the carrier, not a mobile) are applied like a send failure.

A callback can also beat the dispatcher's record of the send (Twilio answers the API call, the
phone network refuses at once, and the "failed" callback arrives before the dispatcher has
committed the send's Message row). Such a callback matches nothing yet: it is kept
(`KeptSmsStatus`, once per message and status) and applied by the worker's `reconcile_kept`
once the send is recorded, so a dead alert SMS never rests as "told". Kept callbacks that never
match (TwiML replies, another app on the account) are dropped after `KEEP_UNMATCHED`.
Exactly once: the message row is locked while a status is applied, and a status equal to the
current one changes nothing, so a repeated callback (live, kept, or both at once) counts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from bot.alerts.told import notification_died
from bot.core.db import affected_rows, insert_for
from bot.core.logs import get_logger
from bot.core.storable import storable
from bot.delivery.failures import sms_error
from bot.models import Direction, KeptSmsStatus, Message, OutboxItem, Tenant, utcnow
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
# An unmatched callback waits this long for its send to be recorded. The dispatcher records a
# send right after the provider's answer; a day covers any worker stall and restart.
KEEP_UNMATCHED = timedelta(days=1)


@dataclass(frozen=True)
class StatusUpdate:
    found: bool
    changed: bool
    status: str | None = None
    effect: str | None = None  # "opted_out" / "invalid" from the error code
    kept: bool = False  # matched no sent SMS yet: kept for reconcile_kept


def apply_status(session: Session, provider_id: str, status: str, error_code: str | None,
                 now: datetime | None = None) -> StatusUpdate:
    status = status.strip().lower()
    # Twilio's codes are digits; anything else is kept only as far as it can be stored.
    error_code = storable(error_code or "", 16).strip() or None
    if status not in _RANK:
        log.warning("sms.status_unknown", status=status[:20])
        return StatusUpdate(found=False, changed=False)
    message = _sent_message(session, provider_id)
    if message is None:
        # Not recorded yet (the callback beat the dispatcher's commit), or never ours (TwiML
        # replies, whose sid we never learn; another app on the same account): kept either way.
        session.execute(insert_for(session)(KeptSmsStatus)
                        .values(provider_id=provider_id, status=status, error_code=error_code,
                                received_at=now or utcnow())
                        .on_conflict_do_nothing(index_elements=["provider_id", "status"]))
        log.info("sms.status_kept", status=status)
        return StatusUpdate(found=False, changed=False, kept=True)
    return _apply(session, message, status, error_code, now)


def _sent_message(session: Session, provider_id: str) -> Message | None:
    # Locked until commit: two deliveries of one callback (a Twilio repeat, a kept copy) take
    # turns, and the second finds the status already applied.
    return session.scalar(select(Message).where(
        Message.channel == Channel.SMS, Message.provider_id == provider_id,
        Message.direction == Direction.OUT).with_for_update())


def _apply(session: Session, message: Message, status: str, error_code: str | None,
           now: datetime | None) -> StatusUpdate:
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


@dataclass(frozen=True)
class Reconciled:
    applied: int  # kept callbacks whose send is now recorded, applied
    dropped: int  # kept callbacks that never matched, past KEEP_UNMATCHED

    def __bool__(self) -> bool:
        return bool(self.applied or self.dropped)


def reconcile_kept(session: Session, now: datetime | None = None, *,
                   batch: int = 500) -> Reconciled:
    """Apply kept callbacks whose send has been recorded since, in the order they came, and
    drop those that waited longer than KEEP_UNMATCHED (a worker job)."""
    now = now or utcnow()
    recorded = exists().where(Message.channel == Channel.SMS,
                              Message.direction == Direction.OUT,
                              Message.provider_id == KeptSmsStatus.provider_id)
    query = (select(KeptSmsStatus).where(recorded).order_by(KeptSmsStatus.id).limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        # Another worker's rows are skipped, not waited for: it is applying them.
        query = query.with_for_update(skip_locked=True, of=KeptSmsStatus)
    applied = 0
    for kept in session.scalars(query).all():
        message = _sent_message(session, kept.provider_id)
        if message is not None:
            _apply(session, message, kept.status, kept.error_code, now)
            applied += 1
        session.delete(kept)
    dropped = affected_rows(session.execute(
        delete(KeptSmsStatus).where(KeptSmsStatus.received_at < now - KEEP_UNMATCHED)
        .execution_options(synchronize_session=False)))
    if applied or dropped:
        log.info("sms.status_reconciled", applied=applied, dropped=dropped)
    return Reconciled(applied, dropped)
