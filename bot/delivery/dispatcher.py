"""The dispatcher: claims due outbox rows and hands them to their channel, exactly once.

Each round claims rows under a new claim token (`bot.delivery.claims`), capped senders' rows with
their global send slots. Right before each provider call a short transaction checks that the row
is still this claim's (same token, lease not run out), extends the lease and honours a tenant's
STOP; a row whose lease ran out or moved to another worker is never sent by this one. Transient
failures retry with backoff, permanent ones become visible dead letters.

With `concurrency` > 1 a dispatcher keeps up to that many sends in flight, so one process is not
limited to 1 / provider latency: each sender ("lane": the uncapped rows, each capped sender) has
a thread that claims, books each send's global slot, waits for it and hands the row to a pool of
send threads. Every send still books its own slot, so the cap stays global and exact.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session, sessionmaker

from bot.alerts.told import UNREACHED_AFTER_ATTEMPTS, notification_died
from bot.channels.base import Channel, OutgoingMessage, PermanentError, TransientError, sender_of
from bot.core import metrics, outbox
from bot.core.db import affected_rows, write_turn
from bot.core.logs import get_logger
from bot.core.opt_out import may_send_after_stop
from bot.delivery import send_slots
from bot.delivery.claims import Claim, at, claim_paced, claim_unpaced
from bot.delivery.send_slots import SenderKey
from bot.models import Direction, Message, OutboxItem, OutboxStatus, Tenant
from bot.models.enums import ALERT_MESSAGE_KINDS, OutboxPriority

log = get_logger(__name__)

# All workers together hold at most this many seconds of a capped sender's sends at its rate:
# every claimed row goes out well inside its lease, and a new urgent row waits at most this long.
DEFAULT_HORIZON = timedelta(seconds=10)

# At most this many urgent rows join a claim at once (each still goes at the sender's cap).
URGENT_BATCH = 10
# How often a dispatcher sending prompts looks for alerts to let in ahead of them (seconds).
URGENT_LOOK_S = 0.25
# Slots are spaced for 2 % under the cap: a send leaves a little after its slot, and without this
# margin that jitter can put one send more than the cap into some 1-second window. The sends of
# one window may leave up to 1 / CAP_MARGIN - 1 s (20 ms) apart in lateness before that happens.
CAP_MARGIN = 0.98
# A row is taken (lease checked and extended, STOP honoured) this long before its slot, and the
# send leaves on the slot itself: the take's round trip does not delay it. A take needs a few ms;
# the rest is room for a busy machine or SQLite's writer queue (at 20 ms, 6-30 % of sends were
# ready late on a loaded machine with SQLite, at 50 ms under 2 %). The long wait for the slot is
# still before the take, so a process stalled there never sends a row taken over.
TAKE_LEAD_S = 0.05
# A send ready later than this after its slot books a new slot instead (half the lateness the
# margin tolerates; the rest is for the provider client's own time).
LATE_S = (1 / CAP_MARGIN - 1) / 2

FailureHook = Callable[[Session, OutboxItem, PermanentError], None]


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0
    lease_lost: int = 0  # claimed, but the lease ran out or moved on before the send: not sent

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead + self.cancelled

    def add(self, other: DispatchStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class Dispatcher:
    """`rates`: messages per second per channel, global across workers (absent = uncapped).

    `concurrency`: sends in flight at once (setting DISPATCH_CONCURRENCY); 1 sends one row at a
    time, in this thread. `clock` (Unix seconds) and `sleep` are injectable so tests can run
    many workers on virtual time (with concurrency 1); `stopping` ends a run between two sends
    (the rest of the claim is released).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channels: Mapping[str, Channel],
        *,
        rates: Mapping[str, float] | None = None,
        max_attempts: int = outbox.MAX_ATTEMPTS,
        lease: timedelta = outbox.DEFAULT_LEASE,
        horizon: timedelta = DEFAULT_HORIZON,
        on_permanent_failure: FailureHook | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
        stopping: Callable[[], bool] = lambda: False,
        concurrency: int = 1,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.paced = {SenderKey(name, sender_of(channels[name])): rate
                      for name, rate in (rates or {}).items() if rate and name in channels}
        self.max_attempts = max_attempts
        self.lease = lease
        self.horizon = min(horizon, lease)  # never hold rows longer than the lease covers
        self.on_permanent_failure = on_permanent_failure
        self.clock = clock
        self.sleep = sleep
        # The few milliseconds between a take and its slot are not cut short by a stop: the
        # row in hand goes, at its slot.
        self.pause = sleep
        self.stopping = stopping
        self.concurrency = max(1, concurrency)

    def run_once(self, batch: int = 50) -> DispatchStats:
        """Send everything due now that this worker may take, round by round, until none is."""
        stats = DispatchStats()
        if self.concurrency > 1:
            from bot.delivery.lanes import Lanes  # it builds on this module

            Lanes(self, batch, stats).run()
            return stats
        while not self.stopping():
            claims = self._claim(batch)
            if not any(c.items for c in claims):
                break
            self._send(claims, stats)
        return stats

    def run_until(self, stop: threading.Event, poll: float = 1.0, batch: int = 50) -> None:
        """A dedicated dispatch process: run rounds until `stop` is set, polling when idle."""
        self.stopping = stop.is_set
        self.sleep = stop.wait  # a stop ends a wait for a slot at once
        while not stop.is_set():
            try:
                handled = self.run_once(batch).handled
            except Exception:  # e.g. the database restarting: the next round tries again
                log.exception("dispatch.failed")
                handled = 0
            if not handled:
                stop.wait(poll)

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A short write transaction; on SQLite in the file's writer queue, so send threads
        wait their turn instead of polling the lock (which made their sends late)."""
        with write_turn(self.sessions.kw["bind"]), self.sessions() as session, session.begin():
            yield session

    # -- claiming

    def _claim(self, batch: int) -> list[Claim]:
        return [self._claim_lane(None, 0.0, batch)] + [
            self._claim_lane(key, rate, batch) for key, rate in self.paced.items()]

    def _claim_lane(self, key: SenderKey | None, rate: float, batch: int) -> Claim:
        with write_turn(self.sessions.kw["bind"]):
            now = self.clock()
            if key is None:
                return claim_unpaced(self.sessions, now=now, limit=batch, lease=self.lease,
                                     exclude=frozenset(k.channel for k in self.paced))
            return claim_paced(self.sessions, key, rate=rate, now=now, limit=batch,
                               horizon=self.horizon, lease=self.lease)

    def _send(self, claims: list[Claim], stats: DispatchStats) -> None:
        try:
            while not self.stopping():
                waiting = [c for c in claims if c.items]
                if not waiting:
                    break
                for claim in waiting:  # all uncapped rows first, then capped senders in turn
                    for _ in range(len(claim.items) if claim.key is None else 1):
                        if self.stopping():
                            break
                        self._deliver(claim, stats)
        finally:
            self._release(claims)

    def _release(self, claims: list[Claim]) -> None:
        """Rows a stop left unsent are due again at once, for any worker."""
        left = [c for c in claims if c.items]
        if not left:
            return
        with self._writing() as session:
            for claim in left:
                released = outbox.release(session, claim.token, [i.id for i in claim.items])
                log.info("outbox.released", rows=released)
                claim.items.clear()

    # -- one row

    def _deliver(self, claim: Claim, stats: DispatchStats) -> None:
        slot = None
        if claim.key is not None:
            slot = self._book(claim.key, claim.rate)
            if not self._wait_until(slot - TAKE_LEAD_S):
                return  # stopped while waiting: the row stays in the claim, to be released
        self._make_way(claim)
        self._send_row(claim, claim.items.popleft(), slot, stats)

    def _send_row(self, claim: Claim, item: OutboxItem, slot: float | None,
                  stats: DispatchStats) -> None:
        """Take the row, send it at its slot (if capped), record the outcome."""
        taken = self._take(claim.token, item.id, stats)
        if taken is None:
            return
        channel, message = taken
        if claim.key is not None and slot is not None:
            self._leave_at(claim.key, claim.rate, slot,
                           rebook=item.priority > OutboxPriority.ALERT)
        # Send outside any transaction: a slow provider must not hold database locks.
        try:
            provider_id = channel.send(message)
        except Exception as exc:  # permanent: dead letter; anything else is worth a retry
            self._failed(claim.token, item, exc, stats)
            return
        self._sent(claim.token, item, provider_id, stats)

    def _make_way(self, claim: Claim, head: OutboxItem | None = None) -> None:
        """Alerts committed while this claim's prompts go out are sent next, in this claim.

        Checked right before a send (after the slot wait), at most every URGENT_LOOK_S, so an
        alert waits for at most the send in progress or that long, not for the rest of a claim
        that may hold minutes of check-ins; at high rates the look is not paid per send.
        `head`: the row about to go (the lanes skip rows waiting for their recipient)."""
        head = head or claim.items[0]
        now_s = self.clock()
        if (head.priority <= OutboxPriority.ALERT
                or now_s - claim.looked_for_urgent_at < URGENT_LOOK_S):
            return
        claim.looked_for_urgent_at = now_s
        with write_turn(self.sessions.kw["bind"]), self.sessions() as session:
            now = at(self.clock())
            ids = outbox.claim_rows(session, token=claim.token, now=now, until=now + self.lease,
                                    limit=URGENT_BATCH, channels=(head.channel,),
                                    more_urgent_than=head.priority)
            session.commit()
            urgent = outbox.claimed_items(session, claim.token, ids) if ids else []
        if urgent:
            log.info("outbox.made_way", rows=len(urgent), channel=head.channel)
        claim.items.extendleft(reversed(urgent))

    def _book(self, key: SenderKey, rate: float) -> float:
        """Book the sender's next free slot, shared by all workers, at least TAKE_LEAD_S ahead
        (so the take fits before it); returns its start."""
        with self._writing() as session:
            return send_slots.book(session, key, self.clock() + TAKE_LEAD_S,
                                   1.0 / (rate * CAP_MARGIN))

    def _wait_until(self, moment: float) -> bool:
        """Sleep until `moment` (the long wait for a slot: a stop ends it). False if stopped."""
        delay = moment - self.clock()
        if delay > 0:
            self.sleep(delay)
        return not self.stopping()

    def _leave_at(self, key: SenderKey, rate: float, slot: float, *, rebook: bool) -> None:
        """After the take: sleep the last few milliseconds to the slot. A process that is ready
        too late (a slow take, a busy machine) books a new slot rather than send off-beat,
        unless the row is an alert: a caseworker's message does not wait another slot (a
        second at 1/s) for milliseconds of jitter; at worst one 1-s window holds one more."""
        while True:
            delay = slot - self.clock()
            if delay > 0:
                self.pause(delay)
            late = self.clock() - slot
            if late <= LATE_S or not rebook:
                return
            log.warning("outbox.slot_missed", channel=key.channel, late_ms=round(late * 1000))
            slot = self._book(key, rate)

    def _take(self, token: str, item_id: int, stats: DispatchStats,
              ) -> tuple[Channel, OutgoingMessage] | None:
        """Right before the provider call: is the row still ours? Extend its lease, or give up."""
        with self._writing() as session:
            now = at(self.clock())
            row = session.scalars(
                update(OutboxItem)
                .where(OutboxItem.id == item_id, OutboxItem.claim_token == token,
                       OutboxItem.status == OutboxStatus.SENDING, OutboxItem.locked_until > now)
                .values(locked_until=now + self.lease)
                .returning(OutboxItem)
                .execution_options(populate_existing=True)).one_or_none()
            if row is None:
                stats.lease_lost += 1
                log.warning("outbox.lease_lost", outbox_id=item_id)
                return None
            if self._blocked_by_opt_out(session, row):
                self._close(row, OutboxStatus.CANCELLED, "tenant opted out (STOP) before sending")
                stats.cancelled += 1
                metrics.dispatched(row.channel, "cancelled")
                return None
            channel = self.channels.get(row.channel)
            if channel is None:
                self._dead(row, f"channel {row.channel!r} is not configured", stats)
                return None
            return channel, OutgoingMessage(row.recipient, row.body, row.idempotency_key,
                                             row.payload)

    def _sent(self, token: str, item: OutboxItem, provider_id: str, stats: DispatchStats) -> None:
        """Record the send: a Message row, and the outbox row closed as sent (two statements:
        the claim already holds everything the Message needs)."""
        with self._writing() as session:
            msg = Message(direction=Direction.OUT, channel=item.channel, provider_id=provider_id,
                          recipient=item.recipient, body=item.body, tenant_id=item.tenant_id,
                          caseworker_id=item.caseworker_id, landlord_id=item.landlord_id,
                          intent=item.kind, status="sent")
            session.add(msg)
            session.flush()
            sent = dict(status=OutboxStatus.SENT, provider_id=provider_id, sent_at=at(self.clock()),
                        message_id=msg.id, locked_until=None, claim_token=None)
            mine = session.execute(update(OutboxItem)
                                   .where(OutboxItem.id == item.id,
                                          OutboxItem.claim_token == token,
                                          OutboxItem.status == OutboxStatus.SENDING)
                                   .values(**sent).execution_options(synchronize_session=False))
            if not affected_rows(mine):
                now = session.execute(select(OutboxItem.status, OutboxItem.recipient,
                                             OutboxItem.body).where(OutboxItem.id == item.id)
                                      ).one_or_none()
                if now is not None and now.status == OutboxStatus.CANCELLED:
                    # Cancelled at the provider (tenant erased): the log keeps what it left.
                    msg.recipient, msg.body = now.recipient, now.body
                    log.warning("outbox.sent_after_cancel", outbox_id=item.id)
                else:  # sent after our lease ran out: "sent" still stops a new claimer
                    log.error("outbox.sent_after_lease_lost", outbox_id=item.id)
                session.execute(update(OutboxItem).where(OutboxItem.id == item.id).values(**sent)
                                .execution_options(synchronize_session=False))
            stats.sent += 1
        metrics.dispatched(item.channel, "sent")
        log.info("outbox.sent", outbox_id=item.id, channel=item.channel, kind=item.kind)

    def _failed(self, token: str, item: OutboxItem, exc: Exception,
                stats: DispatchStats) -> None:
        with self._writing() as session:
            row = session.get(OutboxItem, item.id, populate_existing=True,
                              with_for_update=True)
            if row is None or row.claim_token != token or row.status != OutboxStatus.SENDING:
                return  # another worker holds it now: the outcome is theirs to record
            if isinstance(exc, PermanentError):
                self._dead(row, str(exc), stats)
                if self.on_permanent_failure:
                    self.on_permanent_failure(session, row, exc)
                return
            retry_after = exc.retry_after if isinstance(exc, TransientError) else None
            self._retry_or_die(row, f"{type(exc).__name__}: {exc}", retry_after, stats)

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
        self._close(row, OutboxStatus.PENDING, error)
        row.next_attempt_at = at(self.clock()) + delay
        session = object_session(row)
        if (session is not None and row.kind in ALERT_MESSAGE_KINDS
                and row.attempts == UNREACHED_AFTER_ATTEMPTS):
            # Still retrying, maybe for an hour: the alert must not rest on it meanwhile.
            notification_died(session, row.idempotency_key, row.caseworker_id, row.channel,
                              error, retrying=True)
        stats.retried += 1
        metrics.dispatched(row.channel, "retried")
        log.warning("outbox.retry", outbox_id=row.id, channel=row.channel, attempts=row.attempts,
                    error=error, retry_in_s=round(delay.total_seconds(), 1))

    def _dead(self, row: OutboxItem, error: str, stats: DispatchStats) -> None:
        self._close(row, OutboxStatus.DEAD, error)
        session = object_session(row)
        if session is not None and row.kind in ALERT_MESSAGE_KINDS:
            # Nobody got it: the alert must move on, not count this message as delivered.
            notification_died(session, row.idempotency_key, row.caseworker_id, row.channel, error)
        stats.dead += 1
        metrics.dispatched(row.channel, "dead")
        log.error("outbox.dead", outbox_id=row.id, channel=row.channel, error=error)

    @staticmethod
    def _close(row: OutboxItem, status: OutboxStatus, error: str | None) -> None:
        """End this claim on the row: a new status, no lease, no token."""
        row.status = status
        row.locked_until = None
        row.claim_token = None
        if error is not None:
            row.last_error = error
