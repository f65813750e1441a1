"""One inbound SMS from a tenant (or from a number we do not know): what it changes, what we say.

Works in the caller's transaction and returns the reply to send at once (the webhook turns it
into TwiML); it sends nothing itself. The rules:

* STOP / START set or clear the opt-out and are always confirmed. HELP-info is always answered.
* An opted-out tenant gets no other reply (Twilio would block it anyway, error 21610), but what
  they write still reaches the caseworker: crisis words, answer 3 and call requests still alert.
* A check-in answer (1/2/3) is tied to the tenant's newest open check-in (sent or reminded): the
  check-in becomes answered and the miss counter starts again. Crisis words, a call request and
  free text to an open check-in also count as an answer (the tenant is in touch; crisis counts
  as 3); STOP, START, INFO and empty messages do not.
* Answer 3 (also "hjælp") raises a need_help alert; a call request a call_me alert; crisis
  words a critical crisis alert and the crisis reply (112, Livslinien) at once.
* Free text, and the words after an answer 1 or 2, go to the caseworker as a low ``message``
  alert (folded while one is open). The tenant's words are kept in the alert's timeline
  (``detail.text``) and the message log, never in the summary, so only caseworkers see them.
* A picture (MMS) cannot be shown: without words the tenant is asked to write, and the
  caseworker is told a picture came.
* Empty or punctuation-only messages get "not understood" and the menu.
* An unknown number gets one polite Danish/English reply per 24 hours (two auto-responders
  must not answer each other forever); the message is stored with intent ``unknown_sender``
  for staff. Crisis words from an unknown number still get the crisis reply and raise a
  critical alert without a tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import staff_texts as sms_staff_texts
from bot.alerts.lifecycle import raise_alert
from bot.checkins.rows import record_answer
from bot.core import audit
from bot.core.opt_out import may_send_after_stop
from bot.models import (
    Alert,
    CheckIn,
    Direction,
    Message,
    PhoneStatus,
    Tenant,
    utcnow,
)
from bot.models.enums import Channel, Source
from bot.tenants import texts
from bot.tenants.intents import Intent, IntentKind, parse

UNKNOWN_SENDER_INTENT = "unknown_sender"
UNKNOWN_REPLY_EVERY = timedelta(hours=24)
# Messages that show the tenant is in touch, for an open check-in.
_COUNTS_AS_CONTACT = frozenset({IntentKind.CRISIS, IntentKind.CALL_ME, IntentKind.FREE_TEXT})


@dataclass(frozen=True)
class Outcome:
    intent: str  # an IntentKind value, or "unknown_sender"
    reply: str | None  # to send at once; None: say nothing
    alert: Alert | None = None
    checkin: CheckIn | None = None


def _staff_lang(tenant: Tenant) -> str | None:
    return tenant.caseworker.language if tenant.caseworker is not None else None


def handle_tenant_sms(session: Session, tenant: Tenant, body: str | None, *,
                      message_id: int | None = None, pictures: int = 0,
                      carrier_opt: str | None = None, now: datetime | None = None) -> Outcome:
    """Handle one SMS from ``tenant``; see the module docstring for the rules.

    ``carrier_opt``: Twilio's ``OptOutType`` (``STOP``/``START``) when its Advanced Opt-Out
    matched one of *its* keywords; Twilio then blocks or unblocks the number whatever we make of
    the words, so our opt-out state follows it.
    """
    now = now or utcnow()
    intent = parse(body)
    lang = tenant.language
    staff = _staff_lang(tenant)
    ref: dict[str, Any] = {"message_id": message_id} if message_id is not None else {}

    if tenant.phone_status != PhoneStatus.OK:
        # They just texted us from it, so the number works after all.
        tenant.phone_status = PhoneStatus.OK
        audit.record(session, "system", "phone_ok", "tenant", tenant.id, via="inbound_sms")

    def alert(source: Source, summary: str, **detail: Any) -> Alert:
        raised, _ = raise_alert(session, source=source, summary=summary, tenant=tenant,
                                detail={**ref, **{k: v for k, v in detail.items() if v}},
                                now=now)
        return raised

    reply: str | None
    raised: Alert | None = None
    checkin: CheckIn | None = None
    kind = intent.kind

    if kind is IntentKind.EMPTY and pictures:
        raised = alert(Source.MESSAGE, sms_staff_texts.summary_picture(staff, tenant.name),
                       pictures=pictures)
        reply = texts.picture_received(lang)
    elif kind is IntentKind.EMPTY:
        reply = texts.unclear_message(lang)
    elif kind is IntentKind.STOP:
        if tenant.opted_out_at is None:
            tenant.opted_out_at = now
            audit.record(session, f"tenant:{tenant.id}", "opt_out", "tenant", tenant.id,
                         via="sms")
        reply = texts.stop_confirmation(lang)
    elif kind is IntentKind.START:
        if tenant.opted_out_at is not None:
            tenant.opted_out_at = None
            audit.record(session, f"tenant:{tenant.id}", "opt_in", "tenant", tenant.id,
                         via="sms")
        reply = texts.start_confirmation(lang)
    elif kind is IntentKind.HELP_INFO:
        reply = texts.help_info(lang)
    elif kind is IntentKind.CRISIS:
        raised = alert(Source.CRISIS, sms_staff_texts.summary_crisis(staff, tenant.name),
                       text=intent.text, matched=intent.matched, pictures=pictures)
        checkin = record_answer(session, tenant, 3, now)
        reply = texts.crisis_reply(lang)
    elif kind is IntentKind.CHECKIN_ANSWER:
        assert intent.answer is not None
        checkin = record_answer(session, tenant, intent.answer, now)
        if intent.answer == 3:
            raised = alert(Source.NEED_HELP, sms_staff_texts.summary_need_help(staff, tenant.name),
                           answer=3, text=intent.text, checkin_id=checkin and checkin.id,
                           pictures=pictures)
            reply = texts.reply_need_help(lang)
        else:
            if intent.text or pictures:
                # "2 lidt træt i dag": the words are for the caseworker, not for the parser.
                raised = alert(Source.MESSAGE, sms_staff_texts.summary_message(staff, tenant.name),
                               answer=intent.answer, text=intent.text, pictures=pictures)
            reply = (texts.reply_to_answer(lang, intent.answer) if checkin is not None
                     else texts.answer_without_checkin(lang))
    elif kind is IntentKind.CALL_ME:
        raised = alert(Source.CALL_ME, sms_staff_texts.summary_call_me(staff, tenant.name),
                       text=intent.text, pictures=pictures)
        checkin = record_answer(session, tenant, None, now)
        reply = texts.call_me_ack(lang)
    else:  # FREE_TEXT
        raised = alert(Source.MESSAGE, sms_staff_texts.summary_message(staff, tenant.name),
                       text=intent.text, pictures=pictures)
        checkin = record_answer(session, tenant, None, now)
        reply = texts.free_text_received(lang)

    carrier = (carrier_opt or "").strip().upper()
    if carrier == "STOP" and tenant.opted_out_at is None:
        tenant.opted_out_at = now
        audit.record(session, f"tenant:{tenant.id}", "opt_out", "tenant", tenant.id,
                     via="twilio_keyword")
    elif carrier == "START" and tenant.opted_out_at is not None:
        tenant.opted_out_at = None
        audit.record(session, f"tenant:{tenant.id}", "opt_in", "tenant", tenant.id,
                     via="twilio_keyword")
    if tenant.opted_out_at is not None and not may_send_after_stop(kind):
        reply = None
    return Outcome(str(kind), reply, raised, checkin)


def handle_unknown_sms(session: Session, phone: str, body: str | None, *,
                       message_id: int | None = None, now: datetime | None = None) -> Outcome:
    """An SMS from a number that is neither a tenant nor an active caseworker."""
    now = now or utcnow()
    intent: Intent = parse(body)
    if intent.kind is IntentKind.CRISIS:
        raised, _ = raise_alert(session, source=Source.CRISIS, now=now,
                                summary=sms_staff_texts.summary_unknown_crisis(None, phone),
                                detail={"message_id": message_id, "phone": phone,
                                        "text": intent.text, "matched": intent.matched})
        # No language known: Danish first, then English, as for the unknown-sender reply.
        return Outcome(UNKNOWN_SENDER_INTENT,
                       texts.crisis_reply("da") + "\n" + texts.crisis_reply("en"), raised)
    if not phone.startswith("+"):
        # A short code or a named sender (a carrier, a shop) cannot be answered; staff see it.
        return Outcome(UNKNOWN_SENDER_INTENT, None)
    recent = session.scalar(
        select(Message.id)
        .where(Message.direction == Direction.IN, Message.channel == Channel.SMS,
               Message.sender == phone, Message.intent == UNKNOWN_SENDER_INTENT,
               Message.reply.is_not(None), Message.created_at >= now - UNKNOWN_REPLY_EVERY)
        .limit(1))
    return Outcome(UNKNOWN_SENDER_INTENT, None if recent is not None else texts.unknown_sender())
