"""One inbound SMS from a tenant (or from a number we do not know): what it changes, what we say.

Works in the caller's transaction and returns the reply to send at once (the webhook turns it
into TwiML); it sends nothing itself. The rules:

* STOP / START set or clear the opt-out and are always confirmed. HELP-info is always answered.
* An opted-out tenant gets no other reply (Twilio would block it anyway, error 21610), but what
  they write still reaches the caseworker: crisis words, answer 3 and call requests still alert.
* A check-in answer (1/2/3) is tied to the tenant's newest open check-in (sent or reminded): the
  check-in becomes answered and the miss counter starts again. Crisis or violence words, a call
  request, a greeting and free text to an open check-in also count as an answer (the tenant is
  in touch; crisis and violence count as 3); STOP, START, INFO and empty messages do not.
* Answer 3 (also "hjælp", "I don't feel good") raises a need_help alert; a call request a
  call_me alert; crisis words a critical crisis alert and the crisis reply (112, Livslinien) at
  once; violence words a high violence alert and the violence reply (Lev Uden Vold 1888, 112).
* STOP's confirmation gives the caseworker's phone number when we have it.
* Free text, and the words after an answer 1 or 2, go to the caseworker as a low ``message``
  alert (folded while one is open). The tenant's words are kept in the alert's timeline
  (``detail.text``) and the message log, never in the summary, so only caseworkers see them.
* A picture (MMS) cannot be shown: without words the tenant is asked to write, and the
  caseworker is told a picture came.
* Only greetings or thanks ("hej") reach the caseworker like free text, with a reply
  without 112: a greeting is not an emergency.
* Empty or punctuation-only messages get "not understood" and the menu.
* An unknown number gets one polite Danish/English reply per 24 hours (two auto-responders
  must not answer each other forever); the message is stored with intent ``unknown_sender``
  for staff. A cry from an unknown number (crisis or violence words; from a number that can
  be answered also answer 3, "hjælp" and a call request) raises an alert without a tenant,
  with the severity a tenant's would have, in the municipality the SMS was sent to
  (`bot.alerts.routing.unknown_sender_organisation`), and its intake route is told at once;
  the number has at most one open alert, and its later messages join it by a tenant's rules
  (a cry on an acknowledged or dormant case restarts it). A cry always gets a reply, Danish
  then English, saying a caseworker was told only when one was, with 112 and the help lines;
  after ``UNKNOWN_REPLIES_PER_DAY`` replies to the number in a day, only the help lines.

Honest replies: an alert's first escalation step runs in this same transaction
(`bot.alerts.escalator.escalate_now`), and a reply says the caseworker "has been told" only when
a notification to a person about this message was enqueued on a configured channel (or the
message joined an escalation still running whose notification is live), never because of an old
escalation's message; otherwise it says a caseworker will be asked, and gives 112 (and
Livslinien for need-help, call-me and crisis). Words joined to an acknowledged case, or to one
whose escalation has ended, are passed on to the person holding it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.alerts import staff_texts as sms_staff_texts
from bot.alerts.escalator import escalate_now
from bot.alerts.lifecycle import raise_alert
from bot.alerts.routing import Delivery, route_reachable, unknown_sender_organisation
from bot.checkins.rows import Looked, record_answer
from bot.core import audit
from bot.core.opt_out import may_send_after_stop
from bot.models import (
    Alert,
    AlertState,
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
# Replies to one unknown number per 24 hours (a flood must not become a flood of our SMS);
# past it, crisis messages still get the help lines, anything else gets nothing.
UNKNOWN_REPLIES_PER_DAY = 3
# Messages that show the tenant is in touch, for an open check-in.
_COUNTS_AS_CONTACT = frozenset({IntentKind.CRISIS, IntentKind.VIOLENCE, IntentKind.CALL_ME,
                                IntentKind.GREETING, IntentKind.FREE_TEXT})


@dataclass(frozen=True)
class Outcome:
    intent: str  # an IntentKind value, or "unknown_sender"
    reply: str | None  # to send at once; None: say nothing
    alert: Alert | None = None
    checkin: CheckIn | None = None
    told: bool = False  # a notification to a person about `alert` is in the outbox


def _staff_lang(tenant: Tenant) -> str | None:
    return tenant.caseworker.language if tenant.caseworker is not None else None


def handle_tenant_sms(session: Session, tenant: Tenant, body: str | None, *,
                      message_id: int | None = None, pictures: int = 0,
                      carrier_opt: str | None = None, delivery: Delivery | None = None,
                      now: datetime | None = None, looked: Looked | None = None,
                      intent: Intent | None = None, case_locked: bool = False) -> Outcome:
    """Handle one SMS from ``tenant``; see the module docstring for the rules.

    ``looked``: the tenant's open check-in as already read at ``now`` (inbound SMS reads it
    with the tenant); None: read it here when the message answers one. ``intent``: what
    ``body`` says, when the caller read it already (`bot.tenants.inbound.read_ahead`).
    ``case_locked``: the caller holds the tenant's case lock (`bot.alerts.lifecycle.lock_case`).

    ``delivery``: what this process can send through (None: every channel, for tests); the
    alert's first step is enqueued with it before the reply is chosen.

    ``carrier_opt``: Twilio's ``OptOutType`` (``STOP``/``START``) when its Advanced Opt-Out
    matched one of *its* keywords; Twilio then blocks or unblocks the number whatever we make of
    the words, so our opt-out state follows it.
    """
    now = now or utcnow()
    intent = intent if intent is not None else parse(body)
    lang = tenant.language
    staff = _staff_lang(tenant)
    ref: dict[str, Any] = {"message_id": message_id} if message_id is not None else {}

    if tenant.phone_status != PhoneStatus.OK:
        # They just texted us from it, so the number works after all.
        tenant.phone_status = PhoneStatus.OK
        audit.record(session, "system", "phone_ok", "tenant", tenant.id, via="inbound_sms")

    told = False
    waits = False  # the trigger is in an escalation still to come (new, retriggered, running)
    via = delivery or Delivery()

    def alert(source: Source, summary: str, *, pass_on: bool = True, **detail: Any) -> Alert:
        nonlocal told, waits
        raised, created = raise_alert(session, source=source, summary=summary, tenant=tenant,
                                      detail={**ref, **{k: v for k, v in detail.items() if v}},
                                      now=now, case_locked=case_locked)
        waits = raised.state == AlertState.OPEN and raised.next_action_at is not None
        told = escalate_now(session, raised, via, now, new=created, source=source,
                            pass_on_dormant=pass_on)
        return raised

    def passed_on(raised: Alert) -> bool:
        """For words for the caseworker (a low alert that may wait for working hours): told
        now, or its escalation is still to come and someone on its route can be reached when
        it is due. Words joined to a dormant case (acknowledged, policy done) count only when
        passed on to its holder now (`escalate_now`)."""
        return told or (waits and route_reachable(session, raised, via))

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
        caseworker = tenant.caseworker
        reply = texts.stop_confirmation(
            lang, caseworker.phone if caseworker is not None and caseworker.active else None)
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
        checkin = record_answer(session, tenant, 3, now, looked)
        reply = texts.crisis_reply(lang, told)
    elif kind is IntentKind.VIOLENCE:
        raised = alert(Source.VIOLENCE, sms_staff_texts.summary_violence(staff, tenant.name),
                       text=intent.text, matched=intent.matched, pictures=pictures)
        checkin = record_answer(session, tenant, 3, now, looked)
        reply = texts.violence_reply(lang, told)
    elif kind is IntentKind.CHECKIN_ANSWER:
        assert intent.answer is not None
        checkin = record_answer(session, tenant, intent.answer, now, looked)
        if intent.answer == 3:
            raised = alert(Source.NEED_HELP, sms_staff_texts.summary_need_help(staff, tenant.name),
                           answer=3, text=intent.text, checkin_id=checkin and checkin.id,
                           pictures=pictures)
            reply = texts.reply_need_help(lang, told)
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
        checkin = record_answer(session, tenant, None, now, looked)
        reply = texts.call_me_ack(lang, told)
    else:  # FREE_TEXT, GREETING
        # "tak", "hej" on a case someone holds: on its timeline, not a message to their phone
        # at any hour (the reply only says the caseworker can see it).
        raised = alert(Source.MESSAGE, sms_staff_texts.summary_message(staff, tenant.name),
                       text=intent.text, pictures=pictures,
                       pass_on=kind is not IntentKind.GREETING or bool(pictures))
        checkin = record_answer(session, tenant, None, now, looked)
        reply = (texts.greeting_received(lang) if kind is IntentKind.GREETING
                 else texts.free_text_received(lang, passed_on(raised)))

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
    return Outcome(str(kind), reply, raised, checkin, told)


# A cry from a number we do not know raises (or joins) its case as a tenant's would.
_STRANGER_CRIES = {IntentKind.CRISIS: Source.CRISIS, IntentKind.VIOLENCE: Source.VIOLENCE,
                   IntentKind.CALL_ME: Source.CALL_ME}


def stranger_cry(intent: Intent, phone: str) -> Source | None:
    """The alert source of a cry from an unknown number, or None: crisis and violence words from
    any sender; answer 3 (also "hjælp") and a call request only from a number that can be
    answered (a short code or a named sender is a machine, not a person asking for help)."""
    if intent.kind in (IntentKind.CRISIS, IntentKind.VIOLENCE):
        return _STRANGER_CRIES[intent.kind]
    if not phone.startswith("+"):
        return None
    if intent.kind is IntentKind.CHECKIN_ANSWER and intent.answer == 3:
        return Source.NEED_HELP
    return _STRANGER_CRIES.get(intent.kind)


def _stranger_summary(source: Source, phone: str) -> str:
    # Staff see the number, never a name; the sender's words stay on the timeline.
    summary = {Source.CRISIS: sms_staff_texts.summary_unknown_crisis,
               Source.VIOLENCE: sms_staff_texts.summary_unknown_violence,
               Source.NEED_HELP: sms_staff_texts.summary_unknown_need_help,
               Source.CALL_ME: sms_staff_texts.summary_unknown_call_me}.get(
        source, sms_staff_texts.summary_unknown_message)
    return summary(None, phone)


def _stranger_reply(source: Source, told: bool, replies_today: int) -> str:
    """The reply to a cry from an unknown number: always one (a cry is never silenced), Danish
    then English, "a caseworker has been told" only when one was; past the day's replies only
    the help lines."""
    if replies_today >= UNKNOWN_REPLIES_PER_DAY:
        return texts.violence_lines() if source is Source.VIOLENCE else texts.crisis_lines()
    if source is Source.CRISIS:
        return texts.crisis_reply_stranger(told)
    if source is Source.VIOLENCE:
        return texts.violence_reply_stranger()
    if source is Source.NEED_HELP:
        return texts.need_help_reply_stranger(told)
    return texts.call_me_reply_stranger(told)


def handle_unknown_sms(session: Session, phone: str, body: str | None, *,
                       message_id: int | None = None, service_number: str | None = None,
                       delivery: Delivery | None = None, now: datetime | None = None,
                       intent: Intent | None = None) -> Outcome:
    """An SMS from a number that is neither a tenant nor an active caseworker, sent to our
    ``service_number`` (which tells the municipality). ``intent``: as in handle_tenant_sms."""
    now = now or utcnow()
    intent = intent if intent is not None else parse(body)
    replies_today = session.scalar(
        select(func.count()).select_from(Message)
        .where(Message.direction == Direction.IN, Message.channel == "sms",
               Message.sender == phone, Message.intent == UNKNOWN_SENDER_INTENT,
               Message.reply.is_not(None), Message.created_at >= now - UNKNOWN_REPLY_EVERY)) or 0
    detail = {"message_id": message_id, "phone": phone, "text": intent.text}
    cry = stranger_cry(intent, phone)
    if cry is not None:
        # As a tenant's cry: raised, or joined to the number's case (restarting it when it is
        # acknowledged or its escalation has ended), and the intake route told at once.
        raised, created = raise_alert(
            session, source=cry, now=now, sender_phone=phone,
            organisation_id=unknown_sender_organisation(session, service_number),
            summary=_stranger_summary(cry, phone),
            detail={**detail, "matched": intent.matched,
                    **({"answer": 3} if cry is Source.NEED_HELP else {})})
        told = escalate_now(session, raised, delivery or Delivery(), now, new=created,
                            source=cry)
        return Outcome(UNKNOWN_SENDER_INTENT, _stranger_reply(cry, told, replies_today), raised,
                       told=told)
    case = None
    if session.scalar(select(Alert.id).where(
            Alert.tenant_id.is_(None), Alert.sender_phone == phone,
            Alert.state.in_([AlertState.OPEN, AlertState.ACKNOWLEDGED])).limit(1)) is not None:
        # The number's open case gets its later words on the timeline (a low trigger folds).
        case, _ = raise_alert(session, source=Source.MESSAGE, now=now, sender_phone=phone,
                              summary=_stranger_summary(Source.MESSAGE, phone), detail=detail)
    if not phone.startswith("+") or replies_today >= UNKNOWN_REPLIES_PER_DAY:
        # A short code or a named sender (a carrier, a shop) cannot be answered; staff see it.
        return Outcome(UNKNOWN_SENDER_INTENT, None, case)
    recent = session.scalar(
        select(Message.id)
        .where(Message.direction == Direction.IN, Message.channel == Channel.SMS,
               Message.sender == phone, Message.intent == UNKNOWN_SENDER_INTENT,
               Message.reply.is_not(None), Message.created_at >= now - UNKNOWN_REPLY_EVERY)
        .limit(1))
    return Outcome(UNKNOWN_SENDER_INTENT, None if recent is not None else texts.unknown_sender(),
                   case)
