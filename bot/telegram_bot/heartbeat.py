"""The polling bot's heartbeat: `trygthjem bot` says "alive" in the database like the worker
(every 15 s from its own scheduled job) and web processes do, so `trygthjem status`, /metrics
and the admins' banner can tell when it has stopped.

The beat runs on the bot's own event loop (PTB's job queue) and only while the updater is
polling: a blocked loop or a polling loop that gave up stops the beats. Webhook mode needs none
of this: updates are handled inside the web processes, which beat as ``web``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import Application, ContextTypes, Job

from bot.core.db import transaction
from bot.core.logs import get_logger
from bot.ops.heartbeat import BEAT_EVERY_S, BOT, beat

log = get_logger(__name__)


def install_heartbeat(application: Application[Any, Any, Any, Any, Any, Any],
                      sessions: sessionmaker[Session], every: float = BEAT_EVERY_S) -> Job[Any]:
    """Beat at start and every ``every`` seconds while ``application`` polls."""
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot's job queue is missing (needs APScheduler)")
    # The job queue starts with the application, after getMe and the first getUpdates; a first
    # run time already past (with no grace limit) makes the first beat come then, not one
    # interval later (PTB's first=0 does not, see JobQueue.run_repeating).
    return application.job_queue.run_repeating(
        beat_while_polling, interval=every, name="heartbeat", data=sessions,
        job_kwargs={"next_run_time": datetime.now(UTC), "misfire_grace_time": None,
                    "coalesce": True})


async def beat_while_polling(context: ContextTypes.DEFAULT_TYPE) -> None:
    updater = context.application.updater
    if updater is None or not updater.running:
        return  # not polling: staying silent is the signal
    sessions = context.job.data if context.job is not None else None
    if not isinstance(sessions, sessionmaker):
        return
    try:
        # A blocking database write: off the event loop, so updates keep flowing meanwhile.
        await asyncio.to_thread(_write, sessions)
    except Exception as exc:  # the next beat tries again; the handlers meet the same database
        log.warning("heartbeat.failed", error=str(exc).splitlines()[0][:200])


def _write(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        beat(session, BOT, detail="polling")
