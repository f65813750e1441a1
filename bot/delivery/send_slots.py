"""The global send-rate cap: each sender's next free send slot, held in the database.

A provider limits a sending number (or bot), not a process. Every dispatcher books its sends here
by advancing `send_slots.next_slot` in the same statement that reads it, so N workers together
send at the configured rate, never N times it, and each worker sleeps only until its own slots.
Slots are Unix time in seconds from the workers' clocks (keep them NTP-synced, as any server is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.models import SendSlot


@dataclass(frozen=True)
class SenderKey:
    """What a provider's cap applies to: a channel and its sending number / bot ('' if one)."""

    channel: str
    sender: str = ""


def _upsert(session: Session, key: SenderKey, first: float, on_conflict: Any) -> float:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (insert(SendSlot)
            .values(channel=key.channel, sender=key.sender, next_slot=first)
            .on_conflict_do_update(index_elements=["channel", "sender"],
                                   set_={"next_slot": on_conflict})
            .returning(SendSlot.next_slot))
    return float(session.execute(stmt).scalar_one())


def lock(session: Session, key: SenderKey, now: float) -> float:
    """The sender's next free slot, its row locked until the caller's transaction ends.

    A write (on SQLite it takes the database's write lock), so two claimers of the same sender
    book one after the other, never from the same reading.
    """
    return _upsert(session, key, now, SendSlot.next_slot)


def advance(session: Session, key: SenderKey, to: float) -> None:
    """Move the sender's next free slot to `to` (under the lock taken by :func:`lock`)."""
    session.execute(update(SendSlot)
                    .where(SendSlot.channel == key.channel, SendSlot.sender == key.sender)
                    .values(next_slot=to))


def book_one(session: Session, key: SenderKey, now: float, interval: float) -> float:
    """Book one slot at the earliest free moment, in one atomic statement; returns its start."""
    later = case((SendSlot.next_slot > now, SendSlot.next_slot), else_=now) + interval
    return _upsert(session, key, now + interval, later) - interval


def give_back(session: Session, key: SenderKey, unused_from: float, booked_to: float) -> bool:
    """Return a block's unused tail, but only if nobody booked after it (compare-and-set)."""
    result = session.execute(update(SendSlot)
                             .where(SendSlot.channel == key.channel,
                                    SendSlot.sender == key.sender,
                                    SendSlot.next_slot == booked_to)
                             .values(next_slot=unused_from))
    return bool(getattr(result, "rowcount", 0))
