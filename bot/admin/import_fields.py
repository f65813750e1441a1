"""Checks of single values in an imported CSV row: each raises :class:`FieldError` naming the
column, and :class:`Checks` runs a row's checks to the end so every bad value is reported."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.core import time_text
from bot.core.phones import InvalidPhone, normalise_phone
from bot.models import Role

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FieldError(ValueError):
    """One bad value: the column and why, worded for the person who fixes the file."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


class RowInvalid(ValueError):
    """Every bad value of one row, so a file is fixed in one round, not one error per run."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.reason for e in errors))
        self.errors = errors


class Checks:
    """Runs a row's field checks and keeps going after a bad value, collecting them all."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def __call__(self, check: Callable[..., Any], *args: Any) -> Any:
        """The check's value, or None after recording its FieldError."""
        try:
            return check(*args)
        except FieldError as exc:
            self.errors.append(exc)
            return None

    def done(self) -> None:
        if self.errors:
            raise RowInvalid(self.errors)


def require(row: dict[str, str], column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise FieldError(column, "is empty")
    return value


def email(row: dict[str, str], column: str) -> str:
    value = require(row, column).lower()
    if not _EMAIL.match(value):
        raise FieldError(column, f"{value!r} is not an e-mail address")
    return value


def phone(row: dict[str, str], column: str, required: bool) -> str | None:
    value = row.get(column, "")
    if not value:
        if required:
            raise FieldError(column, "is empty")
        return None
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        raise FieldError(column, str(exc)) from None


def role(row: dict[str, str]) -> str:
    value = (row.get("role") or Role.CASEWORKER).lower().replace(" ", "_").replace("-", "_")
    if value not in set(Role):
        raise FieldError("role", f"{value!r} must be one of caseworker, team_lead, admin")
    return value


def postcode(row: dict[str, str]) -> str:
    value = require(row, "postcode")
    if not re.fullmatch(r"\d{4}", value):
        raise FieldError("postcode", f"{value!r} is not a Danish postcode (4 digits)")
    return value


def language(row: dict[str, str]) -> str:
    value = (row.get("language") or "da").lower()
    if value not in ("da", "en"):
        raise FieldError("language", f"{value!r} must be da or en")
    return value


def weekdays(row: dict[str, str]) -> frozenset[int]:
    try:
        return time_text.parse_weekdays(row.get("checkin_weekday") or "tue")
    except ValueError as exc:
        raise FieldError("checkin_weekday", str(exc)) from None


def checkin_time(row: dict[str, str]) -> Any:
    try:
        return time_text.parse_local_time(row.get("checkin_time") or "10:00")
    except ValueError as exc:
        raise FieldError("checkin_time", str(exc)) from None
