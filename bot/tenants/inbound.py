"""Inbound SMS: store first, then process exactly once, and remember the reply.

The webhook calls :func:`store` in its own transaction and commits it before anything else, so a
message is never lost to a processing error; then :func:`process` in a second transaction. A
provider retry of the same MessageSid finds the stored row: if it was processed, the remembered
reply is given again and nothing is done twice; if processing never finished (a crash, an error),
the retry processes it, and failing that the worker does (bot.tenants.stranded), its reply then
going through the outbox. The claim is a conditional UPDATE, so two concurrent deliveries of one
MessageSid, or a delivery and the worker, cannot both process it, on PostgreSQL or SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    bindparam,
    exists,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, joinedload

from bot.alerts.lifecycle import tenant_case_lock
from bot.alerts.routing import Delivery
from bot.casework.sms_replies import handle_caseworker_sms
from bot.checkins.rows import Looked, newest_open_checkin_id
from bot.core.db import insert_for_dialect
from bot.core.logs import get_logger
from bot.core.outbox import enqueue
from bot.core.storable import storable
from bot.models import Caseworker, CheckIn, Direction, Message, OutboxItem, Tenant, utcnow
from bot.models.enums import Channel
from bot.tenants.conversation import handle_tenant_sms, handle_unknown_sms
from bot.tenants.intents import Intent, parse

log = get_logger(__name__)

CHANNEL = Channel.SMS
MESSAGES = cast(Table, Message.__table__)
# Twilio caps a message at 1600 characters; anything longer is not from Twilio, but is kept.
MAX_STORED = 20_000


@dataclass(frozen=True)
class ReadAhead:
    """An inbound body as it is stored, and what a tenant's message with it says."""

    body: str
    intent: Intent


def read_ahead(body: str | None) -> ReadAhead:
    """Pure work on the posted body that `process` would do inside its transaction: done
    before it, it is not done while SQLite's single writer turn is held (bot.core.db)."""
    clean = _clean_body(body)
    return ReadAhead(clean, parse(clean))


@dataclass(frozen=True)
class Processed:
    message_id: int
    reply: str | None
    duplicate: bool  # a retry of a message processed before: nothing was done this time
    intent: str | None = None


def reply_key(message_id: int) -> str:
    """Outbox key of the reply to an inbound SMS sent as an SMS of its own (not as TwiML)."""
    return f"sms-reply:{message_id}"


def _clean_body(body: str | None) -> str:
    return storable(body or "", MAX_STORED)


# The statements every inbound SMS runs, built once per process: building a SQLAlchemy statement
# costs more than running it (~280 against ~50 microseconds on SQLite). Core ones are executed
# on the session's connection, past the ORM layer; only the sender comes back as ORM objects.
@cache
def _store_sql(dialect: str) -> Any:
    insert = insert_for_dialect(dialect)
    return (insert(MESSAGES).values(
        direction=Direction.IN, channel=CHANNEL, status="received",
        provider_id=bindparam("provider_id"), sender=bindparam("sender"),
        recipient=bindparam("recipient"), body=bindparam("body"),
        created_at=bindparam("created_at"))
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"],
                                index_where=text("direction = 'in'"))
        .returning(MESSAGES.c.id))


_STORED_ID = select(MESSAGES.c.id).where(MESSAGES.c.channel == CHANNEL,
                                         MESSAGES.c.provider_id == bindparam("provider_id"))
# The claim and the read are one statement: UPDATE .. RETURNING the claimed row's columns.
_CLAIM = (update(MESSAGES)
          .where(MESSAGES.c.id == bindparam("message_id"), MESSAGES.c.processed_at.is_(None))
          .values(processed_at=bindparam("now"), status="processed")
          .returning(MESSAGES.c.sender, MESSAGES.c.recipient, MESSAGES.c.body))
# A retry's remembered reply, and whether the worker sent it by SMS instead (reply_key).
_ANSWERED = select(MESSAGES.c.reply, MESSAGES.c.intent,
                   exists().where(OutboxItem.idempotency_key == bindparam("reply_key"))
                   .label("queued")).where(MESSAGES.c.id == bindparam("message_id"))
# Bound by names no column has: executed with a column's name as a key, a statement would set
# that column too, and in the WITH form below that would reach the UPDATE.
_OUTCOME = (update(MESSAGES).where(MESSAGES.c.id == bindparam("message_id"))
            .values(tenant_id=bindparam("of_tenant"), caseworker_id=bindparam("of_caseworker"),
                    intent=bindparam("outcome"), reply=bindparam("reply_text")))
_REPLY = insert(MESSAGES).values(
    direction=Direction.OUT, channel=CHANNEL, intent="reply", status="replied",
    sender=bindparam("reply_from"), recipient=bindparam("reply_to"),
    body=bindparam("reply_text"), tenant_id=bindparam("of_tenant"),
    caseworker_id=bindparam("of_caseworker"), created_at=bindparam("replied_at"))
_OUTCOME_AND_REPLY = _REPLY.add_cte(_OUTCOME.cte("outcome"))


def _with_sender(query: Select[Any], phone: ColumnElement[str]) -> Select[Any]:
    """``query`` and the tenant who has ``phone`` with their caseworker and their open
    check-in (what most messages answer), and whether an active caseworker has the number too
    (that wins). The tenant's active case is looked up only by a message that raises an alert,
    after taking the case's lock (bot.alerts.lifecycle.lock_case)."""
    staff_number = exists().where(Caseworker.phone == phone, Caseworker.active.is_(True))
    return (query.add_columns(Tenant, CheckIn, staff_number.label("staff"))
            .outerjoin(CheckIn, CheckIn.id == newest_open_checkin_id(Tenant.id))
            .options(joinedload(Tenant.caseworker))
            .limit(1))


@cache
def _sender_sql() -> Any:
    # Built on first use: the mappers must be complete.
    return _with_sender(select().select_from(Tenant), bindparam("phone")).where(
        Tenant.phone == bindparam("phone"), Tenant.erased_at.is_(None))


@cache
def _claim_and_sender_sql() -> Any:
    # PostgreSQL: the claim and the sender's read in one round trip, the claim (UPDATE ..
    # RETURNING) as a WITH clause the read starts from. No row: claimed before. SQLite has no
    # data-modifying WITH: the claim, then the read.
    # It also takes the tenant's case lock, which raising an alert needs before it looks for
    # their case (a later statement, so it sees any case another transaction made meanwhile).
    claimed = _CLAIM.cte("claimed")
    query = (select(claimed.c.sender, claimed.c.recipient, claimed.c.body,
                    tenant_case_lock(Tenant.id).label("case_lock"))
             .select_from(claimed)
             .outerjoin(Tenant, (Tenant.phone == claimed.c.sender)
                        & Tenant.erased_at.is_(None)))
    return _with_sender(query, claimed.c.sender)


@cache
def _staff_sql() -> Any:
    return select(Caseworker).where(Caseworker.phone == bindparam("phone"),
                                    Caseworker.active.is_(True))


def staff_with_phone(session: Session, phone: str) -> Caseworker | None:
    """The active caseworker with this number: their texts are reply codes, not a tenant's."""
    found: Caseworker | None = session.scalar(_staff_sql(), {"phone": phone})
    return found


def store(session: Session, *, provider_id: str, sender: str, recipient: str,
          body: str | None, now: datetime | None = None) -> tuple[int, bool]:
    """Insert the inbound message unless its provider id is known; (message id, created)."""
    conn = session.connection()
    new_id = conn.execute(_store_sql(conn.dialect.name), {
        "provider_id": provider_id, "sender": storable(sender, 254),
        "recipient": storable(recipient, 254), "body": _clean_body(body),
        "created_at": now or utcnow()}).scalar()
    if new_id is not None:
        return int(new_id), True
    existing = conn.execute(_STORED_ID, {"provider_id": provider_id}).scalar()
    assert existing is not None
    return int(existing), False


@dataclass(frozen=True)
class _Sender:
    caseworker: Caseworker | None = None
    tenant: Tenant | None = None
    looked: Looked | None = None  # the tenant's open check-in, read with them


def _sender(session: Session, phone: str, row: Row[Any] | None) -> _Sender:
    """Who wrote: an active caseworker (their reply codes win), else a tenant, else nobody.

    Tenants write far more often than caseworkers, so the common case is the one statement
    that read ``row`` (`_with_sender`): the tenant with their caseworker and open check-in (the
    conversation needs them) and whether a caseworker has the number too.
    """
    as_tenant = None
    if row is not None and row.Tenant is not None:
        as_tenant = _Sender(tenant=row.Tenant, looked=Looked(row.CheckIn))
        if not row.staff:
            return as_tenant
    caseworker = staff_with_phone(session, phone)
    if caseworker is not None:
        return _Sender(caseworker=caseworker)
    return as_tenant or _Sender()


def process(session: Session, message_id: int, *, pictures: int = 0,
            carrier_opt: str | None = None, delivery: Delivery | None = None,
            now: datetime | None = None, ahead: ReadAhead | None = None,
            queue_reply: bool = False) -> Processed:
    """Process a stored inbound SMS once; a second call returns the first call's reply.

    ``delivery``: the process's settings and configured channels, for the alert's first
    notification in this transaction (None: every channel). ``ahead``: the posted body read
    before the transaction; used only if it is the body stored (a retry's could differ).
    ``queue_reply``: nobody waits to return the reply as TwiML (the worker processing a
    stranded message): it goes through the outbox, once (``reply_key``). A later call then
    returns no reply, so a late provider retry does not send it a second time."""
    now = now or utcnow()
    conn = session.connection()
    postgresql = conn.dialect.name == "postgresql"
    claim = {"message_id": message_id, "now": now}
    claimed = (session.execute(_claim_and_sender_sql(), claim) if postgresql
               else conn.execute(_CLAIM, claim)).first()
    if claimed is None:  # processed before (a retry) or by a concurrent delivery
        before = conn.execute(_ANSWERED, {"message_id": message_id,
                                          "reply_key": reply_key(message_id)}).one()
        return Processed(message_id, None if before.queued else before.reply,
                         duplicate=True, intent=before.intent)

    sender, recipient, body = claimed.sender, claimed.recipient, claimed.body
    said = ahead.intent if ahead is not None and ahead.body == body else None
    who = _sender(session, sender, claimed if postgresql else session.execute(
        _sender_sql(), {"phone": sender, "now": now}).first())
    caseworker, tenant = who.caseworker, who.tenant
    tenant_id = caseworker_id = None
    if caseworker is not None:
        reply: str | None = handle_caseworker_sms(
            session, caseworker, body, now=now,
            settings=delivery.settings if delivery is not None else None)
        caseworker_id, intent = caseworker.id, "reply_code"
    elif tenant is not None:
        # The case lock is held: PostgreSQL took it with the claim; on SQLite the claim is a
        # write, which holds the database's one writer lock until commit (lock_case's there).
        outcome = handle_tenant_sms(session, tenant, body, message_id=message_id,
                                    pictures=pictures, carrier_opt=carrier_opt,
                                    delivery=delivery, now=now, looked=who.looked,
                                    intent=said, case_locked=True)
        reply, intent, tenant_id = outcome.reply, outcome.intent, tenant.id
    else:
        outcome = handle_unknown_sms(session, sender, body, message_id=message_id,
                                     service_number=recipient, delivery=delivery, now=now,
                                     intent=said)
        reply, intent = outcome.reply, outcome.intent
    row = {"message_id": message_id, "of_tenant": tenant_id, "of_caseworker": caseworker_id,
           "outcome": intent, "reply_text": reply}
    # The immediate (TwiML) reply, in the log like every other outbound message.
    replied = {"reply_from": recipient, "reply_to": sender, "replied_at": now}
    if reply and queue_reply:
        conn.execute(_OUTCOME, row)
        # The intent is the kind: the dispatcher lets STOP/START/INFO answers past an opt-out
        # and cancels anything else (bot.core.opt_out), as the conversation chose `reply`.
        enqueue(session, channel=CHANNEL, recipient=sender, body=reply,
                key=reply_key(message_id), kind=intent, tenant_id=tenant_id,
                caseworker_id=caseworker_id)
    elif reply and postgresql:
        conn.execute(_OUTCOME_AND_REPLY, {**row, **replied})
    else:
        conn.execute(_OUTCOME, row)
        if reply:
            conn.execute(_REPLY, {**row, **replied})
    log.info("sms.inbound", message_id=message_id, intent=intent,
             known=caseworker is not None or tenant is not None, replied=bool(reply))
    return Processed(message_id, reply, duplicate=False, intent=intent)
