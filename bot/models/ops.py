"""Operations records: each process's heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow


class Heartbeat(Base):
    """One row per running process (web, worker or polling Telegram bot), rewritten while it
    lives.

    `process` is `<kind>:<host>:<pid>`: a restart is a new row, and rows not seen for a week are
    pruned by the next beat. The dashboard and `trygthjem status` read the newest worker and
    bot rows.
    """

    __tablename__ = "heartbeats"

    process: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # web, worker, bot
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the process was doing, e.g. the job that last finished (short, for operators).
    detail: Mapped[str] = mapped_column(String(200), default="")
