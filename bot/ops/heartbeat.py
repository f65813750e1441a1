"""Heartbeats: every process says "alive" in the database, so any other process can tell.

The worker beats from its own scheduled job (so a beat means its scheduler runs jobs); web
processes beat at most once a minute while they serve requests; the polling Telegram bot
(`trygthjem bot`) every 15 s from its job queue while it polls (bot.telegram_bot.heartbeat);
`trygthjem dispatch` every 15 s from a thread (`keep_beating`).
Readers compare `seen_at` with the clock: no worker beat for `WORKER_STALE` means alerts and
messages are not moving; a polling bot that beat before and has gone quiet as long means
Telegram updates (landlords' reports, caseworkers' buttons) are not being received. A
deployment on the Telegram webhook has no polling bot, and that is no fault.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.core.db import affected_rows, transaction
from bot.core.logs import get_logger
from bot.core.storable import storable
from bot.models import Heartbeat, utcnow

log = get_logger(__name__)

WORKER_STALE = timedelta(minutes=2)
# Process kinds (Heartbeat.kind).
WEB, WORKER, BOT = "web", "worker", "bot"
PRUNE_AFTER = timedelta(days=7)
BEAT_EVERY_S = 15.0
# Processes that send the outbox: a worker, or a dedicated `trygthjem dispatch`.
SENDER_KINDS = (WORKER, "dispatcher")


def process_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"[:200]


def beat(session: Session, kind: str, *, detail: str = "", now: datetime | None = None,
         process: str | None = None) -> None:
    """Record that this process is alive (in the caller's transaction)."""
    now = now or utcnow()
    name = process or process_name(kind)
    detail = storable(detail, 200)
    if not affected_rows(session.execute(
            update(Heartbeat).where(Heartbeat.process == name).values(seen_at=now,
                                                                       detail=detail))):
        session.add(Heartbeat(process=name, kind=kind, started_at=now, seen_at=now,
                              detail=detail))
        # Restarts leave old rows behind; a new process clears those long gone.
        session.execute(delete(Heartbeat).where(Heartbeat.seen_at < now - PRUNE_AFTER))
    session.flush()


@dataclass(frozen=True)
class ProcessHealth:
    last_seen: datetime | None  # newest beat of any process of this kind
    running: bool  # one beat within WORKER_STALE
    processes: int  # processes of this kind that beat within WORKER_STALE

    def age(self, now: datetime) -> timedelta | None:
        return None if self.last_seen is None else now - self.last_seen


def process_health(session: Session, kind: str, now: datetime | None = None) -> ProcessHealth:
    now = now or utcnow()
    last = session.scalar(select(func.max(Heartbeat.seen_at)).where(Heartbeat.kind == kind))
    live = session.scalar(select(func.count()).select_from(Heartbeat).where(
        Heartbeat.kind == kind, Heartbeat.seen_at >= now - WORKER_STALE)) or 0
    return ProcessHealth(last, live > 0, live)


def worker_health(session: Session, now: datetime | None = None) -> ProcessHealth:
    return process_health(session, WORKER, now)


def bot_health(session: Session, now: datetime | None = None) -> ProcessHealth:
    """The polling Telegram bot's; ``last_seen`` None: none ever ran (e.g. webhook mode)."""
    return process_health(session, BOT, now)


def sender_running(session: Session, now: datetime | None = None) -> bool:
    """Whether some process that sends the outbox beat within WORKER_STALE: without one, a
    message in the outbox reaches nobody until one starts."""
    now = now or utcnow()
    return session.scalar(select(Heartbeat.process).where(
        Heartbeat.kind.in_(SENDER_KINDS), Heartbeat.seen_at >= now - WORKER_STALE).limit(1)
    ) is not None


def keep_beating(sessions: sessionmaker[Session], kind: str, stop: threading.Event,
                 every: float = BEAT_EVERY_S) -> threading.Thread:
    """Beat as `kind` now and every `every` seconds until `stop` is set, from a daemon thread
    (for processes without a scheduler, e.g. `trygthjem dispatch`)."""
    name = process_name(kind)

    def run() -> None:
        while True:
            try:
                with transaction(sessions) as session:
                    beat(session, kind, process=name)
            except Exception:  # the database restarting: beat again next time
                log.warning("heartbeat.failed", kind=kind)
            if stop.wait(every):
                return

    thread = threading.Thread(target=run, name=f"heartbeat-{kind}", daemon=True)
    thread.start()
    return thread
