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
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from bot.delivery.claims import Claim
from bot.delivery.dispatcher import TAKE_LEAD_S, URGENT_LOOK_S, Dispatcher, DispatchStats
from bot.delivery.send_slots import SenderKey
from bot.models import OutboxItem

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
                if not self._acquire():
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

    def _acquire(self) -> bool:
        """A free send thread (a permit), unless the run stops first."""
        while not self.permits.acquire(timeout=URGENT_LOOK_S):
            if self.d.stopping() or self.error is not None:
                return False
        return True

    def _fly(self, claim: Claim, pool: ThreadPoolExecutor) -> bool:
        """Book the head row's slot, wait for it, hand the row to a send thread (which owns
        the permit from here). False if the run stopped during the wait."""
        d, slot = self.d, None
        if claim.key is not None:
            slot = d._book(claim.key, claim.rate)
            if not d._wait_until(slot - TAKE_LEAD_S) or self.error is not None:
                return False
        d._make_way(claim)
        head = claim.items[0]
        recipient = (head.channel, head.recipient)
        with self.lock:
            # One person's messages leave in order: never two of them in flight at once.
            while recipient in self.recipients:
                self.done.wait()
            self.recipients.add(recipient)
        item = claim.items.popleft()
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
