"""The landlord's side of the bot as domain logic (no Telegram here): homes, the concern draft,
validation of every choice, creating the concern and its alert, and the /mine listing.

Button data comes back from the user's device, so every choice is checked again here: a forged
callback naming another landlord's home, or an unknown category, is refused.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from bot.alerts.escalator import escalate_now
from bot.alerts.lifecycle import raise_alert
from bot.alerts.routing import Delivery, route_reachable
from bot.casework.queries import caseworker_by_chat
from bot.core import audit, outbox
from bot.core.storable import storable
from bot.landlords import texts as landlord_texts
from bot.models import (
    Alert,
    BotState,
    Caseworker,
    Concern,
    ConcernStatus,
    Home,
    Landlord,
    Tenant,
    utcnow,
)
from bot.models.enums import Channel, OutboxKind, Severity, Source

# Values match bot.models.enums.LandlordCategory / LandlordUrgency where those exist.
CATEGORIES = ("noise", "arrears", "damage", "wellbeing", "no_sign_of_life", "other")
URGENCIES = ("can_wait", "this_week", "urgent_today")
MAX_DESCRIPTION = 1000
# An unfinished report is dropped after this long without an answer.
CONVERSATION_TIMEOUT = timedelta(minutes=30)
# Where the Telegram adapter keeps the conversation (bot_state rows; see
# bot/telegram_bot/persistence.py): states by "[chat_id,user_id]", drafts by user id.
CONVERSATION_NAMESPACE = "conversation:concern"
USER_DATA_NAMESPACE = "user_data"
DRAFT_KEY = "draft"
# /mine shows open concerns and those resolved within this window.
RECENT = timedelta(days=30)


class InvalidChoice(ValueError):
    """A button value or text that is not a valid choice for this landlord."""


@dataclass
class Draft:
    """The concern being reported; kept in the bot's persisted user data between messages."""

    home_id: int | None = None
    category: str | None = None
    urgency: str | None = None
    description: str | None = None
    photo_file_id: str | None = None
    touched_at: str | None = None  # ISO time of the last answer, for the restart-safe timeout

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Draft:
        data = data or {}
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})

    def touch(self, now: datetime) -> None:
        self.touched_at = now.isoformat()

    def is_stale(self, now: datetime, timeout: timedelta = CONVERSATION_TIMEOUT) -> bool:
        if not self.touched_at:
            return False
        return now - datetime.fromisoformat(self.touched_at) > timeout


def landlord_by_user(session: Session, user_id: int) -> Landlord | None:
    return session.scalar(select(Landlord).where(Landlord.telegram_user_id == user_id))


def own_homes(session: Session, landlord: Landlord) -> list[Home]:
    return list(session.scalars(select(Home).where(Home.landlord_id == landlord.id)
                                .order_by(Home.reference)))


def own_home(session: Session, landlord: Landlord, home_id: object) -> Home:
    """The landlord's home with this id; InvalidChoice for anything else (forged data)."""
    try:
        hid = int(str(home_id))
    except ValueError:
        raise InvalidChoice(f"not a home id: {home_id!r}") from None
    if not 0 < hid < 2**31:  # forged button data: beyond 32 bits overflows PostgreSQL's ids
        raise InvalidChoice(f"not a home id: {home_id!r}")
    home = session.get(Home, hid)
    if home is None or home.landlord_id != landlord.id:
        audit.record(session, f"landlord:{landlord.id}", "concern.forged_home", "home", hid)
        raise InvalidChoice(f"home {hid} is not landlord {landlord.id}'s")
    return home


def check_category(value: str) -> str:
    if value not in CATEGORIES:
        raise InvalidChoice(f"unknown category {value!r}")
    return value


def check_urgency(value: str) -> str:
    if value not in URGENCIES:
        raise InvalidChoice(f"unknown urgency {value!r}")
    return value


def check_description(text: str | None) -> str:
    text = storable(text or "").strip()  # a stray NUL must not lose the landlord's report
    if not text:
        raise InvalidChoice("empty description")
    if len(text) > MAX_DESCRIPTION:
        raise InvalidChoice("description too long")
    return text


def active_tenant(session: Session, home: Home) -> Tenant | None:
    """The tenant living in ``home`` now, if any (newest active, not erased)."""
    return session.scalar(select(Tenant).where(
        Tenant.home_id == home.id, Tenant.active.is_(True), Tenant.erased_at.is_(None))
        .order_by(Tenant.id.desc()).limit(1))


@dataclass(frozen=True)
class Receipt:
    """What the landlord is told after submitting: the reference, and whether a caseworker was
    notified (``told``) or the alert waits for working hours with someone reachable
    (``waits``); see `bot.landlords.texts.concern_received`."""

    reference: str
    told: bool
    waits: bool


def report_concern(session: Session, landlord: Landlord, draft: Draft,
                   delivery: Delivery | None = None, now: datetime | None = None) -> Receipt:
    """Submit the concern and perform its alert's first step in this same transaction, so the
    receipt claims a caseworker was alerted only when a notification was enqueued."""
    now = now or utcnow()
    via = delivery or Delivery()
    concern = submit_concern(session, landlord, draft, now)
    alert = session.scalar(select(Alert).where(Alert.concern_id == concern.id))
    assert alert is not None  # submit_concern raised it
    told = escalate_now(session, alert, via, now)
    waits = (not told and alert.severity == Severity.LOW
             and route_reachable(session, alert, via))
    return Receipt(concern.reference, told, waits)


def submit_concern(session: Session, landlord: Landlord, draft: Draft,
                   now: datetime | None = None) -> Concern:
    """Create the concern with a reference like TH-2026-0042 and raise its alert.

    Everything in the draft is validated again: it came through the user's device.
    """
    now = now or utcnow()
    home = own_home(session, landlord, draft.home_id)
    category = check_category(draft.category or "")
    urgency = check_urgency(draft.urgency or "")
    description = check_description(draft.description)
    concern = Concern(reference=f"new-{uuid.uuid4().hex[:24]}", landlord_id=landlord.id,
                      home_id=home.id, category=category, urgency=urgency,
                      description=description, photo_file_id=draft.photo_file_id,
                      status=ConcernStatus.RECEIVED, created_at=now, updated_at=now)
    session.add(concern)
    session.flush()
    # The id makes the reference unique without a per-year counter that two writers could race.
    concern.reference = f"TH-{now.year}-{concern.id:04d}"
    tenant = active_tenant(session, home)
    # The summary names the cause, not the landlord's words: those stay on the concern record.
    raise_alert(session, source=Source.CONCERN, concern=concern, home=home, tenant=tenant,
                detail={"urgency": urgency, "category": category},
                summary=f"{concern.reference}: {category}, {urgency}", now=now)
    audit.record(session, f"landlord:{landlord.id}", "concern.create", "concern", concern.id,
                 reference=concern.reference)
    return concern


def my_concerns(session: Session, landlord: Landlord, now: datetime | None = None,
                limit: int = 10) -> list[Concern]:
    """Open concerns and those resolved recently, newest first (only the landlord's own)."""
    now = now or utcnow()
    return list(session.scalars(
        select(Concern).options(joinedload(Concern.home))
        .where(Concern.landlord_id == landlord.id,
               or_(Concern.status != ConcernStatus.RESOLVED, Concern.updated_at >= now - RECENT))
        .order_by(Concern.created_at.desc(), Concern.id.desc()).limit(limit)))


def set_language(session: Session, user_id: int, chat_id: int, lang: str) -> bool:
    """Remember ``lang`` for the landlord or caseworker behind this chat; False if unlinked."""
    if lang not in ("da", "en"):
        raise InvalidChoice(f"unsupported language {lang!r}")
    person: Landlord | Caseworker | None = landlord_by_user(session, user_id)
    if person is None:
        person = caseworker_by_chat(session, chat_id)
    if person is None:
        return False
    person.language = lang
    return True


def expire_abandoned(session: Session, now: datetime | None = None,
                     timeout: timedelta = CONVERSATION_TIMEOUT) -> int:
    """End concern reports left unanswered longer than ``timeout`` and tell the landlord.

    Runs in the worker (scheduler job), so it works across restarts and any number of bot
    processes: each process reads the conversation state from the database before every update,
    so deleting the rows here ends the conversation everywhere. Returns how many were ended.
    """
    now = now or utcnow()
    ended = 0
    for state in list(session.scalars(select(BotState).where(
            BotState.namespace == CONVERSATION_NAMESPACE))):
        try:
            chat_id, user_id = (int(v) for v in json.loads(state.key))
        except (ValueError, TypeError):
            continue
        user_row = session.scalar(select(BotState).where(
            BotState.namespace == USER_DATA_NAMESPACE, BotState.key == str(user_id)))
        data = dict(user_row.data or {}) if user_row is not None else {}
        draft = Draft.from_dict(data.get(DRAFT_KEY))
        if not draft.touched_at or not draft.is_stale(now, timeout):
            continue
        session.delete(state)
        if user_row is not None:
            data.pop(DRAFT_KEY, None)
            user_row.data = data
        landlord = landlord_by_user(session, user_id)
        lang = landlord.language if landlord is not None else "da"
        outbox.enqueue(session, channel=Channel.TELEGRAM, recipient=str(chat_id),
                       body=landlord_texts.timed_out(lang),
                       key=f"concern-timeout:{chat_id}:{draft.touched_at}",
                       kind=OutboxKind.CONCERN_TIMEOUT,
                       landlord_id=landlord.id if landlord is not None else None)
        ended += 1
    return ended
