"""What one dispatcher takes from the outbox in one round, and the send slots that go with it.

A claim is a set of rows under one token. Rows of a rate-capped sender come with a block of that
sender's global send slots booked in the same transaction, and only as many rows as fit in the
booking horizon: a worker never holds more than it can send, at the cap, inside its lease.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.core import outbox
from bot.delivery import send_slots
from bot.delivery.send_slots import SenderKey
from bot.models import OutboxItem


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class Pace:
    """The slots a claim booked for one sender: [next_slot, booked_to), one per send."""

    key: SenderKey
    interval: float
    next_slot: float
    booked_to: float

    @property
    def exhausted(self) -> bool:
        # Half an interval of slack: sums of float intervals are not exact.
        return self.next_slot > self.booked_to - self.interval / 2


@dataclass
class Claim:
    token: str
    items: deque[OutboxItem] = field(default_factory=deque)
    pace: Pace | None = None

    def due_at(self) -> float:
        """When this claim's next row may go (unpaced rows: at once)."""
        return self.pace.next_slot if self.pace else -math.inf


def claim_unpaced(sessions: sessionmaker[Session], *, now: float, limit: int,
                  lease: timedelta, exclude: frozenset[str]) -> Claim:
    """Rows of every channel without a cap (and of unconfigured ones, to dead-letter them)."""
    token = outbox.new_claim_token()
    with sessions() as session:
        ids = outbox.claim_rows(session, token=token, now=at(now), until=at(now) + lease,
                                limit=limit, exclude=exclude)
        session.commit()
        items = outbox.claimed_items(session, token) if ids else []
    return Claim(token, deque(items))


def claim_paced(sessions: sessionmaker[Session], key: SenderKey, *, rate: float, now: float,
                limit: int, horizon: timedelta, lease: timedelta) -> Claim:
    """Rows for one capped sender, with as many of its global slots booked as rows claimed.

    Books no further ahead than `horizon` from now: when other workers have booked the sender
    that far already, this claims nothing (they are sending; polling comes back later).
    """
    token = outbox.new_claim_token()
    interval = 1.0 / rate
    with sessions() as session:
        booked = send_slots.lock(session, key, now)  # the sender's row stays locked until commit
        start = max(booked, now)
        room = math.floor((now + horizon.total_seconds() - start) * rate + 1e-9)
        if booked <= now:
            room = max(room, 1)  # a cap slower than one send per horizon still sends
        ids: list[int] = []
        if room > 0:
            end = start + min(limit, room) * interval
            ids = outbox.claim_rows(session, token=token, now=at(now), until=at(end) + lease,
                                    limit=min(limit, room), channels=(key.channel,))
        booked_to = start + len(ids) * interval
        if ids:
            send_slots.advance(session, key, booked_to)
        session.commit()
        items = outbox.claimed_items(session, token) if ids else []
    return Claim(token, deque(items), Pace(key, interval, start, booked_to))
