"""The global send-rate cap: each sender's next free send slot, held in the database.

A provider limits a sending number (or bot), not a process. Right before each send a dispatcher
books one slot here, advancing `send_slots.next_slot` in the same statement that reads it, so N
workers together send at the configured rate, never N times it, and each worker sleeps only until
its own slot.
Slots are Unix time in seconds from the workers' clocks (keep them NTP-synced, as any server is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case
from sqlalchemy.orm import Session

from bot.core.db import insert_for
from bot.models import SendSlot


@dataclass(frozen=True)
class SenderKey:
    """What a provider's cap applies to: a channel and its sending number / bot ('' if one)."""

    channel: str
    sender: str = ""


def _upsert(session: Session, key: SenderKey, first: float, on_conflict: Any) -> float:
    insert = insert_for(session)
    stmt = (insert(SendSlot)
            .values(channel=key.channel, sender=key.sender, next_slot=first)
            .on_conflict_do_update(index_elements=["channel", "sender"],
                                   set_={"next_slot": on_conflict})
            .returning(SendSlot.next_slot))
    return float(session.execute(stmt).scalar_one())


def lock(session: Session, key: SenderKey, now: float) -> float:
    """The sender's next free slot, its row locked until the caller's transaction ends (a
    write: on SQLite it takes the database's write lock), so claimers of a sender take turns."""
    return _upsert(session, key, now, SendSlot.next_slot)


def book(session: Session, key: SenderKey, now: float, interval: float) -> float:
    """Book one slot at the earliest free moment, in one atomic statement; returns its start."""
    later = case((SendSlot.next_slot > now, SendSlot.next_slot), else_=now) + interval
    return _upsert(session, key, now + interval, later) - interval
