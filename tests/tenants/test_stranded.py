"""Inbound SMS stored but never processed (the webhook's processing failed): the worker's
process_stranded_inbound job processes them once, replies through the outbox, and keeps a
failing one from blocking the others (bot.tenants.stranded). Both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.casework.tenant_messages import conversation
from bot.delivery.dispatcher import Dispatcher
from bot.models import Alert, AlertEvent, Direction, Message, OutboxItem, Tenant, utcnow
from bot.ops.state import snapshot
from bot.runtime import Runtime
from bot.tenants import inbound as sms_inbound
from bot.tenants import stranded, texts
from scheduler import jobs
from scheduler.runner import JOBS
from tests.support.concurrency import run_together
from tests.support.factories import World, add_tenant
from tests.support.sms import SERVICE_NUMBER, SMS_PATH, inbound_form, post_signed, twiml_messages

NOW = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Odense


def _store(sessions: sessionmaker[Session], phone: str, body: str, at: datetime,
           sid: str | None = None) -> int:
    """What the webhook's first transaction leaves when its second one fails."""
    form = inbound_form(phone, body, sid=sid)
    with sessions() as s, s.begin():
        message_id, _ = sms_inbound.store(s, provider_id=form["MessageSid"], sender=phone,
                                          recipient=SERVICE_NUMBER, body=body, now=at)
    return message_id


def _message(session: Session, message_id: int) -> Message:
    session.expire_all()
    message = session.get(Message, message_id)
    assert message is not None
    return message


def _replies(session: Session) -> list[OutboxItem]:
    session.expire_all()
    return list(session.scalars(select(OutboxItem).where(
        OutboxItem.idempotency_key.like("sms-reply:%")).order_by(OutboxItem.id)))


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def _stuck_metric() -> float:
    return REGISTRY.get_sample_value("trygthjem_inbound_sms_stranded_total",
                                     {"outcome": "stuck"}) or 0.0


@time_machine.travel(NOW, tick=True)
def test_a_stranded_3_raises_its_alert_escalates_and_is_answered_once(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    message_id = _store(sessions, world.tenant.phone, "3", NOW - timedelta(minutes=2))

    result = jobs.process_stranded_inbound(sms_runtime)
    assert isinstance(result, stranded.StrandedResult) and result.processed == 1

    message = _message(session, message_id)
    assert message.processed_at is not None and message.status == "processed"
    assert (message.tenant_id, message.intent) == (world.tenant.id, "checkin_answer")
    [alert] = session.scalars(select(Alert)).all()
    assert (alert.source, alert.tenant_id) == ("need_help", world.tenant.id)
    # Escalated in the same transaction: the owner's first notification is queued.
    kinds = [e.kind for e in session.scalars(select(AlertEvent).order_by(AlertEvent.id))]
    assert "notified" in kinds
    assert world.caseworker.phone in {o.recipient for o in session.scalars(
        select(OutboxItem).where(OutboxItem.kind == "alert"))}
    # The reply TwiML could not carry goes as an SMS of its own, once, as a conversation.
    [reply] = _replies(session)
    assert (reply.recipient, reply.body, reply.kind, reply.tenant_id, reply.priority) == (
        world.tenant.phone, texts.reply_need_help("da", told=True), "checkin_answer",
        world.tenant.id, 1)
    assert message.reply == reply.body
    # No "answered by TwiML" row: nothing was answered that way.
    assert not session.scalars(select(Message).where(Message.direction == Direction.OUT)).all()

    # Run again: nothing twice.
    assert jobs.process_stranded_inbound(sms_runtime) is None
    assert len(_replies(session)) == 1 and _count(session, Alert) == 1
    assert session.scalar(select(Alert.trigger_count)) == 1

    # The dispatcher sends the reply like any other SMS.
    assert Dispatcher(sessions, sms_runtime.channels).run_once().sent >= 1
    [sent] = session.scalars(select(Message).where(Message.direction == Direction.OUT,
                                                   Message.recipient == world.tenant.phone))
    assert sent.body == reply.body


def test_the_job_runs_before_escalation_and_dispatch() -> None:
    names = [spec.name for spec in JOBS]
    assert names.index("process_stranded_inbound") < names.index("escalate_alerts") < names.index(
        "dispatch_outbox")


@time_machine.travel(NOW, tick=True)
def test_a_fresh_unprocessed_message_is_left_to_the_webhook(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    message_id = _store(sessions, world.tenant.phone, "3", NOW - timedelta(seconds=20))
    assert jobs.process_stranded_inbound(sms_runtime) is None
    message = _message(session, message_id)
    assert (message.processed_at, message.status, message.process_failures) == (
        None, "received", 0)
    assert _count(session, Alert) == 0 and not _replies(session)


@time_machine.travel(NOW, tick=True)
def test_a_late_twilio_retry_of_a_message_the_worker_processed_is_not_processed_again(
        sms_runtime: Runtime, sms_client: FlaskClient, sessions: sessionmaker[Session],
        session: Session, world: World) -> None:
    form = inbound_form(world.tenant.phone, "ring mig")
    message_id = _store(sessions, world.tenant.phone, "ring mig", NOW - timedelta(minutes=2),
                        sid=form["MessageSid"])
    assert jobs.process_stranded_inbound(sms_runtime)
    [reply] = _replies(session)
    assert reply.body == texts.call_me_ack("da")

    # The reply is already on its way by SMS: TwiML would send it a second time.
    assert twiml_messages(post_signed(sms_client, SMS_PATH, form)) == []
    assert session.scalar(select(Alert.trigger_count)) == 1
    assert len(_replies(session)) == 1
    assert _count(session, Message) == 1  # the inbound one; no TwiML reply row
    assert _message(session, message_id).reply == reply.body  # remembered all the same


@time_machine.travel(NOW, tick=True)
def test_a_message_that_fails_is_retried_later_and_does_not_block_the_next(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session, world: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    broken = add_tenant(session, world)  # a bug that this tenant's data sets off
    bad = _store(sessions, broken.phone, "3", NOW - timedelta(minutes=5))  # older: first
    good = _store(sessions, world.tenant.phone, "3", NOW - timedelta(minutes=2))
    real = sms_inbound.handle_tenant_sms
    tries: list[int] = []

    def failing_for_one(s: Session, tenant: Tenant, *args: Any, **kwargs: Any) -> Any:
        if tenant.id == broken.id:
            tries.append(1)
            raise RuntimeError("bug for one tenant")
        return real(s, tenant, *args, **kwargs)

    monkeypatch.setattr(sms_inbound, "handle_tenant_sms", failing_for_one)
    result = stranded.process_stranded(sessions, sms_runtime.delivery, now=NOW)
    assert (result.processed, result.failed, result.stuck) == (1, 1, 0)
    assert _message(session, good).processed_at is not None
    failed = _message(session, bad)
    assert (failed.processed_at, failed.process_failures, failed.process_retry_at) == (
        None, 1, NOW + stranded.RETRY_BASE)
    # Rolled back whole: no alert for the broken tenant, nothing queued for them.
    assert session.scalars(select(Alert.tenant_id)).all() == [world.tenant.id]
    assert [r.recipient for r in _replies(session)] == [world.tenant.phone]

    # Not again before its backoff; then again, and later again with a longer wait.
    stranded.process_stranded(sessions, sms_runtime.delivery, now=NOW + timedelta(seconds=59))
    assert len(tries) == 1
    later = NOW + stranded.RETRY_BASE
    assert stranded.process_stranded(sessions, sms_runtime.delivery, now=later).failed == 1
    failed = _message(session, bad)
    assert (len(tries), failed.process_failures, failed.process_retry_at) == (
        2, 2, later + 2 * stranded.RETRY_BASE)

    # The bug fixed: the next try processes it, and its reply goes out.
    monkeypatch.setattr(sms_inbound, "handle_tenant_sms", real)
    result = stranded.process_stranded(sessions, sms_runtime.delivery,
                                       now=later + 2 * stranded.RETRY_BASE)
    assert result.processed == 1
    assert _message(session, bad).processed_at is not None
    assert {r.recipient for r in _replies(session)} == {world.tenant.phone, broken.phone}


def test_retry_delays_double_up_to_an_hour() -> None:
    assert [stranded.retry_delay(n).total_seconds() / 60 for n in range(1, 9)] == [
        1, 2, 4, 8, 16, 32, 60, 60]


@time_machine.travel(NOW, tick=True)
def test_after_repeated_failures_a_message_is_stuck_and_shown(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session, world: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    message_id = _store(sessions, world.tenant.phone, "3", NOW - timedelta(minutes=2))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    real = sms_inbound.handle_tenant_sms
    monkeypatch.setattr(sms_inbound, "handle_tenant_sms", broken)
    stuck_before = _stuck_metric()
    at = NOW
    for failures in range(1, stranded.STUCK_AFTER + 1):
        assert _message(session, message_id).status == "received"
        result = stranded.process_stranded(sessions, sms_runtime.delivery, now=at)
        assert result.failed == 1 and result.stuck == (failures == stranded.STUCK_AFTER)
        at += stranded.retry_delay(failures)
    message = _message(session, message_id)
    assert (message.status, message.process_failures, message.processed_at) == (
        "stuck", stranded.STUCK_AFTER, None)
    assert _stuck_metric() == stuck_before + 1
    assert snapshot(session).stuck_inbound_ids == [message_id]
    # The caseworker sees the tenant's text, and that nothing acted on it.
    [line] = conversation(session, world.tenant.id)
    assert (line.direction, line.body, line.status) == ("in", "3", "stuck")

    # Still tried (hourly at most): once it works, it is processed and no longer stuck.
    monkeypatch.setattr(sms_inbound, "handle_tenant_sms", real)
    assert stranded.process_stranded(sessions, sms_runtime.delivery, now=at).processed == 1
    assert _message(session, message_id).status == "processed"
    assert snapshot(session).stuck_inbound_ids == []


@time_machine.travel(NOW, tick=True)
def test_a_message_too_old_to_process_is_marked_stuck_not_processed(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    message_id = _store(sessions, world.tenant.phone, "1",
                        NOW - stranded.GIVE_UP_AFTER - timedelta(minutes=1))
    result = jobs.process_stranded_inbound(sms_runtime)
    assert isinstance(result, stranded.StrandedResult)
    assert (result.processed, result.stuck) == (0, 1)
    message = _message(session, message_id)
    assert (message.status, message.processed_at) == ("stuck", None)
    assert snapshot(session).stuck_inbound_ids == [message_id]
    assert jobs.process_stranded_inbound(sms_runtime) is None  # reported once


@time_machine.travel(NOW, tick=True)
def test_stop_is_respected_and_its_confirmation_goes_out(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    _store(sessions, world.tenant.phone, "STOP", NOW - timedelta(minutes=3))
    _store(sessions, world.tenant.phone, "3", NOW - timedelta(minutes=2))
    assert jobs.process_stranded_inbound(sms_runtime).processed == 2  # type: ignore[union-attr]
    # STOP's confirmation is queued (and may pass the opt-out); the "3" after it still alerts
    # the caseworker, but an opted-out tenant gets no other answer.
    [reply] = _replies(session)
    assert reply.kind == "stop"
    assert _count(session, Alert) == 1
    Dispatcher(sessions, sms_runtime.channels).run_once()
    session.expire_all()
    assert session.get(OutboxItem, reply.id).status == "sent"  # type: ignore[union-attr]


def test_two_workers_and_a_late_twilio_retry_at_once_process_it_once(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    """The claim keeps it exactly-once: whoever claims first processes and answers; the others
    find it processed (and a retry that lost to the worker answers nothing: the SMS is queued)."""
    message_id = _store(sessions, world.tenant.phone, "3", utcnow() - timedelta(minutes=2))

    def work(i: int) -> tuple[str, int, str | None]:
        if i < 2:  # two workers' jobs
            return "job", stranded.process_stranded(sessions, sms_runtime.delivery).processed, None
        with sessions() as s, s.begin():  # the webhook's second transaction, on a retry
            done = sms_inbound.process(s, message_id, delivery=sms_runtime.delivery)
        return "webhook", int(not done.duplicate), done.reply

    results = run_together(work, 3)
    assert sum(processed for _, processed, _ in results) == 1
    assert session.scalar(select(Alert.trigger_count)) == 1
    twiml = results[2][2]
    replies = _replies(session)
    if results[2][1]:  # the retry won: it answers by TwiML, nothing is queued
        assert twiml == texts.reply_need_help("da") and replies == []
    else:  # a worker won: the answer is queued once, and the retry says nothing
        assert twiml is None and [r.body for r in replies] == [texts.reply_need_help("da")]


def _fail_until_stuck(sms_runtime: Runtime, sessions: sessionmaker[Session],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(sms_inbound, "handle_tenant_sms", broken)
    monkeypatch.setattr(sms_inbound, "handle_caseworker_sms", broken)
    at = NOW
    for failures in range(1, stranded.STUCK_AFTER + 1):
        stranded.process_stranded(sessions, sms_runtime.delivery, now=at)
        at += stranded.retry_delay(failures)


@time_machine.travel(NOW, tick=True)
def test_a_stuck_3_is_raised_for_a_person_to_call_the_tenant(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session, world: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Processing a '3' keeps failing: once it is stuck, ops is not all that knows. The
    tenant's case gets a high need-help alert saying the text could not be handled, and its
    owner's SMS is queued at once, apart from the conversation that failed."""
    message_id = _store(sessions, world.tenant.phone, "3", NOW - timedelta(minutes=2))
    _fail_until_stuck(sms_runtime, sessions, monkeypatch)
    assert _message(session, message_id).status == "stuck"
    [alert] = session.scalars(select(Alert)).all()
    assert (alert.tenant_id, alert.source, alert.severity) == (
        world.tenant.id, "need_help", "high")
    assert "kunne ikke behandles" in alert.summary  # Danish: "could not be handled"
    raised = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                                      AlertEvent.kind == "raised")).one()
    assert raised.detail["unhandled"] is True and raised.detail["message_id"] == message_id
    owner_sms = session.scalars(select(OutboxItem).where(
        OutboxItem.recipient == world.caseworker.phone, OutboxItem.kind == "alert")).all()
    assert len(owner_sms) == 1


@time_machine.travel(NOW, tick=True)
def test_a_caseworkers_stuck_reply_code_raises_no_tenant_alert(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session, world: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert world.caseworker.phone is not None
    message_id = _store(sessions, world.caseworker.phone, "42 OK", NOW - timedelta(minutes=2))
    _fail_until_stuck(sms_runtime, sessions, monkeypatch)
    assert _message(session, message_id).status == "stuck"
    assert _count(session, Alert) == 0


@time_machine.travel(NOW, tick=True)
def test_stuck_words_on_a_case_about_a_missed_check_in_restart_it_for_a_call(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session, world: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Words that are no cry, stuck, on a case already escalating about missed check-ins: a
    plain message would fold into it unseen. As a call request it restarts the case, and its
    owner is asked to call now."""
    from bot.alerts.lifecycle import raise_alert

    with sessions() as s, s.begin():
        raise_alert(s, source="missed", summary="missed", severity="high", now=NOW,
                    tenant=s.get_one(Tenant, world.tenant.id), detail={"missed": 2})
    message_id = _store(sessions, world.tenant.phone, "jeg ved ikke hvad jeg skal gøre",
                        NOW - timedelta(minutes=2))
    _fail_until_stuck(sms_runtime, sessions, monkeypatch)
    assert _message(session, message_id).status == "stuck"
    [alert] = session.scalars(select(Alert)).all()
    kinds = [e.kind for e in session.scalars(select(AlertEvent).where(
        AlertEvent.alert_id == alert.id).order_by(AlertEvent.id))]
    assert alert.source == "call_me" and "retriggered" in kinds
    calls = session.scalars(select(OutboxItem).where(
        OutboxItem.recipient == world.caseworker.phone, OutboxItem.kind == "alert")).all()
    assert any("ringet op" in row.body for row in calls)  # Danish: "asks to be called"


@time_machine.travel(NOW, tick=True)
def test_a_message_given_up_unprocessed_is_raised_for_a_call(
        sms_runtime: Runtime, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    """Never processed for over a day (the worker was down): marked stuck and raised."""
    _store(sessions, world.tenant.phone, "3", NOW - stranded.GIVE_UP_AFTER - timedelta(hours=1))
    assert stranded.process_stranded(sessions, sms_runtime.delivery, now=NOW).stuck == 1
    [alert] = session.scalars(select(Alert)).all()
    assert (alert.tenant_id, alert.source) == (world.tenant.id, "need_help")
