"""The last mile after the provider: Twilio took the caseworker's alert SMS, then reports by
status callback that the phone never got it. That message told nobody: the alert moves on to
the next step, or to the intake route and the team lead, exactly as for a dead letter.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
from bot.models import Alert, AlertEvent, Message, OutboxItem, utcnow
from bot.models.enums import OutboxKind
from tests.support.alerts import intake_team, told_once
from tests.support.dispatch import RecordingChannel, VirtualClock
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
    session.expire_all()
    pending = {r.recipient for r in session.scalars(select(OutboxItem))
               if r.status == "pending"}
    assert pending == {member.phone, w.lead.phone}


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
