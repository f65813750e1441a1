"""POST /webhooks/twilio/sms and /webhooks/twilio/status with properly signed forms."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import act, raise_alert
from bot.alerts.routing import Delivery
from bot.channels.console import ConsoleChannel
from bot.checkins import texts as checkin_texts
from bot.core import outbox
from bot.core.db import make_engine, make_session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.landlords.flow import Draft, report_concern
from bot.models import (
    Alert,
    AuditEvent,
    CheckIn,
    CheckInStatus,
    Direction,
    Heartbeat,
    Message,
    OutboxItem,
    OutboxStatus,
    PhoneStatus,
    Tenant,
    utcnow,
)
from bot.ops.heartbeat import WORKER_STALE
from bot.runtime import Runtime
from bot.tenants import texts
from tests.support.concurrency import run_together
from tests.support.factories import World, add_tenant
from tests.support.sms import (
    SERVICE_NUMBER,
    SMS_PATH,
    STATUS_PATH,
    inbound_form,
    new_sid,
    post_signed,
    sign,
    sms_settings,
    twiml_messages,
)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _inbound(session: Session) -> list[Message]:
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.direction == Direction.IN)
                                .order_by(Message.id)))


def test_signed_answer_is_stored_processed_and_answered_by_twiml(
        sms_client: FlaskClient, session: Session, world: World) -> None:
    session.add(CheckIn(tenant_id=world.tenant.id, slot_at=utcnow() - timedelta(hours=1),
                        status=CheckInStatus.SENT, sent_at=utcnow()))
    session.commit()
    form = inbound_form(world.tenant.phone, "1 tak")
    assert twiml_messages(post_signed(sms_client, SMS_PATH, form)) == [texts.reply_good("da")]
    [message] = _inbound(session)
    assert (message.provider_id, message.tenant_id, message.intent, message.body) == (
        form["MessageSid"], world.tenant.id, "checkin_answer", "1 tak")
    assert message.processed_at is not None and message.reply == texts.reply_good("da")
    assert session.scalar(select(CheckIn.status)) == CheckInStatus.ANSWERED
    [out] = session.scalars(select(Message).where(Message.direction == Direction.OUT)).all()
    assert (out.recipient, out.body, out.status) == (world.tenant.phone, message.reply, "replied")
    # PostgreSQL writes the outcome and the reply in one statement: each row has its own.
    assert (message.sender, message.recipient) == (world.tenant.phone, SERVICE_NUMBER)
    assert (out.sender, out.tenant_id, out.intent, out.provider_id) == (
        SERVICE_NUMBER, world.tenant.id, "reply", None)


def test_retry_of_the_same_message_sid_is_answered_again_and_processed_once(
        sms_client: FlaskClient, session: Session, world: World) -> None:
    form = inbound_form(world.tenant.phone, "3")
    first = twiml_messages(post_signed(sms_client, SMS_PATH, form))
    second = twiml_messages(post_signed(sms_client, SMS_PATH, form))
    assert first == second == [texts.reply_need_help("da")]
    assert len(_inbound(session)) == 1
    [alert] = session.scalars(select(Alert)).all()
    assert alert.trigger_count == 1
    kinds = [e.kind for e in alert.events]
    assert kinds.count("raised") == kinds.count("notified") == 1  # the first step, once
    assert _count(session, Message) == 2  # the inbound and one reply


def test_a_message_stored_but_never_processed_is_processed_by_the_retry(
        sms_client: FlaskClient, sessions: sessionmaker[Session], world: World) -> None:
    """The crash case: stored, then the process died before processing. Twilio retries."""
    from bot.tenants import inbound as sms_inbound

    form = inbound_form(world.tenant.phone, "ring mig")
    with sessions() as s:
        sms_inbound.store(s, provider_id=form["MessageSid"], sender=world.tenant.phone,
                          recipient=form["To"], body=form["Body"])
        s.commit()
    assert twiml_messages(post_signed(sms_client, SMS_PATH, form)) == [texts.call_me_ack("da")]
    with sessions() as s:
        assert s.scalar(select(Alert.source)) == "call_me"


def test_a_retry_is_processed_by_the_body_stored_first(
        sms_client: FlaskClient, sessions: sessionmaker[Session], world: World) -> None:
    """The webhook reads the posted body before its transaction (read_ahead); what is
    processed is still the message as stored, even if a retry's body were another."""
    from bot.tenants import inbound as sms_inbound

    form = inbound_form(world.tenant.phone, "ring mig")
    with sessions() as s:
        sms_inbound.store(s, provider_id=form["MessageSid"], sender=world.tenant.phone,
                          recipient=form["To"], body="1")
        s.commit()
    assert twiml_messages(post_signed(sms_client, SMS_PATH, form)) == [
        texts.answer_without_checkin("da")]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0  # not a call request


@pytest.mark.parametrize("case", ["forged", "unsigned", "other_token", "changed_body",
                                  "other_url"])
def test_bad_signature_is_refused_and_nothing_is_stored(
        sms_client: FlaskClient, session: Session, world: World, case: str) -> None:
    form = inbound_form(world.tenant.phone, "3")
    signature = {
        "forged": "bm90IGEgc2lnbmF0dXJl",
        "unsigned": "",
        "other_token": sign(SMS_PATH, form, token="someone-elses-token"),
        "changed_body": sign(SMS_PATH, {**form, "Body": "1"}),
        "other_url": sign(SMS_PATH, form, base="https://evil.example"),
    }[case]
    response = post_signed(sms_client, SMS_PATH, form, signature=signature)
    assert response.status_code == 403
    assert _count(session, Message) == 0 and _count(session, Alert) == 0


def test_query_string_is_part_of_the_signed_url(sms_client: FlaskClient, session: Session,
                                                world: World) -> None:
    form = inbound_form(world.tenant.phone, "1")
    assert post_signed(sms_client, SMS_PATH, form, query="org=odense").status_code == 200
    # Signed without the query, posted with it: refused.
    other = inbound_form(world.tenant.phone, "1")
    response = sms_client.post(SMS_PATH + "?org=odense", data=other,
                               headers={"X-Twilio-Signature": sign(SMS_PATH, other)})
    assert response.status_code == 403
    assert len(_inbound(session)) == 1


def test_missing_fields_are_a_clear_400(sms_client: FlaskClient, session: Session) -> None:
    form = {"Body": "hej", "From": "+4528000301"}
    response = post_signed(sms_client, SMS_PATH, form)
    assert response.status_code == 400
    assert "MessageSid" in response.get_json()["detail"]
    assert _count(session, Message) == 0


def test_without_twilio_settings_the_webhook_refuses(client: FlaskClient,
                                                     runtime: Runtime) -> None:
    """Not configured and not in demo mode: nothing can be verified, so nothing is accepted."""
    from dataclasses import replace

    from webhooks import create_app

    plain = create_app(Runtime(replace(runtime.settings, console_channels=False),
                               runtime.engine, runtime.sessions, {})).test_client()
    form = inbound_form("+4528000301", "1")
    response = post_signed(plain, SMS_PATH, form)
    assert response.status_code == 403
    assert "not configured" in response.get_json()["detail"]


def test_database_down_answers_503_so_twilio_retries(db_url: str, backend: str) -> None:
    from webhooks import create_app

    if backend == "sqlite":
        url = "sqlite:////nonexistent-dir/trygthjem.sqlite3"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    dead = make_engine(url)
    app = create_app(Runtime(sms_settings(url), dead, make_session_factory(dead), {}))
    form = inbound_form("+4528000301", "3")
    response = post_signed(app.test_client(), SMS_PATH, form)
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_unknown_number_gets_one_polite_bilingual_reply(sms_client: FlaskClient,
                                                        session: Session, world: World) -> None:
    stranger = "+4520304050"
    first = twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(stranger, "Hej?")))
    assert first == [texts.unknown_sender()]
    again = twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(stranger, "??")))
    assert again == []
    stored = _inbound(session)
    assert [(m.sender, m.intent, m.tenant_id) for m in stored] == [
        (stranger, "unknown_sender", None)] * 2
    assert _count(session, Alert) == 0


def test_stop_then_a_scheduled_checkin_is_not_sent(
        sms_client: FlaskClient, sms_runtime: Runtime, session: Session, world: World,
        console_channels: dict[str, ConsoleChannel]) -> None:
    reply = twiml_messages(post_signed(sms_client, SMS_PATH,
                                       inbound_form(world.tenant.phone, "STOP")))
    assert reply == [texts.stop_confirmation("da", world.caseworker.phone)]
    outbox.enqueue(session, channel="sms", recipient=world.tenant.phone,
                   body=checkin_texts.checkin_prompt("da", "Anna"), key="checkin:1", kind="checkin",
                   tenant_id=world.tenant.id)
    session.commit()
    stats = Dispatcher(sms_runtime.sessions, sms_runtime.channels).run_once()
    assert (stats.sent, stats.cancelled) == (0, 1)
    assert console_channels["sms"].sent == []
    session.expire_all()
    assert session.scalar(select(OutboxItem.status)) == OutboxStatus.CANCELLED


def test_start_after_stop_lets_checkins_through_again(
        sms_client: FlaskClient, sms_runtime: Runtime, session: Session, world: World,
        console_channels: dict[str, ConsoleChannel]) -> None:
    post_signed(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "stop"))
    reply = twiml_messages(post_signed(sms_client, SMS_PATH,
                                       inbound_form(world.tenant.phone, "START")))
    assert reply == [texts.start_confirmation("da")]
    session.expire_all()
    assert session.get(Tenant, world.tenant.id).opted_out_at is None
    outbox.enqueue(session, channel="sms", recipient=world.tenant.phone, body="Hej Anna",
                   key="checkin:2", kind="checkin", tenant_id=world.tenant.id)
    session.commit()
    assert Dispatcher(sms_runtime.sessions, sms_runtime.channels).run_once().sent == 1
    assert [m.body for m in console_channels["sms"].sent] == ["Hej Anna"]


def test_crisis_text_raises_critical_alert_and_replies_at_once(
        sms_client: FlaskClient, session: Session, world: World) -> None:
    reply = twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
        world.tenant.phone, "jeg orker ikke mere, vil tage mit eget liv")))
    assert reply == [texts.crisis_reply("da")]
    [alert] = session.scalars(select(Alert)).all()
    assert (alert.source, alert.severity, alert.tenant_id) == ("crisis", "critical",
                                                                world.tenant.id)


def test_answer_3_creates_a_need_help_alert(sms_client: FlaskClient, session: Session,
                                            world: World) -> None:
    assert twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
        world.tenant.phone, "3"))) == [texts.reply_need_help("da")]
    [alert] = session.scalars(select(Alert)).all()
    assert (alert.source, alert.severity, alert.owner_id) == ("need_help", "high",
                                                              world.caseworker.id)


def test_told_ends_when_the_worker_stops_beating(sms_client: FlaskClient, session: Session,
                                                 world: World) -> None:
    """The web process remembers the newest worker beat it saw instead of asking for every
    alert reply; once that beat is WORKER_STALE old it asks again and, with no worker beating,
    no reply says a person was told."""
    other = add_tenant(session, world)
    beat_at = session.scalar(select(func.max(Heartbeat.seen_at)))  # the worker_running fixture
    assert beat_at is not None
    with time_machine.travel(beat_at + WORKER_STALE - timedelta(seconds=1), tick=False):
        assert twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
            world.tenant.phone, "3"))) == [texts.reply_need_help("da", told=True)]
    with time_machine.travel(beat_at + WORKER_STALE + timedelta(seconds=1), tick=False):
        assert twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
            other.phone, "3"))) == [texts.reply_need_help("da", told=False)]


def test_a_text_joins_the_tenants_own_active_case_read_with_the_sender(
        sms_client: FlaskClient, session: Session, world: World) -> None:
    """The webhook reads the tenant's active case in the sender's statement: their newest open
    or acknowledged alert, never a landlord's concern about them or a resolved case."""
    case, _ = raise_alert(session, source="message", summary="hej", tenant=world.tenant)
    act(session, case, "acknowledge", actor=world.caseworker, via="test")
    # A newer case of theirs, closed (a second open one cannot exist: it would have joined).
    resolved = Alert(source="call_me", severity="high", summary="ring", tenant=world.tenant,
                     organisation_id=world.org.id, state="resolved")
    session.add(resolved)
    receipt = report_concern(session, world.landlord, Draft(
        home_id=world.home.id, category="wellbeing", urgency="urgent_today",
        description="Ingen har set ham"), Delivery(), utcnow())
    session.commit()
    assert twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
        world.tenant.phone, "3"))) == [texts.reply_need_help("da")]
    session.expire_all()
    rows = {a.id: a for a in session.scalars(select(Alert))}
    assert len(rows) == 3  # joined, nothing new raised
    assert (rows[case.id].trigger_count, rows[case.id].state) == (2, "open")  # retriggered
    assert rows[resolved.id].trigger_count == 1
    [concern_alert] = [a for a in rows.values() if a.concern_id is not None]
    assert concern_alert.trigger_count == 1 and concern_alert.tenant_id == world.tenant.id
    assert receipt.reference


def test_two_texts_at_the_same_instant_open_one_case(
        sessions: sessionmaker[Session], world: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Processing an SMS takes the tenant's case lock with its claim (PostgreSQL: in the claim's
    statement; SQLite: the claim's write), not again when it raises: two texts processed at
    once still open one case, the second waits and joins it."""
    from bot.alerts import lifecycle
    from bot.tenants import inbound as sms_inbound

    ids = []
    for words in ("3", "ring mig"):
        with sessions() as s, s.begin():
            ids.append(sms_inbound.store(s, provider_id=new_sid(), sender=world.tenant.phone,
                                         recipient="+4570103000", body=words)[0])
    looked = threading.Barrier(2)
    original = lifecycle._active_case

    def look_then_wait_for_the_other(*args: Any) -> Alert | None:
        found = original(*args)
        with contextlib.suppress(threading.BrokenBarrierError):
            looked.wait(timeout=1)  # both look before either inserts, unless one waits
        return found

    monkeypatch.setattr(lifecycle, "_active_case", look_then_wait_for_the_other)

    def process(i: int) -> bool:
        with sessions() as s, s.begin():
            return not sms_inbound.process(s, ids[i]).duplicate

    assert run_together(process, 2) == [True, True]
    with sessions() as s:
        [case] = s.scalars(select(Alert)).all()
        assert case.trigger_count == 2


def test_picture_without_words(sms_client: FlaskClient, session: Session, world: World) -> None:
    form = inbound_form(world.tenant.phone, "", NumMedia="1",
                        MediaUrl0="https://api.twilio.com/media/ME1",
                        MediaContentType0="image/jpeg")
    assert twiml_messages(post_signed(sms_client, SMS_PATH, form)) == [
        texts.picture_received("da")]
    assert session.scalar(select(Alert.source)) == "message"


def test_emoji_and_overlong_messages(sms_client: FlaskClient, session: Session,
                                     world: World) -> None:
    assert twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
        world.tenant.phone, "🙂🙂"))) == [texts.answer_without_checkin("da")]
    long_text = "Der er problemer med naboen og jeg ved ikke hvad jeg skal gøre. " * 25
    assert twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
        world.tenant.phone, long_text))) == [texts.free_text_received("da")]
    assert _inbound(session)[-1].body == long_text


# -- status callbacks ---------------------------------------------------------------------------


def _outbound(session: Session, world: World, sid: str, status: str = "sent") -> Message:
    message = Message(direction=Direction.OUT, channel="sms", provider_id=sid,
                      recipient=world.tenant.phone, body="Hej", tenant_id=world.tenant.id,
                      status=status)
    session.add(message)
    session.commit()
    return message


def _status(client: FlaskClient, sid: str, status: str, error: str | None = None) -> int:
    form = {"MessageSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": "AC" + "0" * 32, "To": "+4528000301", "From": "+4570103000"}
    if error:
        form["ErrorCode"] = error
    return int(post_signed(client, STATUS_PATH, form).status_code)


def test_status_callbacks_move_forward_only(sms_client: FlaskClient, session: Session,
                                            world: World) -> None:
    sid = new_sid()
    message = _outbound(session, world, sid)
    seen = []
    for status in ("queued", "sending", "delivered", "sent", "undelivered", "read"):
        assert _status(sms_client, sid, status) == 204
        session.refresh(message)
        seen.append(message.status)
    assert seen == ["sent", "sent", "delivered", "delivered", "delivered", "read"]


def test_status_callback_failure_with_error_code(sms_client: FlaskClient, session: Session,
                                                 world: World) -> None:
    sid = new_sid()
    message = _outbound(session, world, sid)
    assert _status(sms_client, sid, "undelivered", "30006") == 204
    session.expire_all()
    assert (message.status, message.error_code) == ("undelivered", "30006")
    tenant = session.get(Tenant, world.tenant.id)
    assert tenant.phone_status == PhoneStatus.INVALID
    [alert] = session.scalars(select(Alert)).all()
    assert (alert.source, alert.severity) == ("delivery_failed", "low")
    assert "30006" in alert.summary


def test_status_callback_21610_marks_the_tenant_opted_out(sms_client: FlaskClient,
                                                          session: Session, world: World) -> None:
    sid = new_sid()
    _outbound(session, world, sid)
    assert _status(sms_client, sid, "failed", "21610") == 204
    session.expire_all()
    assert session.get(Tenant, world.tenant.id).opted_out_at is not None
    assert session.scalar(select(AuditEvent.action)) == "opt_out"
    assert _count(session, Alert) == 0


def test_status_callback_for_unknown_sid_and_forged_callback(
        sms_client: FlaskClient, session: Session, world: World) -> None:
    assert _status(sms_client, new_sid(), "delivered") == 204  # nothing to update, no error
    sid = new_sid()
    message = _outbound(session, world, sid)
    form = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "21610"}
    response = post_signed(sms_client, STATUS_PATH, form, signature="Zm9yZ2Vk")
    assert response.status_code == 403
    session.expire_all()
    assert message.status == "sent"
    assert session.get(Tenant, world.tenant.id).opted_out_at is None
    assert post_signed(sms_client, STATUS_PATH, {"MessageSid": sid}).status_code == 400


def test_a_processing_error_keeps_the_message_and_the_retry_processes_it(
        sms_client: FlaskClient, session: Session, world: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.tenants import inbound as sms_inbound

    real = sms_inbound.handle_tenant_sms
    calls = []

    def failing_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(sms_inbound, "handle_tenant_sms", failing_once)
    form = inbound_form(world.tenant.phone, "3")
    assert post_signed(sms_client, SMS_PATH, form).status_code == 500
    [stored] = _inbound(session)
    assert (stored.body, stored.processed_at) == ("3", None)  # kept, not marked processed
    assert _count(session, Alert) == 0
    assert twiml_messages(post_signed(sms_client, SMS_PATH, form)) == [
        texts.reply_need_help("da")]
    assert _count(session, Alert) == 1


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_any_body_is_stored_and_answered(sms_client: FlaskClient, session: Session,
                                         world: World, body: str) -> None:
    form = inbound_form(world.tenant.phone, body)
    response = post_signed(sms_client, SMS_PATH, form)
    assert response.status_code == 200
    session.expire_all()
    stored = session.scalar(select(Message).where(Message.provider_id == form["MessageSid"]))
    assert stored is not None and stored.processed_at is not None
    assert stored.body == body.replace("\x00", " ")  # kept as written (NUL cannot be stored)


def test_twilio_opt_out_keyword_we_do_not_know_still_opts_out(
        sms_client: FlaskClient, session: Session, world: World) -> None:
    """Advanced Opt-Out with a custom keyword: Twilio blocks the number, so we follow it."""
    form = inbound_form(world.tenant.phone, "AFBESTIL", OptOutType="STOP")
    assert twiml_messages(post_signed(sms_client, SMS_PATH, form)) == []
    session.expire_all()
    assert session.get(Tenant, world.tenant.id).opted_out_at is not None
    form = inbound_form(world.tenant.phone, "JA TAK IGEN", OptOutType="START")
    post_signed(sms_client, SMS_PATH, form)
    session.expire_all()
    assert session.get(Tenant, world.tenant.id).opted_out_at is None
    vias = [e.detail["via"] for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert vias == ["twilio_keyword", "twilio_keyword"]
