"""One dispatcher run with several sends in flight (`Dispatcher(concurrency > 1)`).

One provider call at a time caps a process at 1 / provider latency: 3-5 SMS/s against Twilio,
whatever the send cap. Here each *lane* (the uncapped rows, and each capped sender) has a thread
that claims rows, books each send's global slot, waits for it, lets urgent rows in
(`_make_way`) and hands the head row to a pool of `concurrency` send threads; a send thread
takes the row, sends it on its slot and records the outcome (`Dispatcher._send_row`). Every send
books its own slot, so the cap stays global across threads and processes alike. A lane waits
for a free send thread before it books, so no slot is booked that nobody can use in time.

A lane claims again as soon as its claim is empty, while the claim's last sends are still in
flight; a lane that found nothing looks again every LANE_POLL_S while other lanes still send
(an e-mail alert does not wait for an SMS backlog), and the run ends when all find nothing.

One recipient's messages go one at a time, in claim order; the recipient waits, not the lane.
A lane hands out the first row held whose recipient has nothing in flight, so a slow recipient
(the alert webhook's one URL behind a receiver that takes seconds) holds one send thread and its
own rows, never other recipients' rows. When every row held waits for its recipient, the
uncapped lane claims due rows for other recipients into its claim (`claims.top_up`, at most every
LANE_POLL_S) and holds no send thread meanwhile. Rows held longer than half a lease get a new one
(`claims.renew`), so no other worker takes a row this one still means to send.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from bot.core.db import write_turn
from bot.core.logs import get_logger
from bot.delivery.claims import Claim, renew, top_up
from bot.delivery.dispatcher import TAKE_LEAD_S, URGENT_LOOK_S, Dispatcher, DispatchStats
from bot.delivery.send_slots import SenderKey
from bot.models import OutboxItem

log = get_logger(__name__)

# How often a lane with nothing to send looks again while other lanes of the run still send.
LANE_POLL_S = URGENT_LOOK_S


class Lanes:
    """What the lanes and send threads of one run share; `run()` once."""

    def __init__(self, dispatcher: Dispatcher, batch: int, stats: DispatchStats) -> None:
        self.d = dispatcher
        self.batch = batch
        self.stats = stats
        self.lanes: list[tuple[SenderKey | None, float]] = [(None, 0.0),
                                                             *dispatcher.paced.items()]
        self.permits = threading.Semaphore(dispatcher.concurrency)  # free send threads
        self.lock = threading.Lock()
        self.done = threading.Condition(self.lock)  # a send finished
        self.lanes_busy = len(self.lanes)
        self.recipients: set[tuple[str, str]] = set()  # (channel, recipient) in flight
        self.error: BaseException | None = None

    def run(self) -> None:
        """Returns when every lane found nothing more to send (or on a stop) and every send in
        flight is recorded; raises the first error any thread met (run_until logs it)."""
        with ThreadPoolExecutor(self.d.concurrency, thread_name_prefix="dispatch-send") as pool:
            threads = [threading.Thread(target=self._lane, args=(key, rate, pool),
                                        name=f"dispatch-{key.channel if key else 'uncapped'}")
                       for key, rate in self.lanes]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        if self.error is not None:
            raise self.error

    def _lane(self, key: SenderKey | None, rate: float, pool: ThreadPoolExecutor) -> None:
        d = self.d
        claim, busy = Claim(""), True
        try:
            while not d.stopping() and self.error is None:
                if not claim.items:
                    claim = d._claim_lane(key, rate, self.batch)
                    with self.lock:
                        if bool(claim.items) != busy:
                            busy = not busy
                            self.lanes_busy += 1 if busy else -1
                        if not busy and not self.lanes_busy:
                            return  # nothing left for any lane
                    if not busy:  # others still send: rows due meanwhile go in this run
                        d.sleep(LANE_POLL_S)
                        continue
                self._keep(claim)
                with self.lock:
                    blocked = self._next(claim) is None
                if blocked:  # every row held waits for its recipient's message in flight
                    self._unblock(claim)
                    continue
                if not self._acquire(claim):
                    return
                if not self._fly(claim, pool):
                    self.permits.release()
                    return
        except BaseException as exc:  # raised by run() once the sends in flight are done
            self.error = self.error or exc
        finally:
            try:
                d._release([claim])  # a stop leaves rows unsent: due again at once
            except BaseException as exc:
                self.error = self.error or exc

    def _next(self, claim: Claim) -> int | None:
        """The first row held whose recipient has nothing in flight (under the lock)."""
        return next((n for n, item in enumerate(claim.items)
                     if (item.channel, item.recipient) not in self.recipients), None)

    def _unblock(self, claim: Claim) -> None:
        """Every row held waits for its recipient. The uncapped lane claims due rows for other
        recipients meanwhile (a capped lane's claim is bounded by its cap: it waits); else wait
        for a send to end, holding no send thread."""
        d = self.d
        if claim.key is None and d.clock() - claim.topped_up_at >= LANE_POLL_S:
            claim.topped_up_at = d.clock()
            with self.lock:
                busy = {recipient for _, recipient in self.recipients}
            with write_turn(d.sessions.kw["bind"]):
                if top_up(d.sessions, claim, now=d.clock(), limit=self.batch, lease=d.lease,
                          exclude=frozenset(k.channel for k in d.paced),
                          not_to=frozenset(busy | {i.recipient for i in claim.items})):
                    return
        with self.lock:
            if self._next(claim) is None:
                self.done.wait(LANE_POLL_S)

    def _keep(self, claim: Claim) -> None:
        """Rows held for half a lease (behind their recipient, or waiting for a send thread)
        get a new lease; rows whose lease ran out meanwhile are dropped, never sent."""
        d = self.d
        if not claim.items or d.clock() < claim.renew_at:
            return
        with d._writing() as session:
            lost = renew(session, claim, now=d.clock(), lease=d.lease)
        if lost:
            log.warning("outbox.lease_lost", outbox_ids=[i.id for i in lost])
            with self.lock:
                self.stats.lease_lost += len(lost)

    def _acquire(self, claim: Claim) -> bool:
        """A free send thread (a permit), unless the run stops first."""
        while not self.permits.acquire(timeout=URGENT_LOOK_S):
            if self.d.stopping() or self.error is not None:
                return False
            self._keep(claim)
        return True

    def _fly(self, claim: Claim, pool: ThreadPoolExecutor) -> bool:
        """Book a slot (capped), wait for it, hand the first row whose recipient is free to a
        send thread (which owns the permit from here). False if the run stopped during the
        wait."""
        d, slot = self.d, None
        if claim.key is not None:
            slot = d._book(claim.key, claim.rate)
            if not d._wait_until(slot - TAKE_LEAD_S) or self.error is not None:
                return False
        with self.lock:
            n = self._next(claim)
        d._make_way(claim, None if n is None else claim.items[n])
        with self.lock:
            # One person's messages leave in order: never two of them in flight at once. (Only
            # this lane sends on its channels, so the row found free above still is.)
            while (n := self._next(claim)) is None:
                self.done.wait()
            item = claim.items[n]
            del claim.items[n]
            self.recipients.add((item.channel, item.recipient))
        pool.submit(self._send, claim, item, slot)
        return True

    def _send(self, claim: Claim, item: OutboxItem, slot: float | None) -> None:
        mine = DispatchStats()  # this thread's counts, added up under the lock
        try:
            self.d._send_row(claim, item, slot, mine)
        except BaseException as exc:
            self.error = self.error or exc
        finally:
            with self.lock:
                self.stats.add(mine)
                self.recipients.discard((item.channel, item.recipient))
                self.done.notify_all()
            self.permits.release()
