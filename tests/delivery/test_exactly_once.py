"""Exactly-once dispatch across workers: a claim is re-checked right before the provider call.

The bug these guard against (issue 10, point 6): a dispatcher waited for its rate slot between
its status check and the send, never re-checked its lease, and sent rows another worker had
meanwhile re-claimed and sent: 14 of 60 SMS went out twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.core import outbox
from bot.delivery.claims import at
from bot.delivery.dispatcher import Dispatcher
from bot.models import OutboxStatus
from tests.support.concurrency import run_together
from tests.support.dispatch import RecordingChannel, Sent, VirtualClock, enqueue_sms, rows_by_key

LEASE = timedelta(minutes=2)


def test_a_row_taken_over_while_waiting_for_its_slot_is_not_sent(
        sessions: sessionmaker[Session]) -> None:
    """A's lease runs out while it waits for its send slot and B claims the rows: A must not
    send them, B holds them (and sends them once, later)."""
    keys = enqueue_sms(sessions, 3)
    log: list[Sent] = []
    clock = VirtualClock()
    stolen: list[str] = []

    def b_claims_after_a_lease(seconds: float) -> None:
        if stolen or seconds < 0.5:  # the slot wait (1 s), not the last ms after the take
            return
        with sessions() as s:  # B's clock is past A's lease (A's process was stalled)
            later = at(clock.now + LEASE.total_seconds() + 30)
            stolen.extend(i.idempotency_key for i in outbox.claim(s, now=later))

    clock.on_sleep = b_claims_after_a_lease
    a = Dispatcher(sessions, {"sms": RecordingChannel(log, clock)}, rates={"sms": 1.0},
                   clock=clock, sleep=clock.sleep)
    stats = a.run_once()
    assert stolen == keys[1:]  # the first row went at once, before any wait
    assert [s.key for s in log] == keys[:1] and stats.sent == 1 and stats.lease_lost == 2
    with sessions() as s:
        rows = rows_by_key(s)
        assert all(rows[k].status == OutboxStatus.SENDING and rows[k].claim_token
                   for k in stolen)  # still B's, untouched by A


def test_an_expired_lease_is_not_used_by_its_old_claimer(
        sessions: sessionmaker[Session]) -> None:
    """A's first provider call outlives the lease of the rows behind it: A claims them again
    before sending (a new token, a second attempt) instead of sending on the dead claim."""
    keys = enqueue_sms(sessions, 3)
    log: list[Sent] = []
    clock = VirtualClock()

    def slow_first_call(_: object) -> None:
        if len(log) == 1:
            clock.now += LEASE.total_seconds() + 1

    channel = RecordingChannel(log, clock, on_send=slow_first_call)
    stats = Dispatcher(sessions, {"sms": channel}, clock=clock, sleep=clock.sleep).run_once()
    assert [s.key for s in log] == keys and stats.sent == 3 and stats.lease_lost == 2
    with sessions() as s:
        rows = rows_by_key(s)
        assert [rows[k].attempts for k in keys] == [1, 2, 2]
        assert all(rows[k].status == OutboxStatus.SENT and rows[k].claim_token is None
                   for k in keys)


def test_rows_sent_by_another_worker_during_a_stall_are_not_sent_again(
        sessions: sessionmaker[Session]) -> None:
    """The issue's duplicate: A stalls past its lease while waiting for its next send slot,
    B re-claims the rows and sends them, A wakes up."""
    keys = enqueue_sms(sessions, 4)
    log: list[Sent] = []
    clock_a, clock_b = VirtualClock(), VirtualClock()

    def b_runs_during_a_stall(_: float) -> None:
        if len(log) == 1:
            clock_a.now += LEASE.total_seconds() + 15
            clock_b.now = clock_a.now
            Dispatcher(sessions, {"sms": RecordingChannel(log, clock_b, worker=1)},
                       rates={"sms": 1.0}, clock=clock_b, sleep=clock_b.sleep).run_once()

    clock_a.on_sleep = b_runs_during_a_stall
    a = Dispatcher(sessions, {"sms": RecordingChannel(log, clock_a)}, rates={"sms": 1.0},
                   clock=clock_a, sleep=clock_a.sleep)
    assert a.run_once().lease_lost == 3
    assert Counter(s.key for s in log) == Counter(keys)  # each row reached the provider once
    assert [s.worker for s in log] == [0, 1, 1, 1]


def test_concurrent_dispatchers_send_each_row_once(sessions: sessionmaker[Session]) -> None:
    """Three workers claiming small batches at once from one queue, with a global cap and
    uncapped rows mixed: every row reaches the provider exactly once.

    Each worker has its own virtual clock (they stay within the lease of each other, as real
    clocks do); the takeovers themselves are the deterministic tests above."""
    keys = enqueue_sms(sessions, 90) + enqueue_sms(sessions, 30, channel="email", prefix="e")
    log: list[Sent] = []

    def worker(i: int) -> int:
        clock = VirtualClock()
        channels = {name: RecordingChannel(log, clock, worker=i) for name in ("sms", "email")}
        d = Dispatcher(sessions, channels, rates={"sms": 50.0}, clock=clock, sleep=clock.sleep,
                       horizon=timedelta(seconds=0.5))
        sent = 0
        for _ in range(200):  # rounds; an idle round is a poll interval later
            stats = d.run_once(batch=7)
            sent += stats.sent
            with sessions() as s:
                if not outbox.pending_count(s):
                    return sent
            clock.now += 0.2
        raise AssertionError("rows left after 200 rounds")

    sent = run_together(worker, n=3)
    assert sum(sent) == len(keys)
    assert Counter(s.key for s in log) == Counter(keys)
    with sessions() as s:
        assert {r.status for r in rows_by_key(s).values()} == {OutboxStatus.SENT}


def test_a_stop_releases_the_rest_of_the_claim(sessions: sessionmaker[Session]) -> None:
    """SIGTERM mid-claim: the message in hand goes, the others are due again at once with the
    attempt not counted, and no send slot is left booked for them."""
    from bot.models import SendSlot

    keys = enqueue_sms(sessions, 5)
    log: list[Sent] = []
    clock = VirtualClock()
    d = Dispatcher(sessions, {"sms": RecordingChannel(log, clock)}, rates={"sms": 10.0},
                   clock=clock, sleep=clock.sleep, stopping=lambda: len(log) >= 2)
    assert d.run_once().sent == 2
    with sessions() as s:
        rows = rows_by_key(s)
        assert [rows[k].status for k in keys] == [OutboxStatus.SENT] * 2 + [
            OutboxStatus.PENDING] * 3
        assert [rows[k].attempts for k in keys[2:]] == [0, 0, 0]
        assert all(rows[k].claim_token is None for k in keys)
        slots = s.get(SendSlot, ("sms", "+4570000000"))
        assert slots is not None and slots.next_slot == pytest.approx(clock.now + 0.1)
    assert Dispatcher(sessions, {"sms": RecordingChannel(log, clock)}).run_once().sent == 3
    assert Counter(s.key for s in log) == Counter(keys)
