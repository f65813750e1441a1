"""Report periods: local calendar months between two dates, as UTC instants for SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_MONTHS = 36  # three years in one report; more is an export job, not a page


class PeriodError(ValueError):
    """The dates cannot make a report period; the message says why."""


@dataclass(frozen=True)
class Month:
    label: str  # 2026-03
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


@dataclass(frozen=True)
class Period:
    first: date  # inclusive, local
    last: date  # inclusive, local
    tz_name: str
    months: tuple[Month, ...]

    @property
    def start(self) -> datetime:
        return self.months[0].start

    @property
    def end(self) -> datetime:
        return self.months[-1].end


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    # Local midnight exists on every day in Europe (DST changes at 02:00/03:00).
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def make_period(first: date, last: date, tz_name: str = "Europe/Copenhagen") -> Period:
    """Months from `first` to `last` (both local days, inclusive); the first and last month
    are cut to the period, so a figure never counts a day outside it."""
    if last < first:
        raise PeriodError(f"the period ends ({last}) before it starts ({first})")
    tz = ZoneInfo(tz_name)
    months: list[Month] = []
    cursor = first
    while cursor <= last:
        next_month = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
        stop = min(next_month, last + timedelta(days=1))
        months.append(Month(f"{cursor:%Y-%m}", _midnight(cursor, tz), _midnight(stop, tz)))
        cursor = stop
        if len(months) > MAX_MONTHS:
            raise PeriodError(f"at most {MAX_MONTHS} months in one report")
    return Period(first, last, tz_name, tuple(months))
