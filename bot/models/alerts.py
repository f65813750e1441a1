"""Landlord concerns, alerts for caseworkers, and the policies that escalate them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, Timestamped, UTCDateTime, utcnow
from bot.models.enums import AlertState
from bot.models.housing import Home, Landlord, Tenant
from bot.models.org import Caseworker, Team


class ConcernStatus(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Concern(Timestamped, Base):
    __tablename__ = "concerns"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    landlord_id: Mapped[int] = mapped_column(ForeignKey("landlords.id"), index=True)
    home_id: Mapped[int] = mapped_column(ForeignKey("homes.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=ConcernStatus.RECEIVED)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    landlord: Mapped[Landlord] = relationship()
    home: Mapped[Home] = relationship()


class Alert(Timestamped, Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_state_next", "state", "next_action_at"),
        Index("ix_alerts_fold", "tenant_id", "source", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # need_help, missed, crisis, concern, ...
    severity: Mapped[str] = mapped_column(String(16))  # low, high, critical
    state: Mapped[str] = mapped_column(String(16), default=AlertState.OPEN)
    summary: Mapped[str] = mapped_column(String(500), default="")
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    home_id: Mapped[int | None] = mapped_column(ForeignKey("homes.id"))
    concern_id: Mapped[int | None] = mapped_column(ForeignKey("concerns.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    # The municipality the alert belongs to: every read and action is scoped by it.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("caseworkers.id"), index=True)
    trigger_count: Mapped[int] = mapped_column(default=1)
    # Flat index into the policy's unrolled notification schedule: restart-safe escalation.
    steps_done: Mapped[int] = mapped_column(default=0)
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("caseworkers.id"))
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("caseworkers.id"))

    tenant: Mapped[Tenant | None] = relationship()
    home: Mapped[Home | None] = relationship()
    concern: Mapped[Concern | None] = relationship()
    owner: Mapped[Caseworker | None] = relationship(foreign_keys=[owner_id])
    events: Mapped[list[AlertEvent]] = relationship(back_populates="alert",
                                                    order_by="AlertEvent.id")


class AlertEvent(Base):
    """The alert's timeline: every trigger, notification and action."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # raised, folded, notified, acknowledged, ...
    actor: Mapped[str] = mapped_column(String(100), default="system")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    alert: Mapped[Alert] = relationship(back_populates="events")


class EscalationPolicy(Timestamped, Base):
    __tablename__ = "escalation_policies"
    __table_args__ = (UniqueConstraint("team_id", "severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    severity: Mapped[str] = mapped_column(String(16))
    repeat: Mapped[int] = mapped_column(default=0)
    working_hours_only: Mapped[bool] = mapped_column(default=False)
    ack_reminder_minutes: Mapped[int] = mapped_column(default=24 * 60)

    team: Mapped[Team | None] = relationship()
    steps: Mapped[list[EscalationStep]] = relationship(
        back_populates="policy", order_by="EscalationStep.position", cascade="all, delete-orphan")


class EscalationStep(Base):
    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("policy_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policies.id"))
    position: Mapped[int] = mapped_column()
    after_minutes: Mapped[int] = mapped_column()
    target: Mapped[str] = mapped_column(String(16))  # assigned, team, team_lead
    channels: Mapped[str] = mapped_column(String(64))  # comma-separated: sms,telegram,email

    policy: Mapped[EscalationPolicy] = relationship(back_populates="steps")
