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

from sqlalchemy import bindparam, delete, func, select, update
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


# The newest beat of a process that sends the outbox, if within the bound `since`: built once,
# every alert reply asks it.
_NEWEST_SENDER_BEAT = select(func.max(Heartbeat.seen_at)).where(
    Heartbeat.kind.in_(SENDER_KINDS), Heartbeat.seen_at >= bindparam("since"))


def sender_running(session: Session, now: datetime | None = None) -> bool:
    """Whether some process that sends the outbox beat within WORKER_STALE: without one, a
    message in the outbox reaches nobody until one starts."""
    return newest_sender_beat(session, now or utcnow()) is not None


def newest_sender_beat(session: Session, now: datetime) -> datetime | None:
    """The newest sender beat within WORKER_STALE of ``now``, or None."""
    return session.connection().execute(
        _NEWEST_SENDER_BEAT, {"since": now - WORKER_STALE}).scalar()


class SenderWatch:
    """`sender_running` for a process that asks it for every alert reply, asking the database
    only when the newest sender beat it has seen could be stale: a beat's time only moves
    forward, so a beat seen at T still answers "running" until T + WORKER_STALE, exactly as
    the query would. One per runtime (one database)."""

    def __init__(self) -> None:
        self.newest: datetime | None = None

    def running(self, session: Session, now: datetime) -> bool:
        seen = self.newest
        if seen is not None and seen >= now - WORKER_STALE:
            return True
        found = newest_sender_beat(session, now)
        if found is not None and (seen is None or found > seen):
            self.newest = found  # threads may race here: the loser costs one more query
        return found is not None


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
