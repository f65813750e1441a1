"""Virtual time and recording channels for dispatcher tests: many workers, no real waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import OutgoingMessage
from bot.core import outbox
from bot.models import OutboxItem


@dataclass
class VirtualClock:
    """One worker's clock: Unix seconds that move only when the worker sleeps (or is told to)."""

    now: float = field(default_factory=time.time)
    on_sleep: Callable[[float], None] | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)


@dataclass(frozen=True)
class Sent:
    key: str
    at: float  # the sending worker's clock when it called the provider
    worker: int


class RecordingChannel:
    """Records every provider call (with the worker's clock) into a list shared by workers."""

    name: ClassVar[str] = "sms"
    sender = "+4570000000"

    def __init__(self, log: list[Sent], clock: VirtualClock, worker: int = 0,
                 on_send: Callable[[OutgoingMessage], None] | None = None) -> None:
        self.log = log
        self.clock = clock
        self.worker = worker
        self.on_send = on_send

    def send(self, message: OutgoingMessage) -> str:
        self.log.append(Sent(message.idempotency_key, self.clock(), self.worker))
        if self.on_send is not None:
            self.on_send(message)
        return f"SM{len(self.log):032d}"


def enqueue_sms(sessions: sessionmaker[Session], count: int, *, channel: str = "sms",
                prefix: str = "m", kind: str = "reply") -> list[str]:
    keys = [f"{prefix}{i:04d}" for i in range(count)]
    with sessions() as s, s.begin():
        outbox.enqueue_many(s, [dict(channel=channel, recipient=f"+452800{i:04d}",
                                     body=f"Hej {key}", key=key, kind=kind)
                                for i, key in enumerate(keys)])
    return keys


def rows_by_key(session: Session) -> dict[str, OutboxItem]:
    session.expire_all()
    return {row.idempotency_key: row for row in session.scalars(select(OutboxItem))}
