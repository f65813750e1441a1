"""Dashboard sessions held in the database, and per-IP login throttling.

The browser's cookie carries only a random token; the row it names decides whether the login is
still good. That is what lets logout and a password change end a session everywhere at once
(a copied cookie stops working), and what makes the limits hold across web processes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.core.db import affected_rows
from bot.models import Caseworker, LoginAttempt, WebSession, utcnow

IDLE_TIMEOUT = timedelta(minutes=60)  # a forgotten, unlocked screen stops showing tenant data
ABSOLUTE_TIMEOUT = timedelta(hours=10)  # one working day; then log in again
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often

IP_WINDOW = timedelta(minutes=15)
IP_MAX_FAILURES = 10  # failed logins from one address, over all accounts, per window
KEEP_ENDED = timedelta(days=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(session: Session, cw: Caseworker, now: datetime | None = None) -> str:
    """A new session for `cw`; returns the token for the cookie (never stored)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_hash(token), caseworker_id=cw.id, started_at=now,
                           last_seen_at=now))
    # Housekeeping: ended and long-expired rows are of no use to anyone.
    session.execute(delete(WebSession).where(
        (WebSession.ended_at < now - KEEP_ENDED)
        | (WebSession.started_at < now - ABSOLUTE_TIMEOUT - KEEP_ENDED)))
    return token


def live_session(session: Session, token: str, now: datetime | None = None) -> WebSession | None:
    """The session `token` names if it is still good (ending it when it has just timed out)."""
    now = now or utcnow()
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if row is None or row.ended_at is not None:
        return None
    if now - row.started_at >= ABSOLUTE_TIMEOUT:
        _end(row, now, "expired")
        return None
    if now - row.last_seen_at >= IDLE_TIMEOUT:
        _end(row, now, "idle")
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end_session(session: Session, token: str, reason: str = "logout") -> None:
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if row is not None and row.ended_at is None:
        _end(row, utcnow(), reason)


def end_all_sessions(session: Session, caseworker_id: int, reason: str,
                     now: datetime | None = None) -> int:
    """End every open session of one caseworker (password change, deactivation)."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.caseworker_id == caseworker_id, WebSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), ended_reason=reason))
    return affected_rows(result)


def _end(row: WebSession, now: datetime, reason: str) -> None:
    row.ended_at = now
    row.ended_reason = reason


def ip_throttled(session: Session, ip: str | None, now: datetime | None = None) -> bool:
    """Too many failed logins from this address lately, whatever accounts they tried."""
    if not ip:
        return False
    now = now or utcnow()
    failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.ip == ip[:45], LoginAttempt.at > now - IP_WINDOW))
    return (failures or 0) >= IP_MAX_FAILURES


def record_failed_login(session: Session, ip: str | None, now: datetime | None = None) -> None:
    now = now or utcnow()
    if ip:
        session.add(LoginAttempt(ip=ip[:45], at=now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - IP_WINDOW * 4))
