"""Caseworker passwords: salted hashes only (werkzeug's scrypt), never the password itself."""

from __future__ import annotations

from sqlalchemy.orm import object_session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.casework.web_sessions import end_all_sessions
from bot.models import Caseworker

MIN_LENGTH = 10


class WeakPassword(ValueError):
    pass


def set_password(cw: Caseworker, password: str, *, min_length: int = MIN_LENGTH) -> None:
    if len(password) < min_length:
        raise WeakPassword(f"the password must have at least {min_length} characters")
    cw.password_hash = generate_password_hash(password)
    # A new password ends every dashboard session of this person, wherever it was opened
    # (the reason to change one is often that someone else may know the old).
    session = object_session(cw)
    if session is not None and cw.id is not None:
        end_all_sessions(session, cw.id, "password_changed")


def check_password(cw: Caseworker, password: str) -> bool:
    """False for a caseworker without a password, or an inactive one."""
    if not cw.active or not cw.password_hash:
        return False
    return check_password_hash(cw.password_hash, password)


# Spent on unknown e-mails too, so response time does not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def burn_time(password: str) -> None:
    check_password_hash(_DUMMY_HASH, password)
