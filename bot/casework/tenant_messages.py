"""A caseworker answers a tenant by SMS, and the conversation both ways with delivery status.

The SMS goes through the outbox like every other message (so the dispatcher's STOP check at
send time, retries and the message log apply). The rules, checked here so the dashboard and the
API give the same answer:

* A tenant who wrote STOP gets nothing: the caseworker is told to call instead (Twilio would
  refuse it anyway, error 21610). An erased tenant cannot be written to.
* Quiet hours (the municipality's, default 21:00-08:00): an answer to a tenant who wrote within
  the last ``REPLY_WINDOW`` is a reply and goes at once; anything else waits until quiet hours
  end, and the caseworker is told when it will go.
* Sending twice is impossible: each send carries a request key (the form's one-time value, or
  the API's ``Idempotency-Key``); the same key enqueues nothing the second time.
* Every send is in the audit log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.casework.access import Viewer
from bot.core import audit, outbox
from bot.core.i18n import N_, gettext
from bot.core.segments import segments, to_gsm7_friendly
from bot.core.storable import storable
from bot.core.timing import defer_past_quiet_hours
from bot.models import AlertEvent, Direction, Message, Organisation, OutboxItem, Tenant, utcnow
from bot.models.enums import OutboxKind
from bot.models.messaging import UNPROCESSED

KIND = OutboxKind.CASEWORKER_MESSAGE  # outbox kind and Message.intent of a caseworker's SMS
MAX_SEGMENTS = 3
REPLY_WINDOW = timedelta(hours=12)

# Ready answers, offered in the tenant's language. Keys are stable (the form sends the key).
READY_ANSWERS: dict[str, str] = {
    "call_today": N_("I will call you today."),
    "call_tomorrow": N_("I will call you tomorrow."),
    "visit": N_("I will come by and see you. I will write when I am on my way."),
    "call_me": N_("Please call me when you can."),
    "thanks": N_("Thank you for writing. I have read your message."),
}


class CannotSend(Exception):
    """The SMS cannot go; ``reason`` is a catalogue msgid fit to show the caseworker."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


STOPPED = N_("{name} has written STOP, so no SMS can be sent. Call instead.")
ERASED = N_("The tenant's data has been erased.")
EMPTY = N_("Write a message or choose a ready answer.")
TOO_LONG = N_("The message is too long: at most {max} SMS.")
UNKNOWN_READY = N_("Choose one of the ready answers.")


@dataclass(frozen=True)
class Sent:
    outbox_id: int | None  # None: this request key was already sent (nothing new enqueued)
    goes_at: datetime
    deferred: bool  # waits for the end of quiet hours
    body: str


def ready_answers(lang: str) -> list[tuple[str, str]]:
    """(key, text in the tenant's language) for the form."""
    return [(key, gettext(lang, msgid)) for key, msgid in READY_ANSWERS.items()]


def compose(tenant: Tenant, text: str | None, ready: str | None) -> str:
    """The SMS body: the caseworker's words, else the chosen ready answer in the tenant's
    language. Raises CannotSend for an empty, unknown or too long message."""
    body = storable(text or "").strip()
    if not body and ready:
        if ready not in READY_ANSWERS:
            raise CannotSend(UNKNOWN_READY)
        body = gettext(tenant.language, READY_ANSWERS[ready])
    if not body:
        raise CannotSend(EMPTY)
    body = to_gsm7_friendly(body)  # a curly quote must not double the cost (UCS-2)
    if segments(body) > MAX_SEGMENTS:
        raise CannotSend(TOO_LONG)
    return body


def send_to_tenant(session: Session, viewer: Viewer, tenant: Tenant, body: str, *,
                   request_key: str | None, via: str, now: datetime | None = None) -> Sent:
    """Enqueue ``body`` (from :func:`compose`) to ``tenant``; see the module rules."""
    now = now or utcnow()
    if tenant.erased_at is not None:
        raise CannotSend(ERASED)
    if tenant.opted_out:
        raise CannotSend(STOPPED)
    goes_at = now if _wrote_lately(session, tenant, now) else _after_quiet_hours(session, tenant,
                                                                                  now)
    key = f"{KIND}:{tenant.id}:{viewer.id}:{(request_key or uuid.uuid4().hex)[:80]}"
    added = outbox.enqueue(session, channel="sms", recipient=tenant.phone, body=body, key=key,
                           kind=KIND, not_before=goes_at, tenant_id=tenant.id,
                           payload={"author_id": viewer.id})
    if not added:
        return Sent(None, goes_at, goes_at > now, body)
    row_id = session.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == key))
    audit.record(session, f"caseworker:{viewer.id}", "message_tenant", "tenant", tenant.id,
                 outbox_id=row_id, via=via, deferred=goes_at > now)
    return Sent(row_id, goes_at, goes_at > now, body)


def _wrote_lately(session: Session, tenant: Tenant, now: datetime) -> bool:
    return session.scalar(
        select(Message.id).where(Message.tenant_id == tenant.id,
                                 Message.direction == Direction.IN,
                                 Message.created_at >= now - REPLY_WINDOW).limit(1)) is not None


def _after_quiet_hours(session: Session, tenant: Tenant, now: datetime) -> datetime:
    org = session.get(Organisation, tenant.organisation_id)
    if org is None:
        return now
    return defer_past_quiet_hours(now, ZoneInfo(org.tz_name), org.quiet_start, org.quiet_end)


# --------------------------------------------------------------------------- the conversation


@dataclass(frozen=True)
class Line:
    at: datetime
    direction: str  # "in" or "out"
    body: str
    # Label key: outbound, its delivery (pending, sent, delivered, failed, dead, ...); inbound,
    # received (not processed yet), processed, or stuck (processing failed again and again).
    status: str
    kind: str | None  # outbound: the outbox kind / message intent (caseworker_message, ...)
    goes_at: datetime | None = None  # a pending message that waits for quiet hours to end
    error: str | None = None


def conversation(session: Session, tenant_id: int, limit: int = 20) -> list[Line]:
    """The last ``limit`` SMS both ways, newest first, with delivery status. Outbox rows not
    sent yet (waiting, retrying, cancelled, dead) are included, so nothing looks sent that
    was not; so are the tenant's texts not processed yet (only processing ties a message to
    its tenant): one whose processing keeps failing is visible here, not only to operators."""
    messages = list(session.scalars(
        select(Message).where(Message.tenant_id == tenant_id, Message.channel == "sms")
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)))
    messages += session.scalars(
        select(Message).where(text(UNPROCESSED), Message.channel == "sms",
                              Message.tenant_id.is_(None),
                              Message.sender == select(Tenant.phone)
                              .where(Tenant.id == tenant_id).scalar_subquery())
        .limit(limit))
    unsent = session.scalars(
        select(OutboxItem).where(OutboxItem.tenant_id == tenant_id, OutboxItem.channel == "sms",
                                 OutboxItem.message_id.is_(None))
        .order_by(OutboxItem.id.desc()).limit(limit)).all()
    lines = [Line(m.created_at, m.direction, m.body, m.status, m.intent,
                  error=m.error_code) for m in messages]
    lines += [Line(o.created_at, "out", o.body, o.status, o.kind,
                   goes_at=o.next_attempt_at if o.status == "pending" else None,
                   error=o.last_error) for o in unsent]
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines[:limit]


def record_on_alert(session: Session, viewer: Viewer, alert_id: int, sent: Sent) -> None:
    """Put a caseworker's SMS on the alert's timeline (sent from that alert's page)."""
    if sent.outbox_id is not None:
        session.add(AlertEvent(alert_id=alert_id, kind="message_sent",
                               actor=f"caseworker:{viewer.id}",
                               detail={"text": sent.body, "outbox_id": sent.outbox_id,
                                       "goes_at": sent.goes_at.isoformat()}))
