"""What one dispatcher takes from the outbox in one round.

A claim is a set of rows under one token. For a rate-capped sender the claim is bounded by what
all workers together can send at the cap within the booking horizon: the sender's rows already
claimed (by anyone, lease running) count against it. So however many workers share the sender,
every claimed row can go out, at the cap, well inside its lease.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core import outbox
from bot.delivery import send_slots
from bot.delivery.send_slots import SenderKey
from bot.models import OutboxItem, OutboxStatus


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class Claim:
    token: str
    items: deque[OutboxItem] = field(default_factory=deque)
    key: SenderKey | None = None  # the capped sender, None for uncapped rows
    rate: float = 0.0
    looked_for_urgent_at: float = float("-inf")  # clock of the last look for alerts to let in


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
    """Rows for one capped sender: at most `rate x horizon` claimed by all workers at once."""
    token = outbox.new_claim_token()
    with sessions() as session:
        # Claimers of one sender take turns (the slot row is locked until commit), so two of
        # them never both see room for the same rows.
        send_slots.lock(session, key, now)
        in_flight = session.scalar(
            select(func.count()).select_from(OutboxItem)
            .where(OutboxItem.status == OutboxStatus.SENDING, OutboxItem.channel == key.channel,
                   OutboxItem.locked_until > at(now))) or 0
        room = min(limit, max(1, math.floor(rate * horizon.total_seconds())) - in_flight)
        ids: list[int] = []
        if room > 0:
            # The lease covers the horizon: the last of these rows goes out by then at the cap.
            ids = outbox.claim_rows(session, token=token, now=at(now),
                                    until=at(now) + horizon + lease, limit=room,
                                    channels=(key.channel,))
        session.commit()
        items = outbox.claimed_items(session, token) if ids else []
    return Claim(token, deque(items), key, rate)
