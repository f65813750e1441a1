"""The send-rate cap is per sender and global across workers, held in the database.

Workers run on virtual clocks (tests.support.dispatch): a send's time is the clock of the worker
that made it, so the spacing below is exact and the tests take no real waiting.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.core import outbox
from bot.delivery.claims import Claim, claim_paced
from bot.delivery.dispatcher import CAP_MARGIN, Dispatcher
from bot.delivery.send_slots import SenderKey, book
from bot.models import OutboxItem, OutboxStatus
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
    closer than 1/rate, and 60 sends at 10/s span 5.9 s (/ CAP_MARGIN: slots are spaced 2 %
    under the cap) whether one worker sends or three."""
    enqueue_sms(sessions, 60)
    log: list[Sent] = []
    sent = _run_workers(sessions, log, rate=10.0, n=workers)
    assert sum(sent) == 60 == len({s.key for s in log})
    gaps = _gaps(log)
    assert min(gaps) >= 0.1 - 1e-6
    assert sum(gaps) == pytest.approx(5.9 / CAP_MARGIN, abs=0.05 * workers)  # at the cap


def test_a_slow_worker_does_not_crowd_the_others(sessions: sessionmaker[Session]) -> None:
    """Worker 0's provider calls take 0.35 s at a 10/s cap: it books each slot right before
    its send, so it never sends on a stale slot next to another worker's. (Its virtual clock
    runs ahead of the others', so the overall span says nothing here: see the test above.)"""
    enqueue_sms(sessions, 45)
    log: list[Sent] = []
    sent = _run_workers(sessions, log, rate=10.0, n=3, slow_worker_seconds=0.35)
    assert sum(sent) == 45 and sent[0] > 0
    assert min(_gaps(log)) >= 0.1 - 1e-6


def _claim(sessions: sessionmaker[Session], now: float) -> Claim:
    return claim_paced(sessions, KEY, rate=1.0, now=now, limit=50,
                       horizon=timedelta(seconds=10), lease=timedelta(minutes=2))


def test_workers_together_claim_no_more_than_the_cap_sends_in_the_horizon(
        sessions: sessionmaker[Session]) -> None:
    """At 1 SMS/s with a 10 s horizon the first worker claims 10 rows, not its batch of 50,
    with a lease covering the horizon; a second worker finds those 10 in flight and claims
    nothing; once 4 are sent, 4 more may be claimed."""
    enqueue_sms(sessions, 30)
    now = VirtualClock().now
    first = _claim(sessions, now)
    assert len(first.items) == 10
    assert all(i.locked_until is not None
               and i.locked_until.timestamp() == pytest.approx(now + 10 + 120)
               for i in first.items)
    assert len(_claim(sessions, now).items) == 0
    with sessions() as s, s.begin():
        s.execute(update(OutboxItem).where(OutboxItem.id.in_([i.id for i in
                                                               list(first.items)[:4]]))
                  .values(status=OutboxStatus.SENT, claim_token=None))
    assert len(_claim(sessions, now + 4).items) == 4


def test_each_sender_has_slots_of_its_own(sessions: sessionmaker[Session]) -> None:
    """Slots are booked per channel and sender, one interval apart, never in the past."""
    now = VirtualClock().now
    with sessions() as s, s.begin():
        a1 = book(s, SenderKey("sms", "+4570000001"), now, 0.2)
        a2 = book(s, SenderKey("sms", "+4570000001"), now, 0.2)
        b1 = book(s, SenderKey("sms", "+4570000002"), now, 0.2)
        later = book(s, SenderKey("sms", "+4570000002"), now + 5, 0.2)
    assert (a1, a2, b1, later) == pytest.approx((now, now + 0.2, now, now + 5))
