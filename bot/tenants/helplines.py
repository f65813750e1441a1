"""The help lines tenant texts name, and when each one answers.

Texts must never make a line sound open when it is not:

* 112 answers always.
* Lev Uden Vold's national hotline 1888 (violence in close relationships) is open day and night,
  free and anonymous (levudenvold.dk).
* Livslinien (70 201 201, suicidal thoughts) is **not** open around the clock: its night hours
  depend on yearly public funding. Every text that names it gives its hours, taken from
  :data:`LIVSLINIEN_HOURS`, so a change of hours is this one line (the i18n tests then check
  every text still fits its SMS budget). Check livslinien.dk when in doubt; docs/conversations.md
  says what was last verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from bot.core.i18n import normalize_lang
from bot.core.time_text import format_daily_hours

__all__ = ["LIVSLINIEN_HOURS", "DailyHours", "livslinien_hours"]


@dataclass(frozen=True)
class DailyHours:
    """Open every day from ``opens`` to ``closes`` (past midnight when ``closes < opens``)."""

    opens: time
    closes: time


# Last known: every day 11:00-05:00 (Danish time).
LIVSLINIEN_HOURS = DailyHours(opens=time(11), closes=time(5))


def livslinien_hours(lang: str | None) -> str:
    """Livslinien's hours as a text shows them: ``"kl. 11-05"`` / ``"11:00-05:00"``."""
    return format_daily_hours(LIVSLINIEN_HOURS.opens, LIVSLINIEN_HOURS.closes,
                              normalize_lang(lang))
