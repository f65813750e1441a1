"""What one dispatcher takes from the outbox in one round.

A claim is a set of rows under one token. For a rate-capped sender the claim is bounded by what
all workers together can send at the cap within the booking horizon: the sender's rows already
claimed (by anyone, lease running) count against it. So however many workers share the sender,
every claimed row can go out, at the cap, well inside its lease.

Rows held in a claim behind their recipient's earlier message (one at a time per recipient) may
wait longer than a lease: the lanes renew the lease of every row they still hold (`renew`), so
no other worker takes a row its claimer still means to send.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
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
    renew_at: float = float("inf")  # clock at which the rows held get a new lease
    topped_up_at: float = float("-inf")  # clock of the last claim of rows for other recipients

    def merge(self, items: list[OutboxItem]) -> None:
        """Rows claimed into this claim later, in claim order with the rows held."""
        self.items = deque(sorted([*self.items, *items],
                                  key=lambda i: (i.priority, i.next_attempt_at, i.id)))


def claim_unpaced(sessions: sessionmaker[Session], *, now: float, limit: int,
                  lease: timedelta, exclude: frozenset[str]) -> Claim:
    """Rows of every channel without a cap (and of unconfigured ones, to dead-letter them)."""
    token = outbox.new_claim_token()
    with sessions() as session:
        ids = outbox.claim_rows(session, token=token, now=at(now), until=at(now) + lease,
                                limit=limit, exclude=exclude)
        session.commit()
        items = outbox.claimed_items(session, token) if ids else []
    return Claim(token, deque(items), renew_at=now + lease.total_seconds() / 2)


def top_up(sessions: sessionmaker[Session], claim: Claim, *, now: float, limit: int,
           lease: timedelta, exclude: frozenset[str], not_to: frozenset[str]) -> int:
    """More uncapped rows into a running claim (its token), none for the recipients `not_to`
    (those with a message in flight or held): while every row held waits for its recipient,
    rows for others go meanwhile. Returns how many it claimed."""
    with sessions() as session:
        ids = outbox.claim_rows(session, token=claim.token, now=at(now), until=at(now) + lease,
                                limit=limit, exclude=exclude, not_to=not_to)
        session.commit()
        items = outbox.claimed_items(session, claim.token, ids) if ids else []
    claim.merge(items)
    return len(items)


def renew(session: Session, claim: Claim, *, now: float, lease: timedelta) -> list[OutboxItem]:
    """A new lease for the rows the claim still holds, in the caller's transaction. A row whose
    lease already ran out (this process stalled) is not renewed: another worker may hold it.
    Those are dropped from the claim and returned (they would fail their take anyway)."""
    if not claim.items:
        return []
    kept = set(session.scalars(
        update(OutboxItem)
        .where(OutboxItem.id.in_([i.id for i in claim.items]),
               OutboxItem.claim_token == claim.token, OutboxItem.status == OutboxStatus.SENDING,
               OutboxItem.locked_until > at(now))
        .values(locked_until=at(now) + lease)
        .returning(OutboxItem.id)
        .execution_options(synchronize_session=False)))
    lost = [i for i in claim.items if i.id not in kept]
    if lost:
        claim.items = deque(i for i in claim.items if i.id in kept)
    claim.renew_at = now + lease.total_seconds() / 2
    return lost


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
    return Claim(token, deque(items), key, rate, renew_at=now + lease.total_seconds() / 2)
