"""What a permanent delivery failure means for the recipient, per channel.

Called by the dispatcher in the same transaction that dead-letters the outbox row, and for SMS
also by the Twilio status callback (a message Twilio accepted can still fail at the carrier).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import staff_texts as sms_staff_texts
from bot.alerts.lifecycle import raise_alert
from bot.channels.base import PermanentError
from bot.channels.telegram import BLOCKED, CHAT_GONE
from bot.core import audit
from bot.core.logs import get_logger
from bot.models import Caseworker, Home, Landlord, OutboxItem, PhoneStatus, Team, Tenant, utcnow
from bot.models.enums import Channel, Source

log = get_logger(__name__)

# The recipient told the carrier STOP (Twilio 21610): Twilio blocks every further message.
SMS_OPTED_OUT = frozenset({"21610"})
# The number cannot take SMS at all: invalid (21211, 21217, 21401), not a mobile (21614, 21407),
# unknown handset or landline reported by the carrier later (30005, 30006). Temporary carrier
# trouble (30003 handset off, 30008 unknown) is not listed: those numbers are fine.
SMS_INVALID_NUMBER = frozenset({"21211", "21217", "21401", "21407", "21614", "30005", "30006"})


def handle(session: Session, row: OutboxItem, exc: PermanentError) -> None:
    handler = _HANDLERS.get(row.channel)
    if handler is not None:
        handler(session, row, exc)


def sms_failure(session: Session, row: OutboxItem, exc: PermanentError) -> None:
    """SMS: e.g. carrier opt-out (21610) or an invalid number (21211)."""
    tenant = session.get(Tenant, row.tenant_id) if row.tenant_id is not None else None
    if tenant is None or exc.code is None:
        if exc.code in SMS_OPTED_OUT | SMS_INVALID_NUMBER:
            log.warning("sms.failure_not_tenant", outbox_id=row.id, code=exc.code)
        return
    sms_error(session, tenant, exc.code)


def sms_error(session: Session, tenant: Tenant, code: str,
              now: datetime | None = None) -> str | None:
    """Apply a Twilio error code to the tenant; returns "opted_out", "invalid" or None."""
    now = now or utcnow()
    if code in SMS_OPTED_OUT:
        if tenant.opted_out_at is None:
            tenant.opted_out_at = now
            audit.record(session, "system", "opt_out", "tenant", tenant.id, via="carrier",
                         code=code)
            log.info("sms.carrier_opt_out", tenant_id=tenant.id)
        return "opted_out"
    if code in SMS_INVALID_NUMBER:
        if tenant.phone_status != PhoneStatus.INVALID:
            tenant.phone_status = PhoneStatus.INVALID
            audit.record(session, "system", "phone_invalid", "tenant", tenant.id, code=code)
        lang = tenant.caseworker.language if tenant.caseworker is not None else None
        # Folds into an open delivery alert, so a batch of bounces is one task, not many.
        raise_alert(session, source=Source.DELIVERY_FAILED, tenant=tenant, now=now,
                    summary=sms_staff_texts.summary_delivery_failed(lang, tenant.name, code),
                    detail={"code": code})
        return "invalid"
    return None


def telegram_failure(session: Session, row: OutboxItem, exc: PermanentError) -> None:
    """Telegram: the chat is gone for good, because the user blocked the bot (403) or Telegram
    cannot find the chat (400 "chat not found"). Stop sending to that chat and tell staff.

    A landlord's chat is marked inactive (kept, so an unblock plus /start restores it); a
    caseworker's chat is unlinked (alerts go by their other channels at once, instead of dying
    on this chat one by one; they re-link from the dashboard). Staff learn of it through a low
    ``delivery_failed`` alert routed to the team concerned, plus an audit record. Other 4xx
    (bad request) only dead-letter the row.
    """
    if exc.code not in CHAT_GONE:
        return
    try:
        chat_id = int(row.recipient)
    except ValueError:
        return
    blocked = exc.code == BLOCKED
    action = "telegram.blocked" if blocked else "telegram.chat_not_found"
    why = "blocked the Telegram bot" if blocked else "cannot be found on Telegram (chat not found)"
    landlord = session.scalar(select(Landlord).where(Landlord.telegram_chat_id == chat_id))
    if landlord is not None and landlord.telegram_active:
        landlord.telegram_active = False
        audit.record(session, "system", action, "landlord", landlord.id, outbox_id=row.id)
        # One alert per municipality the landlord has homes in, each for a team of that same
        # municipality (a tenant's caseworker's there), else its intake route: never a team of
        # another municipality, whose people could neither see nor act on it.
        orgs = session.scalars(select(Home.organisation_id).where(
            Home.landlord_id == landlord.id, Home.organisation_id.is_not(None))
            .distinct().order_by(Home.organisation_id)).all()
        for org_id in orgs or [None]:
            team_id = session.scalar(
                select(Caseworker.team_id).join(Tenant, Tenant.caseworker_id == Caseworker.id)
                .join(Home, Tenant.home_id == Home.id).join(Team, Team.id == Caseworker.team_id)
                .where(Home.landlord_id == landlord.id, Team.organisation_id == org_id)
                .order_by(Tenant.id).limit(1)) if org_id is not None else None
            alert, created = raise_alert(
                session, source=Source.DELIVERY_FAILED, organisation_id=org_id,
                summary=f"Landlord {landlord.name} ({landlord.company}) {why}: "
                        "status updates cannot reach them",
                detail={"channel": Channel.TELEGRAM.value, "landlord_id": landlord.id})
            if created and team_id is not None:
                alert.team_id = team_id
    caseworker = session.scalar(select(Caseworker).where(Caseworker.telegram_chat_id == chat_id))
    if caseworker is not None:
        caseworker.telegram_chat_id = None
        audit.record(session, "system", action, "caseworker", caseworker.id, outbox_id=row.id)
        alert, created = raise_alert(
            session, source=Source.DELIVERY_FAILED,
            organisation_id=caseworker.team.organisation_id,
            summary=f"Caseworker {caseworker.name} {why}; their Telegram link was removed, "
                    "so alerts cannot reach them on Telegram until they link it again",
            detail={"channel": Channel.TELEGRAM.value, "caseworker_id": caseworker.id})
        if created:
            alert.team_id = caseworker.team_id


_HANDLERS: dict[str, Callable[[Session, OutboxItem, PermanentError], None]] = {
    Channel.SMS: sms_failure, Channel.TELEGRAM: telegram_failure}
