"""The days a team's working hours skip or cut short: public holidays and agreed days off.

Working hours ask "does this local date close early?" for every low alert, on the webhook path
(`bot.alerts.shifts`). So a country's year is built from the `holidays` package once and kept
as a frozen mapping; a question is then two dictionary look-ups.

What closes (docs/routing.md, "Public holidays"):

* the country's public holidays as `holidays` has them by default, whole days (for Denmark
  the helligdage: nytårsdag, skærtorsdag, langfredag, påskedag, 2. påskedag, Kristi
  himmelfartsdag, pinsedag, 2. pinsedag, juledag, 2. juledag; store bededag until 2023);
* for Denmark also days off by agreement, not by law (the package's optional category):
  juleaftensdag (24 Dec) the whole day, nytårsaftensdag (31 Dec) and grundlovsdag (5 June)
  from 12:00, as many municipal agreements give them. 1 May stays a working day: whether it
  is off varies most between agreements.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, time
from types import MappingProxyType

import holidays

from bot.core.timing import ClosingTime

__all__ = ["AGREED_CLOSURES", "WHOLE_DAY", "closing_time", "closures", "is_supported"]

# The closing time of a day closed from its start.
WHOLE_DAY = time(0)

# (month, day) -> the local time it closes, every year beside the public holidays, per country.
AGREED_CLOSURES: Mapping[str, Mapping[tuple[int, int], time]] = {
    "DK": {(6, 5): time(12), (12, 24): WHOLE_DAY, (12, 31): time(12)},
}


def is_supported(country: str) -> bool:
    """Whether `holidays` knows the country (an ISO 3166-1 alpha-2 code such as ``DK``).

    Also loads its calendar (~0.1 s, once per process), so that the first low alert of a web
    process does not pay for it inside a request: settings are read at start-up."""
    if country not in holidays.list_supported_countries():
        return False
    holidays.country_holidays(country)
    return True


@functools.lru_cache(maxsize=64)
def closures(country: str, year: int) -> Mapping[date, time]:
    """The dates of ``year`` that close early in ``country``, each with its local closing time
    (:data:`WHOLE_DAY`: closed); built once per country and year."""
    days = {date(year, month, day): at
            for (month, day), at in AGREED_CLOSURES.get(country, {}).items()}
    # A public holiday closes the whole day, even on a date an agreement closes at noon.
    days.update(dict.fromkeys(holidays.country_holidays(country, years=year), WHOLE_DAY))
    return MappingProxyType(days)


def _ordinary(day: date) -> time | None:
    return None


@functools.cache
def closing_time(country: str | None) -> ClosingTime:
    """The function `bot.core.timing`'s working hours take as ``closes``: a local date's
    closing time, None on an ordinary day. One per country, built once (``None``: no
    holidays at all)."""
    if country is None:
        return _ordinary

    def closes(day: date) -> time | None:
        return closures(country, day.year).get(day)

    return closes
