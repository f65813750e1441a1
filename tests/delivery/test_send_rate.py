"""The send-rate cap is per sender and global across workers, held in the database.

Workers run on virtual clocks (tests.support.dispatch): a send's time is the clock of the worker
that made it, so the spacing below is exact and the tests take no real waiting.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.core import outbox
from bot.delivery.claims import Claim, claim_paced
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.send_slots import SenderKey
from tests.support.concurrency import run_together
from tests.support.dispatch import RecordingChannel, Sent, VirtualClock, enqueue_sms

KEY = SenderKey("sms", RecordingChannel.sender)


def _run_workers(sessions: sessionmaker[Session], log: list[Sent], rate: float, n: int,
                 slow_worker_seconds: float = 0.0) -> list[int]:
    start = VirtualClock().now

    def worker(i: int) -> int:
        clock = VirtualClock(start)

        def slow(_: object) -> None:
            if i == 0:
                clock.now += slow_worker_seconds  # worker 0's provider calls take this long

        d = Dispatcher(sessions, {"sms": RecordingChannel(log, clock, worker=i, on_send=slow)},
                       rates={"sms": rate}, clock=clock, sleep=clock.sleep)
        sent = 0
        for _ in range(500):
            sent += d.run_once(batch=5).sent
            with sessions() as s:
                if not outbox.pending_count(s):
                    return sent
            clock.now += 0.05  # an idle round: the poll interval
        raise AssertionError("rows left after 500 rounds")

    return run_together(worker, n=n)


def _gaps(log: list[Sent]) -> list[float]:
    times = sorted(s.at for s in log)
    return [b - a for a, b in pairwise(times)]


@pytest.mark.parametrize("workers", [1, 3])
def test_workers_together_keep_the_cap(sessions: sessionmaker[Session], workers: int) -> None:
    """N workers send at the cap together, never N times it: no two sends of the sender are
    closer than 1/rate, and 60 sends at 10/s span 5.9 s whether one worker sends or three."""
    enqueue_sms(sessions, 60)
    log: list[Sent] = []
    sent = _run_workers(sessions, log, rate=10.0, n=workers)
    assert sum(sent) == 60 == len({s.key for s in log})
    gaps = _gaps(log)
    assert min(gaps) >= 0.1 - 1e-6
    assert sum(gaps) == pytest.approx(5.9, abs=0.05 * workers)  # at the cap, not below it


def test_a_worker_behind_its_slots_books_new_ones_instead_of_bursting(
        sessions: sessionmaker[Session]) -> None:
    """Worker 0's provider calls take 0.35 s at a 10/s cap: it falls behind the slots it
    booked. Sending on them late would crowd the others' sends; it books fresh ones instead."""
    enqueue_sms(sessions, 45)
    log: list[Sent] = []
    sent = _run_workers(sessions, log, rate=10.0, n=3, slow_worker_seconds=0.35)
    assert sum(sent) == 45 and sent[0] > 0
    assert min(_gaps(log)) >= 0.1 - 1e-6


def _claim(sessions: sessionmaker[Session], now: float, *, key: SenderKey = KEY,
           rate: float = 1.0, horizon: float = 10.0) -> Claim:
    return claim_paced(sessions, key, rate=rate, now=now, limit=50,
                       horizon=timedelta(seconds=horizon), lease=timedelta(minutes=2))


def test_a_worker_claims_no_more_than_it_can_send_in_its_horizon(
        sessions: sessionmaker[Session]) -> None:
    """At 1 SMS/s a worker that books 10 s ahead claims 10 rows, not the whole batch, and its
    lease covers its last slot; a second worker finds the sender booked and claims nothing
    until the booking horizon moves on."""
    enqueue_sms(sessions, 30)
    now = VirtualClock().now
    first = _claim(sessions, now)
    assert len(first.items) == 10 and first.pace is not None
    assert (first.pace.next_slot, first.pace.booked_to) == pytest.approx((now, now + 10))
    last_lease = max(i.locked_until for i in first.items if i.locked_until)
    assert last_lease.timestamp() == pytest.approx(now + 10 + 120)
    assert len(_claim(sessions, now).items) == 0
    later = _claim(sessions, now + 4)
    assert len(later.items) == 4 and later.pace is not None
    assert later.pace.next_slot == pytest.approx(now + 10)


def test_senders_have_caps_of_their_own(sessions: sessionmaker[Session]) -> None:
    """Two sending numbers each get the full cap: the slots are per channel and sender."""
    enqueue_sms(sessions, 20)
    now = VirtualClock().now
    a = _claim(sessions, now, key=SenderKey("sms", "+4570000001"), rate=5.0, horizon=1.0)
    b = _claim(sessions, now, key=SenderKey("sms", "+4570000002"), rate=5.0, horizon=1.0)
    assert len(a.items) == len(b.items) == 5
    assert a.pace is not None and b.pace is not None and a.pace.next_slot == b.pace.next_slot
