"""Linking Telegram accounts: one-time landlord invites and caseworker link codes.

Only hashes of tokens are stored (bot.core.tokens.hash_token): a
database leak yields no usable links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.tokens import hash_token, new_token
from bot.models import Caseworker, Landlord, LandlordInvite, utcnow

DEFAULT_TTL = timedelta(days=7)
CASEWORKER_PREFIX = "cw-"
# Telegram's /start payload: at most 64 characters of A-Z a-z 0-9 _ -.
_START_PAYLOAD_MAX = 64


class RedeemOutcome(StrEnum):
    LINKED = "linked"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class RedeemResult:
    outcome: RedeemOutcome
    landlord: Landlord | None = None


def create_invite(session: Session, landlord: Landlord, now: datetime | None = None,
                  ttl: timedelta = DEFAULT_TTL) -> str:
    """A new one-time invite for ``landlord``; returns the token (shown once, never stored)."""
    now = now or utcnow()
    token = new_token()
    session.add(LandlordInvite(landlord_id=landlord.id, token_hash=hash_token(token),
                               expires_at=now + ttl, created_at=now))
    audit.record(session, "system", "invite.create", "landlord", landlord.id,
                 expires_at=(now + ttl).isoformat())
    session.flush()
    return token


def deep_link(bot_username: str, payload: str) -> str:
    """``https://t.me/<bot>?start=<payload>``: opens the bot and sends ``/start <payload>``."""
    if len(payload) > _START_PAYLOAD_MAX:
        raise ValueError("a Telegram start payload holds at most 64 characters")
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"


def redeem_invite(session: Session, token: str, *, user_id: int, chat_id: int,
                  now: datetime | None = None) -> RedeemResult:
    """Link the Telegram user to the invite's landlord, once; say why not otherwise."""
    now = now or utcnow()
    invite = session.scalar(select(LandlordInvite).where(
        LandlordInvite.token_hash == hash_token(token)).with_for_update())
    if invite is None:
        return RedeemResult(RedeemOutcome.UNKNOWN)
    landlord = session.get(Landlord, invite.landlord_id)
    if invite.used_at is not None:
        # The same person tapping the link twice is not an error worth alarming them about.
        if landlord is not None and landlord.telegram_user_id == user_id:
            return RedeemResult(RedeemOutcome.LINKED, landlord)
        return RedeemResult(RedeemOutcome.USED)
    if invite.expires_at <= now:
        return RedeemResult(RedeemOutcome.EXPIRED)
    assert landlord is not None
    # One Telegram account belongs to one landlord: move it if it was linked elsewhere.
    previous = session.scalar(select(Landlord).where(Landlord.telegram_user_id == user_id,
                                                     Landlord.id != landlord.id))
    if previous is not None:
        previous.telegram_user_id = previous.telegram_chat_id = None
        session.flush()
    invite.used_at = now
    landlord.telegram_user_id = user_id
    landlord.telegram_chat_id = chat_id
    landlord.telegram_active = True
    audit.record(session, f"landlord:{landlord.id}", "telegram.link", "landlord", landlord.id,
                 invite_id=invite.id)
    return RedeemResult(RedeemOutcome.LINKED, landlord)


def create_caseworker_link(session: Session, caseworker: Caseworker) -> str:
    """A one-time code for ``/start cw-<code>``; replaces any earlier unused one."""
    token = new_token()
    caseworker.telegram_link_code_hash = hash_token(token)
    audit.record(session, "system", "telegram.link_code", "caseworker", caseworker.id)
    return token


def caseworker_payload(token: str) -> str:
    return CASEWORKER_PREFIX + token


def link_caseworker(session: Session, token: str, chat_id: int) -> Caseworker | None:
    """Link ``chat_id`` to the caseworker whose one-time code this is; None if no such code."""
    token = token.removeprefix(CASEWORKER_PREFIX).strip()
    if not token:
        return None
    caseworker = session.scalar(select(Caseworker).where(
        Caseworker.telegram_link_code_hash == hash_token(token), Caseworker.active.is_(True)))
    if caseworker is None:
        return None
    # telegram_chat_id is unique: a chat re-linked to another caseworker leaves the old one.
    for other in session.scalars(select(Caseworker).where(Caseworker.telegram_chat_id == chat_id,
                                                          Caseworker.id != caseworker.id)):
        other.telegram_chat_id = None
    session.flush()
    caseworker.telegram_chat_id = chat_id
    caseworker.telegram_link_code_hash = None
    audit.record(session, f"caseworker:{caseworker.id}", "telegram.link", "caseworker",
                 caseworker.id)
    return caseworker
