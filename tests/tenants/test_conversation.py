"""Tenant SMS without Flask (bot.tenants.conversation, .inbound): what it changes, what we say."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.checkins.rows import open_checkin
from bot.models import (
    Alert,
    AlertEvent,
    AuditEvent,
    CheckIn,
    CheckInStatus,
    Direction,
    Message,
    PhoneStatus,
    Tenant,
)
from bot.tenants import inbound as sms_inbound
from bot.tenants import texts
from bot.tenants.conversation import handle_tenant_sms, handle_unknown_sms
from bot.tenants.intents import IntentKind
from tests.support.factories import World, make_world

NOW = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)


def _checkin(session: Session, tenant: Tenant, *, days_ago: int = 0,
             status: str = CheckInStatus.SENT) -> CheckIn:
    checkin = CheckIn(tenant_id=tenant.id, slot_at=NOW - timedelta(days=days_ago, hours=1),
                      status=status, sent_at=NOW - timedelta(days=days_ago, hours=1))
    session.add(checkin)
    session.flush()
    return checkin


def _alerts(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).order_by(Alert.id)))


def test_answer_1_closes_the_newest_open_checkin_and_resets_misses(session: Session,
                                                                    world: World) -> None:
    tenant = world.tenant
    tenant.consecutive_misses = 2
    older = _checkin(session, tenant, days_ago=7, status=CheckInStatus.REMINDED)
    newest = _checkin(session, tenant)
    outcome = handle_tenant_sms(session, tenant, "1", now=NOW)
    assert outcome.reply == texts.reply_good("da")
    assert outcome.checkin is newest
    assert newest.status == CheckInStatus.ANSWERED and newest.answer == 1
    assert newest.answered_at == NOW
    assert older.status == CheckInStatus.REMINDED  # only the newest is answered
    assert tenant.consecutive_misses == 0
    assert _alerts(session) == []


def test_answer_without_open_checkin_is_thanked_and_changes_nothing(session: Session,
                                                                     world: World) -> None:
    world.tenant.consecutive_misses = 1
    _checkin(session, world.tenant, status=CheckInStatus.ANSWERED)
    _checkin(session, world.tenant, days_ago=7, status=CheckInStatus.MISSED)
    outcome = handle_tenant_sms(session, world.tenant, "godt", now=NOW)
    assert outcome.reply == texts.answer_without_checkin("da")
    assert outcome.checkin is None
    assert world.tenant.consecutive_misses == 1
    assert open_checkin(session, world.tenant, NOW) is None


def test_answer_2_with_words_forwards_the_words_as_a_low_message_alert(session: Session,
                                                                       world: World) -> None:
    _checkin(session, world.tenant)
    outcome = handle_tenant_sms(session, world.tenant, "2 lidt træt i dag", message_id=7,
                                now=NOW)
    assert outcome.reply == texts.reply_so_so("da")
    assert outcome.checkin is not None and outcome.checkin.answer == 2
    [alert] = _alerts(session)
    assert (alert.source, alert.severity) == ("message", "low")
    assert "træt" not in alert.summary and world.tenant.name in alert.summary
    event = alert.events[0]
    assert event.kind == "raised" and event.detail["text"] == "lidt træt i dag"
    assert event.detail["message_id"] == 7


@pytest.mark.parametrize("body", ["3", "hjælp", "HELP", "svar 3", "3 jeg har det dårligt", "😞"])
def test_answer_3_raises_need_help_even_without_a_checkin(session: Session, world: World,
                                                          body: str) -> None:
    outcome = handle_tenant_sms(session, world.tenant, body, now=NOW)
    assert outcome.reply == texts.reply_need_help("da")
    [alert] = _alerts(session)
    assert (alert.source, alert.severity, alert.owner_id) == ("need_help", "high",
                                                              world.caseworker.id)
    assert alert.summary == f"{world.tenant.name} svarede 3: har brug for hjælp"


def test_answer_3_ties_to_checkin_and_keeps_the_words_for_the_caseworker(session: Session,
                                                                         world: World) -> None:
    checkin = _checkin(session, world.tenant)
    handle_tenant_sms(session, world.tenant, "3 jeg har det dårligt", now=NOW)
    assert checkin.answer == 3
    [alert] = _alerts(session)
    detail = alert.events[0].detail
    assert detail["answer"] == 3 and detail["checkin_id"] == checkin.id
    assert detail["text"] == "jeg har det dårligt"


def test_emoji_answer(session: Session, world: World) -> None:
    checkin = _checkin(session, world.tenant)
    assert handle_tenant_sms(session, world.tenant, "👍", now=NOW).reply == texts.reply_good("da")
    assert checkin.answer == 1


def test_call_me(session: Session, world: World) -> None:
    checkin = _checkin(session, world.tenant)
    outcome = handle_tenant_sms(session, world.tenant, "kan du ringe til mig", now=NOW)
    assert outcome.intent == "call_me" and outcome.reply == texts.call_me_ack("da")
    [alert] = _alerts(session)
    assert (alert.source, alert.severity) == ("call_me", "high")
    # Asking for a call is an answer: no reminder, no miss.
    assert checkin.status == CheckInStatus.ANSWERED and checkin.answer is None


def test_crisis_raises_critical_alert_and_answers_with_emergency_numbers(
        session: Session, world: World) -> None:
    checkin = _checkin(session, world.tenant)
    outcome = handle_tenant_sms(session, world.tenant, "1 men jeg vil ikke leve mere", now=NOW)
    assert outcome.intent == "crisis"
    assert outcome.reply == texts.crisis_reply("da")
    assert "112" in outcome.reply and "70 201 201" in outcome.reply
    [alert] = _alerts(session)
    assert (alert.source, alert.severity) == ("crisis", "critical")
    # The first step went out with the reply (the caseworker's SMS is in the outbox): only
    # then may the reply say the caseworker has been alerted.
    assert alert.steps_done == 1 and outcome.told
    assert world.caseworker.id in {e.detail.get("caseworker_id") for e in alert.events
                                   if e.kind == "notified"}
    assert "leve" not in alert.summary
    assert alert.events[0].detail["text"] == "1 men jeg vil ikke leve mere"
    assert checkin.answer == 3


def test_free_text_is_forwarded_and_repeats_fold_into_one_alert(session: Session,
                                                                world: World) -> None:
    first = handle_tenant_sms(session, world.tenant, "Varmen virker ikke i min lejlighed",
                              now=NOW)
    second = handle_tenant_sms(session, world.tenant, "Kan nogen komme forbi?",
                               now=NOW + timedelta(minutes=5))
    assert first.reply == second.reply == texts.free_text_received("da")
    [alert] = _alerts(session)
    assert (alert.source, alert.severity, alert.trigger_count) == ("message", "low", 2)
    session.flush()
    kinds = [(e.kind, e.detail["text"]) for e in session.scalars(
        select(AlertEvent).where(AlertEvent.kind.in_(["raised", "folded"]))
        .order_by(AlertEvent.id))]
    assert kinds == [("raised", "Varmen virker ikke i min lejlighed"),
                     ("folded", "Kan nogen komme forbi?")]


def test_stop_start_and_what_an_opted_out_tenant_gets(session: Session, world: World) -> None:
    tenant = world.tenant
    reply = handle_tenant_sms(session, tenant, "Stop.", now=NOW).reply
    assert reply == texts.stop_confirmation("da", "+4526000102")
    assert reply is not None and reply.endswith("ringe til din kontaktperson på 26 00 01 02.")
    assert tenant.opted_out_at == NOW
    # Still confirmed when sent twice; the first time stands.
    assert handle_tenant_sms(session, tenant, "STOP ", now=NOW + timedelta(hours=1)).reply
    assert tenant.opted_out_at == NOW
    # Nothing but STOP/START/INFO answers; the caseworker still hears about need and crisis.
    assert handle_tenant_sms(session, tenant, "hvornår kommer du?", now=NOW).reply is None
    assert handle_tenant_sms(session, tenant, "3", now=NOW).reply is None
    assert handle_tenant_sms(session, tenant, "jeg vil slå mig selv ihjel", now=NOW).reply is None
    # One case: the words, the 3 and the crisis join it, and its severity rises each time.
    [case] = _alerts(session)
    assert (case.source, case.severity, case.trigger_count) == ("crisis", "critical", 3)
    assert handle_tenant_sms(session, tenant, "info", now=NOW).reply == texts.help_info("da")
    assert handle_tenant_sms(session, tenant, "start", now=NOW).reply == \
        texts.start_confirmation("da")
    assert tenant.opted_out_at is None
    assert handle_tenant_sms(session, tenant, "1", now=NOW).reply == \
        texts.answer_without_checkin("da")
    actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["opt_out", "opt_in"]


def test_stop_does_not_answer_an_open_checkin(session: Session, world: World) -> None:
    checkin = _checkin(session, world.tenant)
    handle_tenant_sms(session, world.tenant, "afmeld", now=NOW)
    assert checkin.status == CheckInStatus.SENT


@pytest.mark.parametrize("body", ["", "   ", "...", None])
def test_empty_message_gets_the_menu(session: Session, world: World, body: str | None) -> None:
    outcome = handle_tenant_sms(session, world.tenant, body, now=NOW)
    assert outcome.intent == "empty" and outcome.reply == texts.unclear_message("da")
    assert _alerts(session) == []


def test_picture_without_words(session: Session, world: World) -> None:
    outcome = handle_tenant_sms(session, world.tenant, "", pictures=1, now=NOW)
    assert outcome.reply == texts.picture_received("da")
    [alert] = _alerts(session)
    assert alert.source == "message" and "billede" in alert.summary
    assert alert.events[0].detail["pictures"] == 1


def test_picture_with_words_is_handled_as_the_words(session: Session, world: World) -> None:
    outcome = handle_tenant_sms(session, world.tenant, "se her, vandskade", pictures=2, now=NOW)
    assert outcome.reply == texts.free_text_received("da")
    [alert] = _alerts(session)
    detail = alert.events[0].detail
    assert (detail["text"], detail["pictures"]) == ("se her, vandskade", 2)


def test_overlong_message_is_forwarded_whole(session: Session, world: World) -> None:
    body = "Jeg vil gerne fortælle om min uge. " * 60  # ~2100 characters
    outcome = handle_tenant_sms(session, world.tenant, body, now=NOW)
    assert outcome.reply == texts.free_text_received("da")
    [alert] = _alerts(session)
    assert alert.events[0].detail["text"] == body.strip()


def test_english_tenant_gets_english(session: Session) -> None:
    world = make_world(session, tenant_language="en")
    assert handle_tenant_sms(session, world.tenant, "2", now=NOW).reply == \
        texts.answer_without_checkin("en")
    assert handle_tenant_sms(session, world.tenant, "call me", now=NOW).reply == \
        texts.call_me_ack("en")


def test_inbound_sms_proves_the_number_works(session: Session, world: World) -> None:
    world.tenant.phone_status = PhoneStatus.INVALID
    handle_tenant_sms(session, world.tenant, "1", now=NOW)
    assert world.tenant.phone_status == PhoneStatus.OK


def test_tenant_without_caseworker_still_raises_alert(session: Session, world: World) -> None:
    world.tenant.caseworker = None
    session.flush()
    handle_tenant_sms(session, world.tenant, "3", now=NOW)
    [alert] = _alerts(session)
    assert alert.owner_id is None and alert.team_id is None
    assert alert.summary.endswith("svarede 3: har brug for hjælp")  # Danish by default


# -- unknown numbers and the store/process pair ---------------------------------------------


def _inbound(session: Session, sender: str, body: str, sid: str, now: datetime) -> str | None:
    message_id, _ = sms_inbound.store(session, provider_id=sid, sender=sender,
                                      recipient="+4570103000", body=body, now=now)
    result = sms_inbound.process(session, message_id, now=now)
    session.commit()
    return result.reply


def test_unknown_number_is_answered_once_a_day(session: Session) -> None:
    stranger = "+4520304050"
    first = _inbound(session, stranger, "Hej, hvem er det?", "SMu1", NOW)
    assert first == texts.unknown_sender()
    danish, english = first.split("\n")
    assert "Trygt Hjem" in danish and "registered" in english
    # An auto-responder answering our reply must not start a loop.
    assert _inbound(session, stranger, "Auto-reply: I am away", "SMu2",
                    NOW + timedelta(minutes=1)) is None
    assert _inbound(session, stranger, "hallo?", "SMu3", NOW + timedelta(hours=23)) is None
    assert _inbound(session, stranger, "hallo?", "SMu4", NOW + timedelta(hours=25)) == first
    stored = session.scalars(select(Message).where(Message.direction == Direction.IN)).all()
    assert [m.intent for m in stored] == ["unknown_sender"] * 4
    assert all(m.tenant_id is None and m.processed_at is not None for m in stored)
    # Another unknown number gets its own reply.
    assert _inbound(session, "+4520304051", "hej", "SMu5", NOW) == first


def test_unknown_named_sender_gets_no_reply(session: Session) -> None:
    assert handle_unknown_sms(session, "Telenor", "Din regning er klar", now=NOW).reply is None


def test_unknown_number_in_crisis_gets_crisis_reply_and_a_critical_alert(
        session: Session) -> None:
    outcome = handle_unknown_sms(session, "+4520304050", "jeg vil dø", message_id=3, now=NOW)
    assert outcome.reply is not None
    # No municipality, nobody to tell: the help lines, and no claim that anyone was alerted.
    assert outcome.reply == texts.crisis_reply_stranger(told=False)
    assert "112" in outcome.reply and "70 201 201" in outcome.reply
    assert "alerted" not in outcome.reply and "besked" not in outcome.reply
    assert outcome.alert is not None and outcome.alert.severity == "critical"
    assert outcome.alert.tenant_id is None and "+4520304050" in outcome.alert.summary


def test_process_twice_is_processed_once(session: Session, world: World) -> None:
    message_id, created = sms_inbound.store(session, provider_id="SMx", sender=world.tenant.phone,
                                            recipient="+4570103000", body="3", now=NOW)
    again_id, created_again = sms_inbound.store(session, provider_id="SMx",
                                                sender=world.tenant.phone,
                                                recipient="+4570103000", body="3", now=NOW)
    assert created and not created_again and again_id == message_id
    first = sms_inbound.process(session, message_id, now=NOW)
    second = sms_inbound.process(session, message_id, now=NOW)
    session.commit()
    assert not first.duplicate and second.duplicate
    assert first.reply == second.reply == texts.reply_need_help("da")
    assert session.scalar(select(func.count()).select_from(Alert)) == 1
    assert session.scalar(select(Alert.trigger_count)) == 1
    out = session.scalars(select(Message).where(Message.direction == Direction.OUT)).all()
    assert [(m.recipient, m.body) for m in out] == [(world.tenant.phone, first.reply)]


def test_store_keeps_text_postgresql_cannot_hold(session: Session, world: World) -> None:
    message_id, _ = sms_inbound.store(session, provider_id="SMnul", sender=world.tenant.phone,
                                      recipient="+4570103000", body="a\x00b \ud800 🙂", now=NOW)
    session.commit()
    assert session.get(Message, message_id).body == "a b ? 🙂"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=400))
def test_any_text_gets_an_intent_and_a_reply(session: Session, world: World, body: str) -> None:
    """Whatever a phone sends, the tenant gets an answer and nothing raises."""
    try:
        outcome = handle_tenant_sms(session, world.tenant, body, now=NOW)
        assert outcome.intent in {k.value for k in IntentKind}
        assert outcome.reply is not None and outcome.reply.strip()
        session.flush()
    finally:
        session.rollback()


def test_two_concurrent_deliveries_of_one_message_are_processed_once(
        sessions: sessionmaker[Session], session: Session, world: World) -> None:
    """Twilio's retry can overlap the first delivery: both store, one processes, both answer."""
    barrier = threading.Barrier(2)
    results: list[sms_inbound.Processed] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            with sessions() as s:
                with s.begin():
                    message_id, _ = sms_inbound.store(
                        s, provider_id="SMconcurrent", sender=world.tenant.phone,
                        recipient="+4570103000", body="3")
                barrier.wait(timeout=10)
                with s.begin():
                    results.append(sms_inbound.process(s, message_id))
        except BaseException as exc:  # reported below, with the thread's traceback lost
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(r.duplicate for r in results) == [False, True]
    assert {r.reply for r in results} == {texts.reply_need_help("da")}
    assert session.scalar(select(func.count()).select_from(Alert)) == 1
    assert session.scalar(select(func.count()).select_from(Message)) == 2  # in + one reply


# --- violence, need-help words, greetings, STOP with the caseworker's number ----------------


@pytest.mark.parametrize(("body", "lang"), [("jeg er bange for min kæreste", "da"),
                                            ("I'm scared of my boyfriend", "en")])
def test_violence_gets_a_high_alert_and_lev_uden_vold(session: Session, world: World,
                                                       body: str, lang: str) -> None:
    world.tenant.language = lang
    checkin = _checkin(session, world.tenant)
    outcome = handle_tenant_sms(session, world.tenant, body, now=NOW)
    assert outcome.intent == "violence"
    assert outcome.reply == texts.violence_reply(lang)
    assert outcome.reply is not None and "1888" in outcome.reply and "112" in outcome.reply
    [alert] = _alerts(session)
    assert (alert.source, alert.severity) == ("violence", "high")
    assert body not in alert.summary  # the words stay in the timeline, for caseworkers only
    assert alert.events[0].detail["text"] == body
    assert checkin.status == CheckInStatus.ANSWERED and checkin.answer == 3


def test_violence_from_an_opted_out_tenant_still_alerts(session: Session, world: World) -> None:
    handle_tenant_sms(session, world.tenant, "stop", now=NOW)
    assert handle_tenant_sms(session, world.tenant, "han slår mig", now=NOW).reply is None
    assert [a.source for a in _alerts(session)] == ["violence"]


def test_violence_from_an_unknown_number(session: Session, world: World) -> None:
    outcome = handle_unknown_sms(session, "+4520304099", "he hits me", now=NOW)
    assert outcome.reply == texts.violence_reply_stranger()
    assert outcome.reply.count("1888") == 2 and "112" in outcome.reply
    [alert] = _alerts(session)
    assert (alert.source, alert.severity, alert.tenant_id) == ("violence", "high", None)


@pytest.mark.parametrize("body", ["I don't feel good", "jeg har ingen mad", "thrown out today"])
def test_need_help_words_anywhere_alert_high(session: Session, world: World, body: str) -> None:
    outcome = handle_tenant_sms(session, world.tenant, body, now=NOW)
    assert outcome.reply == texts.reply_need_help("da")
    [alert] = _alerts(session)
    assert (alert.source, alert.severity) == ("need_help", "high")


@pytest.mark.parametrize("body", ["hej", "Hej hej", "tak", "godmorgen"])
def test_a_greeting_reaches_the_caseworker_without_112(session: Session, world: World,
                                                       body: str) -> None:
    checkin = _checkin(session, world.tenant)
    outcome = handle_tenant_sms(session, world.tenant, body, now=NOW)
    assert outcome.intent == "greeting"
    assert outcome.reply == texts.greeting_received("da")
    assert "112" not in outcome.reply
    assert [a.source for a in _alerts(session)] == ["message"]
    assert checkin.status == CheckInStatus.ANSWERED  # in touch


def test_stop_without_a_caseworker_phone_says_call_your_caseworker(session: Session,
                                                                   world: World) -> None:
    assert world.tenant.caseworker is not None
    world.tenant.caseworker.phone = None
    reply = handle_tenant_sms(session, world.tenant, "stop", now=NOW).reply
    assert reply == texts.stop_confirmation("da")
    world.tenant.caseworker = None
    assert handle_tenant_sms(session, world.tenant, "stop", now=NOW).reply == reply
