"""The worker's fast lane: escalation and dispatch run as soon as work is committed.

Wake-ups come from `bot.core.wakeup`: commits in this process set its in-process signal; on
PostgreSQL a listener thread LISTENs on a dedicated connection and turns other processes'
NOTIFYs for its own schema into the same signal (NOTIFY is database-wide; the payload names the
schema, and other schemas' notifications are ignored). Each wake-up runs the escalation job,
then the dispatcher, once; wake-ups that arrive meanwhile fold into one more pass. The interval
jobs keep polling as the safety net, and run on the scheduler's own threads, so a stream of
wake-ups never holds up the planner or the sweeps. A job never runs twice at once in one
process: the fast lane and the interval job share one lock per job (see
`scheduler.runner.job_lock`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine

from bot.core.logs import get_logger
from bot.core.wakeup import CURRENT_SCHEMA_SQL, NOTIFY_CHANNEL, Signal, is_own_schema, local_signal

log = get_logger(__name__)

# How long the LISTEN loop blocks before checking whether it should stop.
LISTEN_POLL_S = 1.0
RECONNECT_MAX_S = 30.0


class PostgresListener:
    """LISTENs for the worker's channel and sets `signal` on each notification (reconnecting)."""

    def __init__(self, engine: Engine, signal: Signal, stop: threading.Event) -> None:
        self.engine = engine
        self.signal = signal
        self.stop = stop
        self.listening = threading.Event()  # set while LISTEN is active (tests wait on it)
        self.schema: str | None = None  # the schema whose work wakes this worker
        self.ignored = 0  # notifications for other schemas of the database

    def run(self) -> None:
        delay = 1.0
        while not self.stop.is_set():
            try:
                self._listen()
                delay = 1.0
            except Exception as exc:  # the database restarted or the network blipped
                self.listening.clear()
                log.warning("worker.listen_failed", error=str(exc), retry_in_s=delay)
                # Something may have been committed while we were not listening.
                self.signal.set()
                self.stop.wait(delay)
                delay = min(RECONNECT_MAX_S, delay * 2)

    def _listen(self) -> None:
        import psycopg

        # The engine's own connection parameters, but a connection outside its pool: it is
        # held for the worker's lifetime and must be in autocommit mode to receive NOTIFYs.
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        with psycopg.connect(*cargs, **cparams, autocommit=True) as conn:
            # Same connect arguments as the engine, so the same search_path and schema.
            row = conn.execute(CURRENT_SCHEMA_SQL).fetchone()
            schema = self.schema = str(row[0]) if row else ""
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self.listening.set()
            # Anything committed before LISTEN took effect is not announced: look once.
            self.signal.set()
            while not self.stop.is_set():
                for notify in conn.notifies(timeout=LISTEN_POLL_S, stop_after=1):
                    if is_own_schema(notify.payload, schema):
                        self.signal.set()
                    else:
                        self.ignored += 1


class FastLane:
    """Runs `jobs` in order whenever the worker is woken; with `listen_to` (a PostgreSQL
    engine) other processes' NOTIFYs wake it too."""

    def __init__(self, jobs: Sequence[Callable[[], Any]], *, listen_to: Engine | None = None,
                 signal: Signal = local_signal) -> None:
        self.listen_to = listen_to
        self.jobs = jobs
        self.signal = signal
        self.stop_event = threading.Event()
        self.listener: PostgresListener | None = None
        self.passes = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self.listen_to is not None:
            self.listener = PostgresListener(self.listen_to, self.signal, self.stop_event)
            self._spawn("worker-listen", self.listener.run)
        self._spawn("worker-fast-lane", self._loop)

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.signal.set()
        for thread in self._threads:
            thread.join(timeout)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            if not self.signal.wait(timeout=LISTEN_POLL_S) or self.stop_event.is_set():
                continue
            started = time.perf_counter()
            for job in self.jobs:
                job()
            self.passes += 1
            log.debug("worker.fast_lane", took_ms=round((time.perf_counter() - started) * 1000))
