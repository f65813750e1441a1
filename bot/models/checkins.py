"""Periodic support check-ins sent to tenants."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, Timestamped, UTCDateTime
from bot.models.housing import Tenant


class CheckInStatus(StrEnum):
    SCHEDULED = "scheduled"  # planned and queued, not yet handed to the provider
    SENT = "sent"
    REMINDED = "reminded"
    ANSWERED = "answered"
    MISSED = "missed"
    SKIPPED = "skipped"  # paused or opted out when due; never counts as a miss


class CheckIn(Timestamped, Base):
    __tablename__ = "checkins"
    # One check-in per tenant per slot: the constraint that makes two planners harmless.
    __table_args__ = (
        UniqueConstraint("tenant_id", "slot_at"),
        Index("ix_checkins_status_slot", "status", "slot_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=CheckInStatus.SCHEDULED)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[int | None] = mapped_column()  # 1 good, 2 so-so, 3 need help

    tenant: Mapped[Tenant] = relationship()
