"""A busy recipient waits, not its lane: with sends in flight (DISPATCH_CONCURRENCY), rows for
other recipients go while one recipient's earlier message is still in flight.

The alert webhook is one recipient (its URL) and its rows go one at a time; e-mail shares its
lane. Before, the lane waited for each webhook call, so with a receiver taking 2 s an e-mail
alert queued behind 5 webhook events went after 8 s (review finding 7). Real time, short.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import OutgoingMessage
from bot.core import outbox
from bot.delivery.dispatcher import Dispatcher
from bot.models import OutboxStatus
from bot.models.enums import OutboxKind
from tests.support.concurrency import run_together
from tests.support.dispatch import rows_by_key

HOOK = "https://case.example/hook"
LEAD = "lead@odense.example"


class Receiver:
    """A provider that answers after `seconds`. Every call is logged as (key, start, end,
    recipient); `on_send(key)` runs as a call starts."""

    sender = ""

    def __init__(self, log: list[tuple[str, float, float, str]], seconds: float = 0.0,
                 on_send: dict[str, threading.Event] | None = None) -> None:
        self.log, self.seconds, self.on_send = log, seconds, on_send or {}
        self.lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> str:
        start = time.monotonic()
        if message.idempotency_key in self.on_send:
            self.on_send[message.idempotency_key].set()
        time.sleep(self.seconds)
        with self.lock:
            self.log.append((message.idempotency_key, start, time.monotonic(), message.recipient))
        return f"id-{message.idempotency_key}"


def _enqueue(sessions: sessionmaker[Session], *rows: tuple[str, str, str, str]) -> list[str]:
    """(channel, recipient, key, kind) rows, queued in this order."""
    with sessions() as s, s.begin():
        for channel, recipient, key, kind in rows:
            outbox.enqueue(s, channel=channel, recipient=recipient, body="{}", key=key, kind=kind)
    return [key for _, _, key, _ in rows]


def _webhook_events(n: int) -> list[tuple[str, str, str, str]]:
    return [("webhook", HOOK, f"webhook:alert-event:{i}", "alert.notified") for i in range(n)]


def _one_at_a_time(log: list[tuple[str, float, float, str]], to: str) -> list[str]:
    """The keys `to` received, in order; each call began after the previous one ended."""
    calls = sorted((start, end, key) for key, start, end, r in log if r == to)
    assert all(prev[1] <= nxt[0] for prev, nxt in itertools.pairwise(calls))
    return [key for _, _, key in calls]


def test_a_slow_webhook_receiver_does_not_hold_up_an_email_alert(
        sessions: sessionmaker[Session]) -> None:
    """The reviewer's scenario: a receiver taking 2 s, 5 webhook events queued, then a critical
    alert by e-mail: the e-mail goes at once, while the first webhook call is in flight. (The
    run stops once it went: the webhook rows not sent are released, due again, uncounted.)"""
    webhooks = _enqueue(sessions, *_webhook_events(5))
    _enqueue(sessions, ("email", LEAD, "alert:1:e0:step:2:email:1", OutboxKind.ALERT))
    log: list[tuple[str, float, float, str]] = []
    stop = threading.Event()
    d = Dispatcher(sessions, {"webhook": Receiver(log, seconds=2.0),
                              "email": Receiver(log, on_send={"alert:1:e0:step:2:email:1": stop})},
                   concurrency=16)
    start = time.monotonic()
    d.run_until(stop, poll=0.05)
    sent = {key: (begun, end) for key, begun, end, _ in log}
    assert set(sent) == {webhooks[0], "alert:1:e0:step:2:email:1"}
    assert sent["alert:1:e0:step:2:email:1"][0] - start < 0.5  # 8.1 s before
    assert sent["alert:1:e0:step:2:email:1"][0] < sent[webhooks[0]][1]  # in the webhook's call
    with sessions() as s:
        rows = rows_by_key(s)
        assert rows["alert:1:e0:step:2:email:1"].status == OutboxStatus.SENT
        assert [(rows[k].status, rows[k].attempts) for k in webhooks[1:]] == [
            (OutboxStatus.PENDING, 0)] * 4


def test_alerts_queued_while_the_webhook_receiver_is_slow_go_at_once(
        sessions: sessionmaker[Session]) -> None:
    """The webhook rows are claimed and its receiver takes 2 s a call; an e-mail alert and an
    SMS alert queued during the first call go within 0.75 s (a look for rows, a slot). The
    e-mail is claimed into the lane meanwhile (before: once the lane's claim was empty, ~4 s
    on), and the lane waiting for the webhook holds no send thread: of two, the SMS lane gets
    one (before: it waited for a webhook call to end)."""
    _enqueue(sessions, *_webhook_events(3))
    log: list[tuple[str, float, float, str]] = []
    calling, stop = threading.Event(), threading.Event()
    committed: list[float] = []

    def queue_alerts() -> None:
        calling.wait(10)
        _enqueue(sessions, ("email", LEAD, "alert:email", OutboxKind.ALERT),
                 ("sms", "+4526000001", "alert:sms", OutboxKind.ALERT))
        committed.append(time.monotonic())
        deadline = time.monotonic() + 10
        while len({k for k, *_ in log} & {"alert:email", "alert:sms"}) < 2:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        stop.set()

    alerting = threading.Thread(target=queue_alerts)
    alerting.start()
    d = Dispatcher(sessions, {"webhook": Receiver(log, 2.0, {"webhook:alert-event:0": calling}),
                              "email": Receiver(log), "sms": Receiver(log)},
                   rates={"sms": 20.0}, concurrency=2)
    d.run_until(stop, poll=0.05)
    alerting.join()
    began = {key: start for key, start, _, _ in log}
    assert began["alert:email"] - committed[0] < 0.75
    assert began["alert:sms"] - committed[0] < 0.75
    assert Counter(k for k, *_ in log).most_common(1)[0][1] == 1


def test_a_slow_recipients_messages_keep_their_order_while_others_pass(
        sessions: sessionmaker[Session]) -> None:
    """A webhook receiver taking 0.8 s a call, and e-mails to three people (several each):
    every e-mail goes during the first webhook call, and each recipient, the webhook too, gets
    its messages one at a time in the order they were queued."""
    webhooks = _enqueue(sessions, *_webhook_events(3))
    mails = _enqueue(sessions, *[("email", f"cw{i % 3}@odense.example", f"m{i:02d}", "reply")
                                 for i in range(12)])
    log: list[tuple[str, float, float, str]] = []
    d = Dispatcher(sessions, {"webhook": Receiver(log, 0.8), "email": Receiver(log, 0.01)},
                   concurrency=4)
    assert d.run_once().sent == 15
    calls = {key: (start, end) for key, start, end, _ in log}
    second_webhook_call = calls[webhooks[1]][0]
    assert max(calls[k][1] for k in mails) < second_webhook_call  # after all webhooks before
    for to, keys in ((HOOK, webhooks), *((f"cw{p}@odense.example", mails[p::3])
                                         for p in range(3))):
        assert _one_at_a_time(log, to) == keys


def test_rows_waiting_for_their_recipient_keep_their_lease_across_two_dispatchers(
        sessions: sessionmaker[Session]) -> None:
    """Two dispatchers, a 2 s lease, six webhook events at 0.5 s a call (3 s in all) and
    e-mails: the rows waiting for the webhook's earlier calls get new leases, so the other
    dispatcher never takes them; every row goes exactly once, the webhook's in order and one
    at a time, and no claim loses a row."""
    webhooks = _enqueue(sessions, *_webhook_events(6))
    mails = _enqueue(sessions, *[("email", f"cw{i}@odense.example", f"m{i:02d}", "reply")
                                 for i in range(10)])
    log: list[tuple[str, float, float, str]] = []
    lost: list[int] = []
    first_call = threading.Event()  # B starts once A holds every row (no split claims)

    def worker(i: int) -> int:
        if i == 1:
            first_call.wait(10)
        hook = Receiver(log, 0.5, {webhooks[0]: first_call})
        d = Dispatcher(sessions, {"webhook": hook, "email": Receiver(log, 0.01)},
                       lease=timedelta(seconds=2), concurrency=4)
        sent = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            stats = d.run_once()
            sent += stats.sent
            lost.append(stats.lease_lost)
            with sessions() as s:
                if not outbox.pending_count(s):
                    return sent
            time.sleep(0.05)
        raise AssertionError("rows left after 30 s")

    assert sum(run_together(worker, n=2)) == 16
    assert Counter(k for k, *_ in log) == Counter(webhooks + mails)
    assert _one_at_a_time(log, HOOK) == webhooks
    assert not any(lost)
    with sessions() as s:
        assert {r.attempts for r in rows_by_key(s).values()} == {1}
