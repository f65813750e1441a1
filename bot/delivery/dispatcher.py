"""The dispatcher: claims due outbox rows and hands them to their channel, one at a time.

Retries transient failures with backoff, dead-letters permanent ones, keeps each sender under its
rate limit, and honours a tenant's STOP right before every send.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import Channel, OutgoingMessage, PermanentError, TransientError
from bot.core import outbox
from bot.core.logs import get_logger
from bot.core.opt_out import may_send_after_stop
from bot.models import Direction, Message, OutboxItem, OutboxStatus, Tenant, utcnow

log = get_logger(__name__)


FailureHook = Callable[[Session, OutboxItem, PermanentError], None]


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead + self.cancelled


@dataclass
class RateLimiter:
    """Spaces sends per channel: `rates` are messages per second (absent = unlimited)."""

    rates: Mapping[str, float]
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: dict[str, float] = field(default_factory=dict)

    def wait(self, channel: str) -> None:
        rate = self.rates.get(channel)
        if not rate:
            return
        interval = 1.0 / rate
        last = self._last.get(channel)
        if last is not None:
            delay = last + interval - self.clock()
            if delay > 0:
                self.sleep(delay)
        self._last[channel] = self.clock()


class Dispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        channels: Mapping[str, Channel],
        *,
        rates: Mapping[str, float] | None = None,
        max_attempts: int = outbox.MAX_ATTEMPTS,
        lease: timedelta = outbox.DEFAULT_LEASE,
        on_permanent_failure: FailureHook | None = None,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.limiter = RateLimiter(rates or {})
        self.max_attempts = max_attempts
        self.lease = lease
        self.on_permanent_failure = on_permanent_failure

    def run_once(self, batch: int = 50) -> DispatchStats:
        """Send everything due now, in batches, until nothing is due."""
        stats = DispatchStats()
        while True:
            with self.sessions() as session:
                items = outbox.claim(session, limit=batch, lease=self.lease)
            if not items:
                return stats
            for item in items:
                self._deliver(item, stats)

    def _deliver(self, item: OutboxItem, stats: DispatchStats) -> None:
        with self.sessions() as session, session.begin():
            row = session.get(OutboxItem, item.id)
            if row is None or row.status != OutboxStatus.SENDING:
                return
            if self._blocked_by_opt_out(session, row):
                row.status = OutboxStatus.CANCELLED
                row.last_error = "tenant opted out (STOP) before sending"
                stats.cancelled += 1
                return
            channel = self.channels.get(row.channel)
            if channel is None:
                self._dead(row, f"channel {row.channel!r} is not configured", stats)
                return
            message = OutgoingMessage(row.recipient, row.body, row.idempotency_key, row.payload)
        # Send outside any transaction: a slow provider must not hold database locks.
        self.limiter.wait(row.channel)
        try:
            provider_id = channel.send(message)
        except PermanentError as exc:
            with self.sessions() as session, session.begin():
                row = session.get(OutboxItem, item.id)
                assert row is not None
                self._dead(row, str(exc), stats)
                if self.on_permanent_failure:
                    self.on_permanent_failure(session, row, exc)
            return
        except Exception as exc:  # anything unknown is worth a retry
            retry_after = exc.retry_after if isinstance(exc, TransientError) else None
            with self.sessions() as session, session.begin():
                row = session.get(OutboxItem, item.id)
                assert row is not None
                self._retry_or_die(row, f"{type(exc).__name__}: {exc}", retry_after, stats)
            return
        with self.sessions() as session, session.begin():
            row = session.get(OutboxItem, item.id)
            assert row is not None
            msg = Message(direction=Direction.OUT, channel=row.channel, provider_id=provider_id,
                          recipient=row.recipient, body=row.body, tenant_id=row.tenant_id,
                          caseworker_id=row.caseworker_id, landlord_id=row.landlord_id,
                          intent=row.kind, status="sent")
            session.add(msg)
            session.flush()
            row.status = OutboxStatus.SENT
            row.provider_id = provider_id
            row.sent_at = utcnow()
            row.locked_until = None
            row.message_id = msg.id
            stats.sent += 1
        log.info("outbox.sent", outbox_id=item.id, channel=item.channel, kind=item.kind)

    def _blocked_by_opt_out(self, session: Session, row: OutboxItem) -> bool:
        if row.tenant_id is None or may_send_after_stop(row.kind):
            return False
        tenant = session.get(Tenant, row.tenant_id)
        return tenant is not None and (tenant.opted_out or tenant.erased_at is not None)

    def _retry_or_die(self, row: OutboxItem, error: str, retry_after: float | None,
                      stats: DispatchStats) -> None:
        if row.attempts >= self.max_attempts:
            self._dead(row, f"gave up after {row.attempts} attempts: {error}", stats)
            return
        delay = outbox.backoff(row.attempts)
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = utcnow() + delay
        row.locked_until = None
        row.last_error = error
        stats.retried += 1
        log.warning("outbox.retry", outbox_id=row.id, channel=row.channel, attempts=row.attempts,
                    error=error, retry_in_s=round(delay.total_seconds(), 1))

    def _dead(self, row: OutboxItem, error: str, stats: DispatchStats) -> None:
        row.status = OutboxStatus.DEAD
        row.last_error = error
        row.locked_until = None
        stats.dead += 1
        log.error("outbox.dead", outbox_id=row.id, channel=row.channel, error=error)
