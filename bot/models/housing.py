"""Landlords, their homes, and the tenants living in them."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import TELEGRAM_ID, Base, Timestamped, UTCDateTime
from bot.models.org import Caseworker, Organisation


class Consent(StrEnum):
    PENDING = "pending"
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class PhoneStatus(StrEnum):
    OK = "ok"
    INVALID = "invalid"  # the carrier said the number cannot receive SMS (e.g. Twilio 21211)


class Landlord(Timestamped, Base):
    __tablename__ = "landlords"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="da")
    # Telegram ids need 64 bits (user ids passed 2**31; group chat ids are -100xxxxxxxxxx).
    telegram_user_id: Mapped[int | None] = mapped_column(TELEGRAM_ID, unique=True)
    telegram_chat_id: Mapped[int | None] = mapped_column(TELEGRAM_ID)
    # False once Telegram says the user blocked the bot (403); staff are told.
    telegram_active: Mapped[bool] = mapped_column(default=True)

    homes: Mapped[list[Home]] = relationship(back_populates="landlord")


class LandlordInvite(Timestamped, Base):
    """One-time, expiring link token; only its hash is stored."""

    __tablename__ = "landlord_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    landlord_id: Mapped[int] = mapped_column(ForeignKey("landlords.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Home(Timestamped, Base):
    __tablename__ = "homes"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    landlord_id: Mapped[int] = mapped_column(ForeignKey("landlords.id"), index=True)
    # The municipality whose programme the home is in: a concern about an empty home still
    # reaches that municipality, and only it.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)

    landlord: Mapped[Landlord] = relationship(back_populates="homes")
    organisation: Mapped[Organisation | None] = relationship()
    tenants: Mapped[list[Tenant]] = relationship(back_populates="home")


class Tenant(Timestamped, Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    language: Mapped[str] = mapped_column(String(2), default="da")
    home_id: Mapped[int | None] = mapped_column(ForeignKey("homes.id"), index=True)
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("caseworkers.id"), index=True)
    # Check-in cadence in the organisation's local time: ISO weekdays "2" or "1,4", and a time.
    checkin_weekdays: Mapped[str] = mapped_column(String(20), default="2")
    checkin_time: Mapped[time] = mapped_column(Time, default=time(10, 0))
    checkins_paused_until: Mapped[date | None] = mapped_column(Date)
    consecutive_misses: Mapped[int] = mapped_column(default=0)
    consent: Mapped[str] = mapped_column(String(16), default=Consent.PENDING)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the tenant texted STOP (or the carrier reports an opt-out); cleared by START.
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone_status: Mapped[str] = mapped_column(String(16), default=PhoneStatus.OK)
    active: Mapped[bool] = mapped_column(default=True)
    # GDPR erasure keeps the row (for referential integrity) but blanks personal data.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    home: Mapped[Home | None] = relationship(back_populates="tenants")
    caseworker: Mapped[Caseworker | None] = relationship()

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None
