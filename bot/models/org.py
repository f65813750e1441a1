"""Who works the cases: municipalities, their teams and caseworkers."""

from __future__ import annotations

from datetime import time
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import TELEGRAM_ID, Base, Timestamped


class Role(StrEnum):
    CASEWORKER = "caseworker"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"


class Organisation(Timestamped, Base):
    """A municipality (e.g. Odense Kommune) running a Housing First programme."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tz_name: Mapped[str] = mapped_column(String(64), default="Europe/Copenhagen")
    # No check-ins or reminders to tenants inside this local window (replies still go out).
    quiet_start: Mapped[time] = mapped_column(Time, default=time(21, 0))
    quiet_end: Mapped[time] = mapped_column(Time, default=time(8, 0))
    # Check-in grace: one reminder after this many hours, missed after that many from first send.
    reminder_after_hours: Mapped[int] = mapped_column(default=24, server_default="24")
    missed_after_hours: Mapped[int] = mapped_column(default=48, server_default="48")
    # Where alerts that belong to no team go (an unknown sender, a home with no tenant): this
    # team, or when unset the municipality's admins. use_alter: teams point back here.
    intake_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", use_alter=True, name="fk_organisations_intake_team_id_teams"))

    teams: Mapped[list[Team]] = relationship(back_populates="organisation",
                                             foreign_keys="Team.organisation_id")
    intake_team: Mapped[Team | None] = relationship(foreign_keys=[intake_team_id],
                                                    post_update=True)


class Team(Timestamped, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Low-severity alerts wait for these local working hours (Mon-Fri).
    work_start: Mapped[time] = mapped_column(Time, default=time(8, 0))
    work_end: Mapped[time] = mapped_column(Time, default=time(16, 0))

    organisation: Mapped[Organisation] = relationship(back_populates="teams",
                                                      foreign_keys=[organisation_id])
    caseworkers: Mapped[list[Caseworker]] = relationship(back_populates="team")


class Caseworker(Timestamped, Base):
    __tablename__ = "caseworkers"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.CASEWORKER)
    language: Mapped[str] = mapped_column(String(2), default="da")
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    telegram_chat_id: Mapped[int | None] = mapped_column(TELEGRAM_ID, unique=True)  # 64-bit ids
    # One-time code shown in the dashboard; hashed, like a password.
    telegram_link_code_hash: Mapped[str | None] = mapped_column(String(128))

    team: Mapped[Team] = relationship(back_populates="caseworkers")
