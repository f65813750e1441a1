"""The worker process: APScheduler interval jobs that read the database for what is due.

APScheduler keeps no business state (an in-memory job store): every job asks the database what is
due, so a restart or a second worker neither loses nor doubles anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.core import metrics
from bot.core.logs import get_logger
from bot.ops.heartbeat import BEAT_EVERY_S
from bot.runtime import Runtime
from scheduler import jobs
from scheduler.wakeups import FastLane

log = get_logger(__name__)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[[Runtime], object]
    seconds: int
    at_start: bool = False  # also run as soon as the scheduler starts
    # Also run at once when work is committed (scheduler.wakeups); the interval is the safety net.
    on_wake: bool = False
    # Held while the job runs: its interval run and its fast-lane run never overlap.
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)


JOBS: tuple[JobSpec, ...] = (
    # Check-ins first, so `worker --once` delivers what it just planned in the same run.
    JobSpec("plan_checkins", jobs.plan_checkins, 60),
    JobSpec("start_checkins", jobs.start_checkins, 5),
    JobSpec("send_reminders", jobs.send_reminders, 60),
    JobSpec("mark_missed", jobs.mark_missed, 60),
    # Before escalation: a kept "failed" callback makes its alert due, and escalation acts on it.
    JobSpec("reconcile_sms_status", jobs.reconcile_sms_status, 10),
    # Before escalation and dispatch: a stranded "3" raises its alert (and its first step)
    # and queues its reply, and `worker --once` sends them in the same run.
    JobSpec("process_stranded_inbound", jobs.process_stranded_inbound, 30),
    JobSpec("escalate_alerts", jobs.escalate_alerts, 5, on_wake=True),
    JobSpec("retention_purge", jobs.retention_purge, 24 * 3600),
    JobSpec("expire_concern_drafts", jobs.expire_concern_drafts, 60),
    # "This worker runs jobs": the dashboard banner and the alert rules watch for it to stop.
    JobSpec("heartbeat", jobs.heartbeat, int(BEAT_EVERY_S), at_start=True),
    # Last, so `worker --once` delivers what the jobs above have just enqueued.
    JobSpec("dispatch_outbox", jobs.dispatch_outbox, 5, on_wake=True),
)


def run_once(runtime: Runtime) -> dict[str, object]:
    """Run every job once, in order (for cron-style hosting and tests)."""
    return {spec.name: spec.func(runtime) for spec in JOBS}


def build_scheduler(runtime: Runtime, *, background: bool) -> BaseScheduler:
    scheduler: BaseScheduler = (BackgroundScheduler if background else BlockingScheduler)(
        timezone="UTC")  # interval jobs only; each works in its organisations' own zones
    for spec in JOBS:
        # coalesce + max_instances=1: a slow run is never stacked or replayed in a burst.
        start = {"next_run_time": datetime.now(UTC)} if spec.at_start else {}
        scheduler.add_job(_guarded(spec, runtime), "interval", seconds=spec.seconds,
                          id=spec.name, coalesce=True, max_instances=1, **start)
    return scheduler


def build_fast_lane(runtime: Runtime) -> FastLane:
    """Escalation then dispatch, at once on every wake-up (start() it next to the scheduler)."""
    postgres = runtime.engine.dialect.name == "postgresql"
    return FastLane([_guarded(spec, runtime) for spec in JOBS if spec.on_wake],
                    listen_to=runtime.engine if postgres else None)


def _guarded(spec: JobSpec, runtime: Runtime) -> Callable[[], None]:
    def run() -> None:
        started = time.perf_counter()
        try:
            with spec.lock:
                result = spec.func(runtime)
            if result:
                log.info("job.done", job=spec.name, result=str(result))
        except Exception:  # one failing run must not stop the worker
            metrics.JOB_FAILURES.labels(job=spec.name).inc()
            log.exception("job.failed", job=spec.name)
        finally:
            metrics.JOB_RUNS.labels(job=spec.name).inc()
            metrics.JOB_DURATION.labels(job=spec.name).observe(time.perf_counter() - started)

    return run
