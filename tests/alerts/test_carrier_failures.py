"""The last mile after the provider: Twilio took the caseworker's alert SMS, then reports by
status callback that the phone never got it. That message told nobody: the alert moves on to
the next step, or to the intake route and the team lead, exactly as for a dead letter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import raise_alert
from bot.alerts.told import person_told
from bot.core import outbox
from bot.core.config import Settings
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.sms_status import KEEP_UNMATCHED, reconcile_kept
from bot.models import Alert, AlertEvent, KeptSmsStatus, Message, utcnow
from bot.models.enums import OutboxKind
from tests.support.alerts import intake_team, pending_recipients, told_once
from tests.support.dispatch import RecordingChannel, Sent, VirtualClock
from tests.support.factories import make_world
from tests.support.sms import STATUS_PATH, post_signed

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _twilio() -> Any:
    """Accepts every send with a Twilio-shaped message sid."""
    return RecordingChannel([], VirtualClock())


def _status(client: FlaskClient, sid: str, status: str, error: str | None = None) -> None:
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    if error:
        form["ErrorCode"] = error
    assert post_signed(client, STATUS_PATH, form).status_code == 204


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_an_alert_sms_the_carrier_could_not_deliver_does_not_count_as_told(
        sms_client: FlaskClient, sessions: sessionmaker[Session], session: Session,
        settings: Settings, status: str) -> None:
    w = make_world(session)
    member = intake_team(session, w)
    alert_id = told_once(session, sessions, settings, w, T0)
    assert Dispatcher(sessions, {"sms": _twilio()}).run_once().sent == 1
    sid = session.scalar(select(Message.provider_id).where(
        Message.recipient == w.caseworker.phone))
    assert sid is not None

    _status(sms_client, sid, "sent")
    with sessions() as s:
        assert person_told(s, s.get_one(Alert, alert_id))  # on its way: still counts
    _status(sms_client, sid, status, "30003")  # "Unreachable destination handset"
    _status(sms_client, sid, status, "30003")  # Twilio repeats callbacks: counted once
    with sessions() as s:
        row = s.get_one(Alert, alert_id)
        assert not person_told(s, row)
        assert row.next_action_at is not None and row.next_action_at <= utcnow()
        failures = s.scalars(select(AlertEvent.detail).where(
            AlertEvent.alert_id == alert_id, AlertEvent.kind == "notification_failed")).all()
        assert len(failures) == 1 and "30003" in failures[0]["error"]

    run_escalation(sessions, settings, channels={"sms"}, now=utcnow())
    assert pending_recipients(session) == {member.phone, w.lead.phone}


def test_a_delivered_alert_sms_and_an_undelivered_check_in_change_nothing(
        sms_client: FlaskClient, sessions: sessionmaker[Session], session: Session,
        settings: Settings) -> None:
    """Only an alert's message that never arrived moves the alert on."""
    w = make_world(session)
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="need_help", summary="3", now=T0,
                               tenant=s.get(type(w.tenant), w.tenant.id))
        alert_id = alert.id
    run_escalation(sessions, settings, channels={"sms"}, now=T0)
    with sessions() as s, s.begin():
        outbox.enqueue(s, channel="sms", recipient=w.tenant.phone, body="Hej", key="checkin-1",
                       kind=OutboxKind.CHECKIN, tenant_id=w.tenant.id)
    assert Dispatcher(sessions, {"sms": _twilio()}).run_once().sent == 2
    for message in session.scalars(select(Message).where(Message.provider_id.is_not(None))):
        _status(sms_client, str(message.provider_id),
                "delivered" if message.intent == OutboxKind.ALERT else "undelivered")
    with sessions() as s:
        assert person_told(s, s.get_one(Alert, alert_id))
        assert not s.scalars(select(AlertEvent).where(
            AlertEvent.kind == "notification_failed")).all()


def _failures(session: Session, alert_id: int) -> list[dict[str, Any]]:
    session.expire_all()
    return list(session.scalars(select(AlertEvent.detail).where(
        AlertEvent.alert_id == alert_id, AlertEvent.kind == "notification_failed")))


def test_a_failed_callback_that_beats_the_record_of_the_send_still_counts(
        sms_client: FlaskClient, sessions: sessionmaker[Session], session: Session,
        settings: Settings) -> None:
    """Twilio answers the send, the network refuses at once, and the "failed" callback (twice:
    Twilio repeats) arrives before the dispatcher has recorded the send. It is kept, and once
    the send is recorded the worker applies it once: the alert moves on to intake and lead."""
    w = make_world(session)
    member = intake_team(session, w)
    alert_id = told_once(session, sessions, settings, w, T0)
    log: list[Sent] = []

    def callback_first(_message: object) -> None:
        sid = f"SM{len(log):032d}"  # the sid this send is about to return
        for _ in range(2):
            _status(sms_client, sid, "failed", "30003")

    sms = RecordingChannel(log, VirtualClock(), on_send=callback_first)
    assert Dispatcher(sessions, {"sms": sms}).run_once().sent == 1  # type: ignore[dict-item]
    with sessions() as s:
        assert [k.status for k in s.scalars(select(KeptSmsStatus))] == ["failed"]
        assert person_told(s, s.get_one(Alert, alert_id))  # not applied yet

    with sessions() as s, s.begin():
        assert reconcile_kept(s).applied == 1
    with sessions() as s, s.begin():
        assert not reconcile_kept(s)  # applied once, then gone
    assert [len(_failures(session, alert_id))] == [1]
    with sessions() as s:
        assert not person_told(s, s.get_one(Alert, alert_id))
        assert s.scalars(select(KeptSmsStatus)).all() == []
    _status(sms_client, f"SM{1:032d}", "failed", "30003")  # a late repeat: matched, no change
    assert len(_failures(session, alert_id)) == 1

    run_escalation(sessions, settings, channels={"sms"}, now=utcnow())
    assert pending_recipients(session) == {member.phone, w.lead.phone}


def test_kept_callbacks_that_never_match_are_dropped_after_a_day(
        sms_client: FlaskClient, sessions: sessionmaker[Session], session: Session) -> None:
    """A TwiML reply's callbacks (we never learn its sid) wait a day, then go."""
    _status(sms_client, "SM" + "f" * 32, "delivered")
    with sessions() as s, s.begin():
        assert not reconcile_kept(s)
        assert reconcile_kept(s, utcnow() + KEEP_UNMATCHED - timedelta(minutes=1)).dropped == 0
        assert reconcile_kept(s, utcnow() + KEEP_UNMATCHED + timedelta(minutes=1)).dropped == 1
    assert session.scalars(select(KeptSmsStatus)).all() == []


def test_the_worker_reconciles_kept_callbacks() -> None:
    from scheduler.runner import JOBS

    names = [j.name for j in JOBS]
    assert names.index("reconcile_sms_status") < names.index("escalate_alerts")
