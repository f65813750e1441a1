"""Alerts go before queued check-ins: they share the sending number and its rate cap.

At 10:00 the planner may queue thousands of check-in prompts for one number; at a few per second
that is many minutes of sending. An alert raised meanwhile must be the next message out, not the
last (issue 12 / the "a person has been told" promise). Virtual clocks: no real waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import OutgoingMessage
from bot.core import outbox
from bot.delivery.dispatcher import URGENT_LOOK_S, Dispatcher
from bot.models import OutboxItem, OutboxStatus
from bot.models.enums import OutboxKind, OutboxPriority
from tests.support.dispatch import RecordingChannel, Sent, VirtualClock, enqueue_sms


def _enqueue(sessions: sessionmaker[Session], key: str, kind: str,
             at: VirtualClock | None = None) -> None:
    due = datetime.fromtimestamp(at.now, UTC) if at else None  # due on the worker's clock
    with sessions() as s, s.begin():
        outbox.enqueue(s, channel="sms", recipient="+4526000001", body=key, key=key, kind=kind,
                       not_before=due)


def test_every_kind_has_a_priority(sessions: sessionmaker[Session]) -> None:
    """Enqueueing stores the kind's priority: alerts 0, conversations 1, check-ins 2."""
    for kind in OutboxKind:
        _enqueue(sessions, f"k-{kind.value}", kind.value)
    enqueue_sms(sessions, 2, prefix="bulk", kind=OutboxKind.CHECKIN)
    with sessions() as s:
        got = {r.kind: r.priority for r in s.scalars(select(OutboxItem))}
    assert got[OutboxKind.ALERT] == got[OutboxKind.ALERT_REMINDER] == OutboxPriority.ALERT
    assert got[OutboxKind.ALERT_RAISED] == OutboxPriority.ALERT
    assert got[OutboxKind.CHECKIN] == got[OutboxKind.REMINDER] == OutboxPriority.BULK
    for kind in (OutboxKind.REPLY, OutboxKind.CASEWORKER_MESSAGE, OutboxKind.CONCERN_STATUS):
        assert got[kind] == OutboxPriority.CONVERSATION


def test_a_claim_takes_alerts_first(sessions: sessionmaker[Session]) -> None:
    """Check-ins queued first, a landlord update next, an alert last: the alert leads."""
    enqueue_sms(sessions, 5, prefix="checkin", kind=OutboxKind.CHECKIN)
    _enqueue(sessions, "landlord", OutboxKind.CONCERN_STATUS)
    _enqueue(sessions, "alert", OutboxKind.ALERT)
    with sessions() as s:
        items = outbox.claim(s, limit=3)
    assert [i.idempotency_key for i in items] == ["alert", "landlord", "checkin0000"]


@pytest.mark.parametrize(("rate", "slowest"), [(1.0, 1.0), (10.0, URGENT_LOOK_S + 0.15),
                                               (None, URGENT_LOOK_S + 0.1)],
                         ids=["default-cap", "capped", "uncapped"])
def test_an_alert_raised_during_a_checkin_burst_goes_out_at_once(
        sessions: sessionmaker[Session], rate: float | None, slowest: float) -> None:
    """300 check-ins are being sent (a claim holds many of them); an alert committed after the
    5th send overtakes the rest: it leaves within one send slot at the cap, or one look for
    urgent rows (URGENT_LOOK_S) plus a send. Every check-in still goes once. The provider call
    takes 50 ms of the worker's clock."""
    enqueue_sms(sessions, 300, prefix="checkin", kind=OutboxKind.CHECKIN)
    clock = VirtualClock()
    log: list[Sent] = []
    committed: list[float] = []

    def provider(message: OutgoingMessage) -> None:
        clock.now += 0.05
        if len(log) == 5:
            _enqueue(sessions, "alert", OutboxKind.ALERT, at=clock)
            committed.append(clock.now)

    channel = RecordingChannel(log, clock, on_send=provider)
    dispatcher = Dispatcher(sessions, {"sms": channel}, rates={"sms": rate} if rate else None,
                            clock=clock, sleep=clock.sleep)
    for _ in range(50):
        if not dispatcher.run_once(batch=100).sent:
            break
    keys = [s.key for s in log]
    [alert] = [s for s in log if s.key == "alert"]
    assert alert.at - committed[0] <= slowest
    assert keys.index("alert") < 10  # not after the claim's prompts
    assert len(keys) == len(set(keys)) == 301
    with sessions() as s:
        assert set(s.scalars(select(OutboxItem.status))) == {OutboxStatus.SENT}
        # Each row was claimed and sent once: the alert joined the running claim.
        assert set(s.scalars(select(OutboxItem.attempts))) == {1}


def test_the_migration_gives_queued_rows_their_kinds_priority(
        sessions: sessionmaker[Session]) -> None:
    """Rows queued before the upgrade (no priority yet) are ordered like new ones after it."""
    from alembic import command

    from bot.core.db import alembic_config, upgrade

    for kind in (OutboxKind.CHECKIN, OutboxKind.ALERT, OutboxKind.ALERT_NOTIFIED,
                 OutboxKind.CONCERN_STATUS, OutboxKind.REMINDER):
        _enqueue(sessions, kind.value, kind.value)
    engine = sessions.kw["bind"]
    command.downgrade(alembic_config(engine), "0007")
    upgrade(engine)
    with sessions() as s:
        got = {r.kind: r.priority for r in s.scalars(select(OutboxItem))}
    assert got == {kind: OutboxPriority.of(kind) for kind in got}
    assert sorted(set(got.values())) == [0, 1, 2]
