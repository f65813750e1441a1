"""Every message in and out, and the outbox that delivers the outgoing ones."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, Timestamped, UTCDateTime, utcnow


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher; its lease says until when
    SENT = "sent"
    DEAD = "dead"  # gave up after the retry limit, or a permanent error
    CANCELLED = "cancelled"  # e.g. the tenant opted out before it went


# An inbound message not processed yet (SQL, the partial index's and its readers' predicate).
UNPROCESSED = "direction = 'in' AND processed_at IS NULL"
# The status of an inbound message whose processing failed again and again (bot.tenants.stranded).
STUCK = "stuck"


class Message(Timestamped, Base):
    """The log of every inbound and outbound message (also the inbound dedup record)."""

    __tablename__ = "messages"
    __table_args__ = (
        # Providers retry webhooks: the same inbound MessageSid / update_id is stored once.
        # Outbound ids are not constrained: Telegram's are only unique per chat, and a
        # duplicate must never fail the dispatcher after a successful send (it would resend).
        Index("uq_messages_inbound_provider_id", "channel", "provider_id", unique=True,
              sqlite_where=text("direction = 'in'"), postgresql_where=text("direction = 'in'")),
        Index("ix_messages_channel_provider_id", "channel", "provider_id"),
        # Inbound messages not processed yet: the worker's stranded-SMS job reads only these
        # (almost none: the webhook processes a message in the request that stored it).
        Index("ix_messages_unprocessed", "channel", "created_at",
              sqlite_where=text(UNPROCESSED), postgresql_where=text(UNPROCESSED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))  # sms, telegram, email, webhook, console
    provider_id: Mapped[str | None] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(254), default="")
    recipient: Mapped[str] = mapped_column(String(254), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("caseworkers.id"))
    landlord_id: Mapped[int | None] = mapped_column(ForeignKey("landlords.id"))
    intent: Mapped[str | None] = mapped_column(String(32))
    # Inbound: received -> processed, or received -> stuck (processing failed again and again,
    # bot.tenants.stranded) -> processed. Outbound: provider's status (queued, sent, ...).
    status: Mapped[str] = mapped_column(String(16), default="received")
    error_code: Mapped[str | None] = mapped_column(String(16))
    # The reply given for an inbound message, so a provider retry gets the same answer.
    reply: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Inbound only: the worker's failed attempts at processing it, and when it tries again.
    process_failures: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    process_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxItem(Timestamped, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The claim order, over the rows still to send only (sent history is most of the table).
        Index("ix_outbox_claim_order", "priority", "next_attempt_at", "id",
              sqlite_where=text("status IN ('pending', 'sending')"),
              postgresql_where=text("status IN ('pending', 'sending')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Same key, same message: enqueueing twice is a no-op, and the provider sees it once.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    kind: Mapped[str] = mapped_column(String(32), default="reply")
    # OutboxPriority of the kind (lower goes first): alerts never wait behind bulk check-ins.
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("caseworkers.id"))
    landlord_id: Mapped[int | None] = mapped_column(ForeignKey("landlords.id"))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Unique per claim: a dispatcher sends a row only while it still holds this claim's token.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    # Indexed: a status callback finds the outbox row of the message it reports on.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SendSlot(Base):
    """The next free send slot of one sender (a channel's sending number or bot), for all workers.

    Dispatchers book slots by advancing `next_slot` atomically, so N workers together keep the
    provider's cap instead of each keeping it once. Unix time in seconds: plain arithmetic in SQL
    on both databases.
    """

    __tablename__ = "send_slots"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Double)


class KeptSmsStatus(Base):
    """A Twilio status callback for an SMS not (yet) recorded as sent: the "failed" callback
    can beat the dispatcher's commit of the send. Kept until the send is recorded, then
    applied once (bot.delivery.sms_status.reconcile_kept); dropped after a retention period
    when it never matches (TwiML replies, another app on the same account)."""

    __tablename__ = "sms_status_kept"
    __table_args__ = (
        # Twilio repeats callbacks: the same status of the same message is kept once.
        Index("uq_sms_status_kept", "provider_id", "status", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
