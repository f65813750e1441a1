"""Durations as people write them: "1 dag", "2 timer og 30 minutter", "1 day and 6 hours".

Python prints ``timedelta(days=1)`` as "1 day, 0:00:00", which reads like a typo to an operator.
The unit words and the "og"/"and" come from Babel's CLDR data, so every language it knows works.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from babel.dates import format_timedelta
from babel.lists import format_list

from bot.core.i18n import normalize_lang

__all__ = ["format_duration"]

_Unit = Literal["day", "hour", "minute", "second"]
_UNITS: tuple[tuple[_Unit, int], ...] = (
    ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def format_duration(value: timedelta, lang: str | None = "en") -> str:
    """Exact, largest units first, zero parts left out: ``timedelta(hours=26)`` -> "1 day and
    2 hours" / "1 dag og 2 timer". Zero is "0 minutes"; a negative duration gets a minus."""
    locale = normalize_lang(lang)
    seconds = int(abs(value).total_seconds())
    parts = []
    for unit, size in _UNITS:
        amount, seconds = divmod(seconds, size)
        if amount:
            # A huge threshold keeps each part in its own unit: 10 days stay "10 dage",
            # not a rounded "1 uge".
            parts.append(format_timedelta(timedelta(seconds=amount * size), granularity=unit,
                                          threshold=1e9, locale=locale))
    if not parts:
        return format_timedelta(timedelta(0), granularity="minute", threshold=1e9, locale=locale)
    text = format_list(parts, locale=locale)
    return f"-{text}" if value < timedelta(0) else text
