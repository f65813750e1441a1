"""The worker process: APScheduler interval jobs that read the database for what is due.

APScheduler keeps no business state (an in-memory job store): every job asks the database what is
due, so a restart or a second worker neither loses nor doubles anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.core.logs import get_logger
from bot.runtime import Runtime
from scheduler import jobs

log = get_logger(__name__)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[[Runtime], object]
    seconds: int


JOBS: tuple[JobSpec, ...] = (
    # Check-ins first, so `worker --once` delivers what it just planned in the same run.
    JobSpec("plan_checkins", jobs.plan_checkins, 60),
    JobSpec("start_checkins", jobs.start_checkins, 5),
    JobSpec("send_reminders", jobs.send_reminders, 60),
    JobSpec("mark_missed", jobs.mark_missed, 60),
    JobSpec("escalate_alerts", jobs.escalate_alerts, 5),
    JobSpec("retention_purge", jobs.retention_purge, 24 * 3600),
    JobSpec("expire_concern_drafts", jobs.expire_concern_drafts, 60),
    # Last, so `worker --once` delivers what the jobs above have just enqueued.
    JobSpec("dispatch_outbox", jobs.dispatch_outbox, 5),
)


def run_once(runtime: Runtime) -> dict[str, object]:
    """Run every job once, in order (for cron-style hosting and tests)."""
    return {spec.name: spec.func(runtime) for spec in JOBS}


def build_scheduler(runtime: Runtime, *, background: bool) -> BaseScheduler:
    scheduler: BaseScheduler = (BackgroundScheduler if background else BlockingScheduler)(
        timezone="UTC")  # interval jobs only; each works in its organisations' own zones
    for spec in JOBS:
        # coalesce + max_instances=1: a slow run is never stacked or replayed in a burst.
        scheduler.add_job(_guarded(spec, runtime), "interval", seconds=spec.seconds,
                          id=spec.name, coalesce=True, max_instances=1)
    return scheduler


def _guarded(spec: JobSpec, runtime: Runtime) -> Callable[[], None]:
    def run() -> None:
        try:
            result = spec.func(runtime)
            if result:
                log.info("job.done", job=spec.name, result=str(result))
        except Exception:  # one failing run must not stop the worker
            log.exception("job.failed", job=spec.name)

    return run
