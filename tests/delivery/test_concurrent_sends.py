"""A dispatcher with several sends in flight (DISPATCH_CONCURRENCY): one process keeps the cap
however slow the provider answers, and exactly once, the priority rules and a stop's release
hold as with one send at a time.

Real time, short: the send threads and their slots are what is tested, so no virtual clock.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import OutgoingMessage
from bot.core import outbox
from bot.delivery.claims import at
from bot.delivery.dispatcher import URGENT_LOOK_S, Dispatcher
from bot.models import OutboxItem, OutboxStatus
from bot.models.enums import OutboxKind
from tests.support.concurrency import run_together
from tests.support.dispatch import enqueue_sms, rows_by_key


class SlowChannel:
    """A provider that answers after `seconds` (+ up to `jitter`); records (key, time, to) when
    a message arrives: up to `transit` seconds after the call."""

    name: ClassVar[str] = "sms"
    sender = "+4570000000"

    def __init__(self, log: list[tuple[str, float, str]], seconds: float = 0.0,
                 jitter: float = 0.0, on_send: threading.Event | None = None,
                 after: int = 0, transit: float = 0.0) -> None:
        self.log, self.seconds, self.jitter, self.transit = log, seconds, jitter, transit
        self.lock = threading.Lock()
        self.on_send, self.after = on_send, after  # set on_send once `after` sends were made

    def send(self, message: OutgoingMessage) -> str:
        if self.transit:
            time.sleep(random.uniform(0, self.transit))
        with self.lock:
            self.log.append((message.idempotency_key, time.time(), message.recipient))
            n = len(self.log)
        if self.on_send is not None and n >= self.after:
            self.on_send.set()
        time.sleep(self.seconds + random.uniform(0, self.jitter))
        return f"SM{n:032d}"


def _busiest_second(times: list[float]) -> int:
    times = sorted(times)
    most, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        most = max(most, i - j + 1)
    return most


def test_one_dispatcher_keeps_the_cap_with_a_slow_provider(
        sessions: sessionmaker[Session]) -> None:
    """Each send takes 0.1 s: one at a time that is under 10/s. With 4 in flight one dispatcher
    sends at the 20/s cap, within 5 %, and no 1-second window holds more than 20.

    Best of two runs for the rate: a stall of this shared machine (other processes' work)
    costs time no dispatcher wins back. The window must hold in every run."""
    rates = []
    for run in range(2):
        keys = enqueue_sms(sessions, 80, prefix=f"run{run}-")
        log: list[tuple[str, float, str]] = []
        d = Dispatcher(sessions, {"sms": SlowChannel(log, seconds=0.1)}, rates={"sms": 20.0},
                       concurrency=4)
        assert d.run_once().sent == 80
        assert Counter(k for k, _, _ in log) == Counter(keys)
        times = sorted(t for _, t, _ in log)
        assert _busiest_second(times) <= 20
        rates.append((len(times) - 1) / (times[-1] - times[0]))
        if rates[-1] >= 0.95 * 20:
            return
        time.sleep(1.0)  # the cap's window: the second run starts on a fresh second
    raise AssertionError(f"{rates[0]:.1f}/s and {rates[1]:.1f}/s at a 20/s cap")


def test_concurrent_dispatchers_with_sends_in_flight_send_each_row_once(
        sessions: sessionmaker[Session]) -> None:
    """Three dispatchers, four sends in flight each, small batches, capped SMS and uncapped
    e-mail mixed, a provider of uneven speed: every row reaches the provider exactly once."""
    keys = enqueue_sms(sessions, 150) + enqueue_sms(sessions, 60, channel="email", prefix="e")
    log: list[tuple[str, float, str]] = []

    def worker(i: int) -> int:
        channels = {name: SlowChannel(log, jitter=0.01) for name in ("sms", "email")}
        d = Dispatcher(sessions, channels, rates={"sms": 200.0}, concurrency=4)
        sent = 0
        for _ in range(100):
            sent += d.run_once(batch=7).sent
            with sessions() as s:
                if not outbox.pending_count(s):
                    return sent
            time.sleep(0.05)
        raise AssertionError("rows left after 100 rounds")

    sent = run_together(worker, n=3)
    assert sum(sent) == len(keys)
    assert Counter(k for k, _, _ in log) == Counter(keys)
    with sessions() as s:
        assert {r.status for r in rows_by_key(s).values()} == {OutboxStatus.SENT}


def test_a_row_taken_over_while_its_lane_waits_for_the_slot_is_not_sent(
        sessions: sessionmaker[Session]) -> None:
    """The lane waits for a row's slot before the row is taken: when another worker claims the
    rows meanwhile (this process stalled past the lease), this one sends none of them."""
    keys = enqueue_sms(sessions, 3)
    log: list[tuple[str, float, str]] = []
    stolen: list[str] = []

    def stall_then_b_claims(seconds: float) -> None:
        # The lane's wait for the second row's slot; not a send thread's own short wait before
        # its send (on a loaded machine a late send books a new slot and waits here too).
        lane = not threading.current_thread().name.startswith("dispatch-send")
        if not stolen and seconds > 0.1 and lane:
            deadline = time.monotonic() + 5
            while not _sent_keys(sessions) and time.monotonic() < deadline:
                time.sleep(0.01)  # the first row is out and recorded
            with sessions() as s:
                later = at(time.time() + outbox.DEFAULT_LEASE.total_seconds() + 30)
                stolen.extend(i.idempotency_key for i in outbox.claim(s, now=later))
        time.sleep(seconds)

    d = Dispatcher(sessions, {"sms": SlowChannel(log)}, rates={"sms": 4.0},
                   sleep=stall_then_b_claims, concurrency=4)
    stats = d.run_once()
    assert stolen == keys[1:]
    assert [k for k, _, _ in log] == keys[:1] and stats.sent == 1 and stats.lease_lost == 2


def _sent_keys(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        return list(s.scalars(select(OutboxItem.idempotency_key)
                              .where(OutboxItem.status == OutboxStatus.SENT)))


def test_a_stop_mid_claim_releases_what_was_not_sent(sessions: sessionmaker[Session]) -> None:
    """SIGTERM (run_until's stop) after the 3rd send: the sends in flight finish and are
    recorded, every other row is due again at once with its attempt not counted."""
    keys = enqueue_sms(sessions, 30)
    log: list[tuple[str, float, str]] = []
    stop = threading.Event()
    channel = SlowChannel(log, seconds=0.05, on_send=stop, after=3)
    d = Dispatcher(sessions, {"sms": channel}, rates={"sms": 20.0}, concurrency=4)
    d.run_until(stop, poll=0.05)
    sent = [k for k, _, _ in log]
    assert 3 <= len(sent) < 10
    with sessions() as s:
        rows = rows_by_key(s)
        assert {k for k in keys if rows[k].status == OutboxStatus.SENT} == set(sent)
        rest = [rows[k] for k in keys if k not in sent]
        assert {r.status for r in rest} == {OutboxStatus.PENDING}
        assert {r.attempts for r in rest} == {0} and {r.claim_token for r in rest} == {None}
    again = Dispatcher(sessions, {"sms": SlowChannel(log)}, rates={"sms": 200.0},
                       concurrency=4).run_once()
    assert again.sent == 30 - len(sent)
    assert Counter(k for k, _, _ in log) == Counter(keys)


def test_an_alert_overtakes_queued_checkins_with_sends_in_flight(
        sessions: sessionmaker[Session]) -> None:
    """60 check-ins at 20/s, four in flight: an alert committed after the 5th send leaves
    within a look for urgent rows (URGENT_LOOK_S) and a few slots, not after the claim's 50
    prompts; every row goes once."""
    keys = enqueue_sms(sessions, 60, prefix="checkin", kind=OutboxKind.CHECKIN)
    log: list[tuple[str, float, str]] = []
    committed: list[float] = []
    fifth = threading.Event()

    def enqueue_alert() -> None:
        fifth.wait(10)
        with sessions() as s, s.begin():
            outbox.enqueue(s, channel="sms", recipient="+4526000001", body="alert",
                           key="alert", kind=OutboxKind.ALERT,
                           not_before=datetime.now(UTC) - timedelta(seconds=1))
        committed.append(time.time())

    alerting = threading.Thread(target=enqueue_alert)
    alerting.start()
    channel = SlowChannel(log, seconds=0.05, on_send=fifth, after=5)
    d = Dispatcher(sessions, {"sms": channel}, rates={"sms": 20.0}, concurrency=4)
    assert d.run_once().sent == 61
    alerting.join()
    order = [k for k, _, _ in log]
    [alert_at] = [t for k, t, _ in log if k == "alert"]
    assert alert_at - committed[0] <= URGENT_LOOK_S + 0.75  # 2.5 s if it waited for the claim
    assert order.index("alert") < 5 + 15
    assert Counter(order) == Counter([*keys, "alert"])


def test_one_persons_messages_leave_in_order(sessions: sessionmaker[Session]) -> None:
    """Uncapped rows go several at once, but never two to the same recipient: a provider of
    uneven speed still gets one person's messages in the order they were queued."""
    keys = [f"m{i:02d}" for i in range(24)]
    with sessions() as s, s.begin():
        outbox.enqueue_many(s, [dict(channel="email", recipient=f"cw{i % 3}@odense.example",
                                     body=key, key=key, kind="reply")
                                for i, key in enumerate(keys)])
    log: list[tuple[str, float, str]] = []
    d = Dispatcher(sessions, {"email": SlowChannel(log, transit=0.03)}, concurrency=4)
    assert d.run_once().sent == 24
    for person in range(3):
        got = [k for k, _, to in log if to == f"cw{person}@odense.example"]
        assert got == keys[person::3]
