"""Inbound SMS: store first, then process exactly once, and remember the reply.

The webhook calls :func:`store` in its own transaction and commits it before anything else, so a
message is never lost to a processing error; then :func:`process` in a second transaction. A
provider retry of the same MessageSid finds the stored row: if it was processed, the remembered
reply is given again and nothing is done twice; if processing never finished (a crash, an error),
the retry processes it. The claim is a conditional UPDATE, so two concurrent deliveries of one
MessageSid cannot both process it, on PostgreSQL or SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from bot.casework.sms_replies import handle_caseworker_sms
from bot.core.db import insert_for
from bot.core.logs import get_logger
from bot.core.storable import storable
from bot.models import Caseworker, Direction, Message, Tenant, utcnow
from bot.models.enums import Channel
from bot.tenants.conversation import handle_tenant_sms, handle_unknown_sms

log = get_logger(__name__)

CHANNEL = Channel.SMS
# Twilio caps a message at 1600 characters; anything longer is not from Twilio, but is kept.
MAX_STORED = 20_000


@dataclass(frozen=True)
class Processed:
    message_id: int
    reply: str | None
    duplicate: bool  # a retry of a message processed before: nothing was done this time
    intent: str | None = None


def _clean_body(body: str | None) -> str:
    return storable(body or "", MAX_STORED)


def store(session: Session, *, provider_id: str, sender: str, recipient: str,
          body: str | None, now: datetime | None = None) -> tuple[int, bool]:
    """Insert the inbound message unless its provider id is known; (message id, created)."""
    now = now or utcnow()
    values = dict(direction=Direction.IN, channel=CHANNEL, provider_id=provider_id,
                  sender=storable(sender, 254), recipient=storable(recipient, 254),
                  body=_clean_body(body),
                  status="received", created_at=now)
    insert = insert_for(session)
    new_id = session.execute(
        insert(Message).values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"],
                                index_where=text("direction = 'in'"))
        .returning(Message.id)).scalar()
    if new_id is not None:
        return int(new_id), True
    existing = session.scalar(select(Message.id).where(Message.channel == CHANNEL,
                                                       Message.provider_id == provider_id))
    assert existing is not None
    return int(existing), False


def process(session: Session, message_id: int, *, pictures: int = 0,
            carrier_opt: str | None = None, now: datetime | None = None) -> Processed:
    """Process a stored inbound SMS once; a second call returns the first call's reply."""
    now = now or utcnow()
    claimed = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.processed_at.is_(None))
        .values(processed_at=now, status="processed")
        .execution_options(synchronize_session=False)).rowcount
    message = session.scalars(select(Message).where(Message.id == message_id)
                              .execution_options(populate_existing=True)).one()
    if not claimed:
        return Processed(message.id, message.reply, duplicate=True, intent=message.intent)

    sender = message.sender
    caseworker = session.scalar(select(Caseworker).where(Caseworker.phone == sender,
                                                         Caseworker.active.is_(True)))
    tenant = None if caseworker is not None else session.scalar(
        select(Tenant).where(Tenant.phone == sender, Tenant.erased_at.is_(None)))
    if caseworker is not None:
        reply: str | None = handle_caseworker_sms(session, caseworker, message.body, now=now)
        message.caseworker_id = caseworker.id
        message.intent = "reply_code"
    elif tenant is not None:
        outcome = handle_tenant_sms(session, tenant, message.body, message_id=message.id,
                                    pictures=pictures, carrier_opt=carrier_opt, now=now)
        reply = outcome.reply
        message.tenant_id = tenant.id
        message.intent = outcome.intent
    else:
        outcome = handle_unknown_sms(session, sender, message.body, message_id=message.id,
                                     now=now)
        reply = outcome.reply
        message.intent = outcome.intent
    message.reply = reply
    if reply:
        # The immediate (TwiML) reply, in the log like every other outbound message.
        session.add(Message(direction=Direction.OUT, channel=CHANNEL, sender=message.recipient,
                            recipient=sender, body=reply, tenant_id=message.tenant_id,
                            caseworker_id=message.caseworker_id, intent="reply",
                            status="replied", created_at=now))
    log.info("sms.inbound", message_id=message.id, intent=message.intent,
             known=caseworker is not None or tenant is not None, replied=bool(reply))
    return Processed(message.id, reply, duplicate=False, intent=message.intent)
