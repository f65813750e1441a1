"""Caseworker notes and the Telegram bot's persisted conversation state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, Timestamped, UTCDateTime, utcnow
from bot.models.org import Caseworker


class CaseNote(Timestamped, Base):
    """A caseworker's note on a tenant (optionally about one alert). Never shown to landlords."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("caseworkers.id"))
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[Caseworker] = relationship()


class BotState(Base):
    """Key/value store for python-telegram-bot persistence, so conversations survive restarts."""

    __tablename__ = "bot_state"
    __table_args__ = (UniqueConstraint("namespace", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64))  # e.g. conversation:concern, user_data
    key: Mapped[str] = mapped_column(String(200))
    data: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
