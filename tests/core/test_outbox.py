from datetime import timedelta
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import OutgoingMessage, PermanentError, TransientError
from bot.channels.console import ConsoleChannel
from bot.core import outbox
from bot.delivery.dispatcher import Dispatcher, RateLimiter
from bot.models import Message, OutboxItem, OutboxStatus, utcnow
from tests.support.concurrency import run_together
from tests.support.factories import make_world


class FlakyChannel:
    name: ClassVar[str] = "flaky"

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    def send(self, message: OutgoingMessage) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return f"ID{self.calls}"


def _enqueue(session: Session, key: str = "k1", **kw) -> bool:  # type: ignore[no-untyped-def]
    added = outbox.enqueue(session, channel=kw.pop("channel", "sms"),
                           recipient="+4528000301", body="Hej", key=key, **kw)
    session.commit()
    return added


def test_enqueue_is_idempotent(session: Session) -> None:
    assert _enqueue(session) is True
    assert _enqueue(session) is False
    assert len(session.scalars(select(OutboxItem)).all()) == 1


def test_claim_takes_due_rows_once(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        _enqueue(s, "a")
        _enqueue(s, "later", not_before=utcnow() + timedelta(hours=1))
    with sessions() as s1, sessions() as s2:
        first = outbox.claim(s1)
        second = outbox.claim(s2)
    assert [i.idempotency_key for i in first] == ["a"]
    assert second == []
    assert first[0].status == OutboxStatus.SENDING and first[0].attempts == 1


def test_expired_lease_is_claimed_again(sessions: sessionmaker[Session]) -> None:
    """A dispatcher that crashed after claiming loses nothing: the lease runs out."""
    with sessions() as s:
        _enqueue(s)
        assert len(outbox.claim(s, lease=timedelta(seconds=30))) == 1
    with sessions() as s:
        assert outbox.claim(s) == []
        again = outbox.claim(s, now=utcnow() + timedelta(seconds=31))
    assert len(again) == 1 and again[0].attempts == 2


def test_concurrent_claimers_never_share_a_row(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        for i in range(60):
            outbox.enqueue(s, channel="sms", recipient="+4528000301", body="x", key=f"k{i}")
        s.commit()
    def worker(_: int) -> list[int]:
        got: list[int] = []
        with sessions() as s:
            while batch := outbox.claim(s, limit=7):
                got.extend(i.id for i in batch)
        return got

    everything = [i for ids in run_together(worker, n=3) for i in ids]
    assert len(everything) == 60 and len(set(everything)) == 60


def test_dispatcher_sends_and_logs(sessions: sessionmaker[Session]) -> None:
    console = ConsoleChannel("sms", stream=__import__("io").StringIO())
    with sessions() as s:
        _enqueue(s)
    stats = Dispatcher(sessions, {"sms": console}).run_once()
    assert (stats.sent, stats.handled) == (1, 1)
    assert [m.body for m in console.sent] == ["Hej"]
    with sessions() as s:
        row = s.scalars(select(OutboxItem)).one()
        assert row.status == OutboxStatus.SENT and row.provider_id
        msg = s.get(Message, row.message_id)
        assert msg is not None and msg.direction == "out" and msg.provider_id == row.provider_id
    assert Dispatcher(sessions, {"sms": console}).run_once().handled == 0  # nothing sent twice


def test_transient_errors_retry_with_backoff_then_succeed(
        sessions: sessionmaker[Session]) -> None:
    flaky = FlakyChannel([TransientError("HTTP 500"), TransientError("429", retry_after=600)])
    with sessions() as s:
        _enqueue(s)
    d = Dispatcher(sessions, {"sms": flaky})
    assert d.run_once().retried == 1
    with sessions() as s:
        row = s.scalars(select(OutboxItem)).one()
        assert row.status == OutboxStatus.PENDING and "HTTP 500" in (row.last_error or "")
        wait = row.next_attempt_at - utcnow()
        assert timedelta(seconds=5) < wait < timedelta(seconds=25)  # 15 s base, jittered
        row.next_attempt_at = utcnow()
        s.commit()
    assert d.run_once().retried == 1
    with sessions() as s:
        row = s.scalars(select(OutboxItem)).one()
        assert row.next_attempt_at - utcnow() > timedelta(seconds=590)  # honours retry_after
        row.next_attempt_at = utcnow()
        s.commit()
    assert d.run_once().sent == 1 and flaky.calls == 3


def test_gives_up_after_max_attempts(sessions: sessionmaker[Session]) -> None:
    flaky = FlakyChannel([TransientError("down")] * 5)
    with sessions() as s:
        _enqueue(s)
    d = Dispatcher(sessions, {"sms": flaky}, max_attempts=2)
    d.run_once()
    with sessions() as s:
        s.scalars(select(OutboxItem)).one().next_attempt_at = utcnow()
        s.commit()
    assert d.run_once().dead == 1
    with sessions() as s:
        row = s.scalars(select(OutboxItem)).one()
        assert row.status == OutboxStatus.DEAD and "gave up after 2 attempts" in row.last_error


def test_permanent_error_is_dead_at_once_and_hooked(sessions: sessionmaker[Session]) -> None:
    seen: list[str | None] = []
    flaky = FlakyChannel([PermanentError("invalid number", code="21211")])
    with sessions() as s:
        _enqueue(s)
    stats = Dispatcher(sessions, {"sms": flaky},
                       on_permanent_failure=lambda s, row, exc: seen.append(exc.code)).run_once()
    assert stats.dead == 1 and seen == ["21211"]


def test_unconfigured_channel_is_a_visible_dead_letter(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        _enqueue(s, channel="telegram")
    assert Dispatcher(sessions, {}).run_once().dead == 1
    with sessions() as s:
        assert "not configured" in (s.scalars(select(OutboxItem)).one().last_error or "")


@pytest.mark.parametrize(("kind", "expected"), [("checkin", OutboxStatus.CANCELLED),
                                                ("reminder", OutboxStatus.CANCELLED),
                                                ("reply", OutboxStatus.CANCELLED),
                                                ("stop", OutboxStatus.SENT)])
def test_stop_is_honoured_right_before_sending(sessions: sessionmaker[Session], kind: str,
                                               expected: str) -> None:
    with sessions() as s:
        w = make_world(s)
        _enqueue(s, kind=kind, tenant_id=w.tenant.id)
        w.tenant.opted_out_at = utcnow()
        s.commit()
    console = ConsoleChannel("sms", stream=__import__("io").StringIO())
    Dispatcher(sessions, {"sms": console}).run_once()
    with sessions() as s:
        assert s.scalars(select(OutboxItem)).one().status == expected
    assert len(console.sent) == (1 if expected == OutboxStatus.SENT else 0)


def test_rate_limiter_spaces_sends() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(d: float) -> None:
        slept.append(d)
        now[0] += d

    limiter = RateLimiter({"sms": 2.0}, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.wait("sms")
        limiter.wait("email")  # unlimited
    assert slept == [0.5, 0.5]


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(1)
    assert outbox.backoff(1, rng=rng) <= timedelta(seconds=22.5)
    assert outbox.backoff(20, rng=rng) <= timedelta(seconds=5400)
    assert outbox.backoff(5, rng=rng) >= timedelta(seconds=120)


def test_demo_console_channels_are_not_rate_limited(runtime) -> None:  # type: ignore[no-untyped-def]
    """A demo worker must never sleep on a provider cap (it would also stall Ctrl+C)."""
    from dataclasses import replace

    from scheduler.jobs import send_rates

    assert send_rates(runtime) == {}
    runtime.settings = replace(runtime.settings, console_channels=False, sms_rate_per_second=2.0)
    assert send_rates(runtime)["sms"] == 2.0 and send_rates(runtime)["telegram"] > 0
