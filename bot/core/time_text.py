"""Weekdays and wall times as people write and read them (Danish and English).

Parsing is forgiving (``"tirs."``, ``"man-fre"``, ``"kl. 9"``); the output of the formatters
parses back. The rules for what a time *means* are in :mod:`bot.core.timing`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, time

from babel.dates import format_datetime

from bot.core.timing import DEFAULT_TZ, TzLike, check_weekdays, require_aware, zone_of

__all__ = [
    "describe_local",
    "format_daily_hours",
    "format_weekdays",
    "parse_local_time",
    "parse_weekdays",
]


_DAY_NAMES: dict[str, tuple[str, ...]] = {
    # Display names for format_weekdays; every one is also a parse alias below.
    "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
# Accepted input, Monday first. ASCII spellings of æ/ø are included because SMS and
# terminal input often lacks them.
_DAY_ALIASES: tuple[tuple[str, ...], ...] = (
    ("mandag", "man", "monday", "mon"),
    ("tirsdag", "tir", "tirs", "tuesday", "tue", "tues"),
    ("onsdag", "ons", "wednesday", "wed"),
    ("torsdag", "tor", "tors", "thursday", "thu", "thur", "thurs"),
    ("fredag", "fre", "friday", "fri"),
    ("lørdag", "lør", "lordag", "loerdag", "lor", "loer", "saturday", "sat"),
    ("søndag", "søn", "sondag", "soendag", "son", "soen", "sunday", "sun"),
)
_DAY_LOOKUP: dict[str, int] = {
    alias: iso for iso, aliases in enumerate(_DAY_ALIASES, start=1) for alias in aliases
}
_DAY_HINT = "use names like 'man', 'tirsdag', 'tue', 'Tuesday', or numbers 1-7 (1=Monday)"


def _parse_day(token: str, spec: str) -> int:
    key = token.strip().casefold().rstrip(".")  # "tirs." is common Danish shorthand
    if key.isdigit():
        if 1 <= int(key) <= 7:
            return int(key)
        raise ValueError(f"Weekday number {key} in {spec!r} is out of range; use 1-7 (1=Monday)")
    if key in _DAY_LOOKUP:
        return _DAY_LOOKUP[key]
    raise ValueError(f"Unknown weekday {token.strip()!r} in {spec!r}; {_DAY_HINT}")


def parse_weekdays(spec: str) -> frozenset[int]:
    """Parse a weekday list into ISO weekday numbers (1=Monday .. 7=Sunday).

    Accepts Danish and English names or abbreviations and ISO digits, case-
    insensitive, separated by commas, semicolons or spaces; ``a-b`` is an
    inclusive range and may wrap past Sunday ("fre-man" = Fri, Sat, Sun, Mon).

    >>> sorted(parse_weekdays("man,tors"))
    [1, 4]
    >>> sorted(parse_weekdays("mon-fri"))
    [1, 2, 3, 4, 5]
    """
    tokens = [tok for tok in re.split(r"[,;\s]+", spec.strip()) if tok]
    if not tokens:
        raise ValueError(f"No weekdays given in {spec!r}; {_DAY_HINT}")
    days: set[int] = set()
    for token in tokens:
        if "-" in token:
            first, _, last = token.partition("-")
            if not first or not last or "-" in last:
                raise ValueError(f"Bad weekday range {token!r} in {spec!r}; write e.g. 'man-fre'")
            lo, hi = _parse_day(first, spec), _parse_day(last, spec)
            span = (hi - lo) % 7
            days.update((lo - 1 + i) % 7 + 1 for i in range(span + 1))
        else:
            days.add(_parse_day(token, spec))
    return frozenset(days)


def _norm_lang(lang: str) -> str:
    base = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
    if base not in _DAY_NAMES:
        raise ValueError(f"Unsupported language {lang!r}; expected 'da' or 'en'")
    return base


def format_weekdays(days: Iterable[int], lang: str = "da") -> str:
    """Human-readable weekday list, e.g. ``"mandag, torsdag"`` or ``"Monday-Friday"``.

    Runs of three or more consecutive days collapse to a range. The output is
    accepted by :func:`parse_weekdays` (round-trips).
    """
    names = _DAY_NAMES[_norm_lang(lang)]
    ordered = sorted(check_weekdays(days))
    runs: list[list[int]] = []
    for d in ordered:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{names[run[0] - 1]}-{names[run[-1] - 1]}")
        else:
            parts.extend(names[d - 1] for d in run)
    return ", ".join(parts)


_TIME_RE = re.compile(r"(?:kl\.?\s*)?(\d{1,2})(?:[:.](\d{2}))?", re.IGNORECASE)


def parse_local_time(text: str) -> time:
    """Parse a 24-hour wall time: ``"10:00"``, ``"10.00"`` (Danish), ``"9"``, ``"kl. 9"``."""
    match = _TIME_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"Invalid time {text!r}: expected HH:MM, HH.MM or H (24-hour clock), e.g. '10:00'"
        )
    hour, minute = int(match[1]), int(match[2] or 0)
    if hour > 23:
        raise ValueError(f"Invalid time {text!r}: hour must be 0-23")
    if minute > 59:
        raise ValueError(f"Invalid time {text!r}: minutes must be 00-59")
    return time(hour, minute)


_LOCALES = {"da": "da_DK", "en": "en_GB"}
_PATTERNS = {"da": "EEEE d. MMM HH:mm", "en": "EEEE d MMM HH:mm"}


def describe_local(when: datetime, tz: TzLike = DEFAULT_TZ, lang: str = "da") -> str:
    """Local, human-readable timestamp for CLI output.

    ``"tirsdag 1. dec. 10:00"`` (da) / ``"Tuesday 1 Dec 10:00"`` (en).
    """
    require_aware("when", when)
    key = _norm_lang(lang)
    return format_datetime(when, _PATTERNS[key], tzinfo=zone_of(tz), locale=_LOCALES[key])


def format_daily_hours(opens: time, closes: time, lang: str = "da") -> str:
    """Opening hours for an SMS, short and unambiguous: ``"kl. 11-05"`` (da, minutes only when
    there are any: ``"kl. 9.30-17"``) / ``"11:00-05:00"`` (en, 24-hour clock)."""
    if _norm_lang(lang) == "da":
        def short(t: time) -> str:
            return f"{t:%H}" if t.minute == 0 else f"{t:%H.%M}"
        return f"kl. {short(opens)}-{short(closes)}"
    return f"{opens:%H:%M}-{closes:%H:%M}"
