"""Pure, DST-safe time rules: local wall time <-> UTC, schedules, quiet and working hours.

Parsing and showing weekdays and times live in :mod:`bot.core.time_text`; the check-in
reminder/miss verdicts in :mod:`bot.core.checkin_rules`.

Everything here is side-effect free: no clock reads, no DB, no I/O. Callers pass
``now``/``after`` explicitly, which keeps the rules testable and replayable.

Conventions
-----------
* Instants (``when``, ``after``, ``sent_at`` ...) are timezone-aware datetimes;
  results are aware datetimes in UTC. Naive datetimes are rejected, because
  guessing their zone is exactly the bug this module exists to prevent.
* Wall-clock values (``day``, ``t``, quiet-hour bounds) are naive ``date``/``time``
  interpreted in ``tz`` (an IANA name, default ``Europe/Copenhagen``).
* Weekdays are ISO numbers: 1 = Monday ... 7 = Sunday.

DST policy (see :func:`local_to_utc`)
-------------------------------------
* A wall time that does not exist (spring forward, e.g. 02:30 on 2026-03-29 in
  Copenhagen) is shifted forward by the length of the gap (-> 03:30 local).
* A wall time that exists twice (fall back, e.g. 02:30 on 2026-10-25) resolves
  to the FIRST occurrence, so a check-in is sent once, never twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_TZ",
    "WORKDAYS",
    "ClosingTime",
    "DstStatus",
    "TzLike",
    "check_weekdays",
    "defer_past_quiet_hours",
    "dst_status",
    "in_quiet_hours",
    "in_working_hours",
    "local_to_utc",
    "next_slot",
    "next_working_moment",
    "require_aware",
    "slots_between",
    "zone_of",
]

DEFAULT_TZ = "Europe/Copenhagen"
WORKDAYS: frozenset[int] = frozenset({1, 2, 3, 4, 5})

TzLike = str | ZoneInfo
DstStatus = Literal["normal", "nonexistent", "ambiguous"]


# --------------------------------------------------------------------------- helpers


@lru_cache(maxsize=32)
def _zone_by_name(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"Unknown time zone {name!r} (expected an IANA name such as {DEFAULT_TZ!r})"
        ) from exc


def zone_of(tz: TzLike) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else _zone_by_name(tz)


def require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")


def _wall(when: datetime, zone: ZoneInfo) -> datetime:
    """Naive local wall-clock reading of an aware instant.

    Goes via UTC: ``astimezone`` to the *same* tzinfo is a no-op, which would let a
    non-existent wall time (e.g. 02:30 on a spring-forward day) pass through as-is.
    """
    return when.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def check_weekdays(days: Iterable[int]) -> frozenset[int]:
    result = frozenset(days)
    if not result:
        raise ValueError("At least one weekday is required")
    bad = sorted(d for d in result if not (isinstance(d, int) and 1 <= d <= 7))
    if bad:
        raise ValueError(f"Weekdays must be ISO numbers 1-7 (1=Monday), got {bad}")
    return result


def _check_wall_time(name: str, t: time) -> None:
    # An aware `time` would silently carry a fixed offset that ignores DST.
    if t.tzinfo is not None:
        raise ValueError(f"{name} must be a naive local time, got {t!r}")


def _at(day: date, t: time, zone: ZoneInfo, fold: int) -> datetime:
    return datetime.combine(day, t.replace(fold=fold), tzinfo=zone).astimezone(UTC)


def _first_at_or_after(day: date, t: time, zone: ZoneInfo, when: datetime) -> datetime | None:
    """Earliest instant on ``day`` showing wall time ``t`` that is >= ``when``.

    Unlike scheduling, deferral may use the second occurrence of a repeated wall
    time: if ``when`` already lies in the repeated hour, the first one is past.
    """
    for fold in (0, 1):
        candidate = _at(day, t, zone, fold)
        if candidate >= when:
            return candidate
    return None



# --------------------------------------------------------------------------- local <-> UTC


def dst_status(day: date, t: time, tz: TzLike = DEFAULT_TZ) -> DstStatus:
    """Whether wall time ``t`` on ``day`` is normal, skipped (spring) or repeated (autumn).

    Lets the CLI warn when a configured time will be shifted on change days.
    """
    _check_wall_time("t", t)
    zone = zone_of(tz)
    naive = datetime.combine(day, t)
    first = naive.replace(tzinfo=zone, fold=0)
    if _wall(first, zone) != naive:
        return "nonexistent"
    if first.utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset():
        return "ambiguous"
    return "normal"


def local_to_utc(day: date, t: time, tz: TzLike = DEFAULT_TZ) -> datetime:
    """Convert wall time ``t`` on ``day`` in ``tz`` to an aware UTC datetime.

    DST handling is deliberate:

    * non-existent wall time (spring-forward gap): interpreted with the offset in
      force *before* the gap, i.e. moved forward by the gap length. In Copenhagen
      02:30 on 2026-03-29 becomes 03:30 CEST (01:30 UTC) -- late, but never lost.
    * repeated wall time (fall-back overlap): the FIRST occurrence. 02:30 on
      2026-10-25 becomes 02:30 CEST (00:30 UTC), so a check-in fires once.

    Both follow from PEP 495 ``fold=0``, which we force explicitly (a ``time``
    passed in with ``fold=1`` must not flip the choice).
    """
    _check_wall_time("t", t)
    return _at(day, t, zone_of(tz), fold=0)


# --------------------------------------------------------------------------- schedules


def _slot_stream(
    days: frozenset[int], t: time, zone: ZoneInfo, first_day: date
) -> Iterator[datetime]:
    """Endless, strictly increasing slots from ``first_day`` onwards."""
    last: datetime | None = None
    day = first_day
    while True:
        if day.isoweekday() in days:
            slot = _at(day, t, zone, fold=0)
            # fold=0 instants are ordered for real tzdata; this guard makes "strictly
            # increasing, no duplicates" hold by construction even for odd zones.
            if last is None or slot > last:
                last = slot
                yield slot
        day += timedelta(days=1)


def next_slot(weekdays: Iterable[int], t: time, tz: TzLike, after: datetime) -> datetime:
    """First scheduled check-in strictly after ``after`` (UTC aware).

    A slot is wall time ``t`` on each local day whose ISO weekday is in
    ``weekdays``, resolved with :func:`local_to_utc`.
    """
    days = check_weekdays(weekdays)
    _check_wall_time("t", t)
    require_aware("after", after)
    zone = zone_of(tz)
    # Start a day early: cheap insurance against transitions near midnight.
    start_day = _wall(after, zone).date() - timedelta(days=1)
    return next(s for s in _slot_stream(days, t, zone, start_day) if s > after)


def slots_between(
    weekdays: Iterable[int], t: time, tz: TzLike, start: datetime, end: datetime
) -> Iterator[datetime]:
    """Scheduled check-ins in the half-open window ``[start, end)``, ascending.

    Guaranteed strictly increasing, hence free of duplicates (an ambiguous wall
    time yields only its first occurrence). Arguments are validated eagerly.
    """
    days = check_weekdays(weekdays)
    _check_wall_time("t", t)
    require_aware("start", start)
    require_aware("end", end)
    zone = zone_of(tz)
    first_day = _wall(start, zone).date() - timedelta(days=1)

    def generate() -> Iterator[datetime]:
        for slot in _slot_stream(days, t, zone, first_day):
            if slot >= end:
                return
            if slot >= start:
                yield slot

    return generate()


# --------------------------------------------------------------------------- quiet hours


def in_quiet_hours(
    when: datetime, tz: TzLike = DEFAULT_TZ, start: time = time(21), end: time = time(8)
) -> bool:
    """True if the local wall time of ``when`` lies in ``[start, end)``.

    The window may wrap midnight (21:00-08:00). ``start == end`` disables quiet
    hours. Boundaries: with the defaults 21:00 is quiet, 08:00 is not.
    """
    require_aware("when", when)
    _check_wall_time("start", start)
    _check_wall_time("end", end)
    if start == end:
        return False
    now = _wall(when, zone_of(tz)).time()
    if start < end:
        return start <= now < end
    return now >= start or now < end


def defer_past_quiet_hours(
    when: datetime, tz: TzLike = DEFAULT_TZ, start: time = time(21), end: time = time(8)
) -> datetime:
    """``when`` (in UTC) if outside quiet hours, else the moment quiet hours end.

    The end is the next occurrence of wall time ``end`` in ``tz``, computed per
    local day so a DST change overnight still lands on e.g. 08:00 local. An end
    time inside a spring gap follows the :func:`local_to_utc` rule.
    """
    if not in_quiet_hours(when, tz, start, end):
        return when.astimezone(UTC)
    zone = zone_of(tz)
    day = _wall(when, zone).date()
    for offset in range(3):  # today (before `end`) or tomorrow (after `start`)
        candidate = _first_at_or_after(day + timedelta(days=offset), end, zone, when)
        if candidate is not None:
            return candidate
    raise AssertionError("unreachable: quiet hours always end within two days")


# --------------------------------------------------------------------------- working hours

# A local date's closing time when it closes early (time(0): all day), else None.
ClosingTime = Callable[[date], time | None]
_SEARCH_DAYS = 367


def _ordinary(day: date) -> time | None:
    return None


def _check_working_window(days: Iterable[int], start: time, end: time) -> frozenset[int]:
    _check_wall_time("start", start)
    _check_wall_time("end", end)
    if not start < end:
        raise ValueError(f"Working hours must start before they end, got {start}-{end}")
    return check_weekdays(days)


def _day_end(day: date, end: time, closes: ClosingTime) -> time:
    closing = closes(day)
    return end if closing is None else min(end, closing)


def in_working_hours(
    when: datetime,
    tz: TzLike = DEFAULT_TZ,
    days: Iterable[int] = WORKDAYS,
    start: time = time(8),
    end: time = time(16),
    closes: ClosingTime = _ordinary,
) -> bool:
    """True if ``when`` is on a local working day within ``[start, end)`` local.

    ``closes`` gives a local date's closing time when it closes early (``time(0)``: the whole
    day), else None: public holidays and half days (:mod:`bot.core.public_holidays`)."""
    require_aware("when", when)
    workdays = _check_working_window(days, start, end)
    local = _wall(when, zone_of(tz))
    return (local.isoweekday() in workdays
            and start <= local.time() < _day_end(local.date(), end, closes))


def next_working_moment(
    when: datetime,
    tz: TzLike = DEFAULT_TZ,
    days: Iterable[int] = WORKDAYS,
    start: time = time(8),
    end: time = time(16),
    closes: ClosingTime = _ordinary,
) -> datetime:
    """``when`` (in UTC) if within working hours, else the next opening.

    Used to hold low-severity alerts until a caseworker is at work, e.g.
    Friday 17:00 -> Monday 08:00 local; with the Danish holidays as ``closes``, the Wednesday
    before Easter 17:00 -> the Tuesday after it 08:00.
    """
    if in_working_hours(when, tz, days, start, end, closes):
        return when.astimezone(UTC)
    workdays = _check_working_window(days, start, end)
    zone = zone_of(tz)
    day = _wall(when, zone).date()
    # Holidays close several days in a row (Easter, Christmas), and a team working one weekday
    # may lose it two weeks running; only a calendar closing every working weekday finds none.
    for offset in range(_SEARCH_DAYS):
        candidate_day = day + timedelta(days=offset)
        if (candidate_day.isoweekday() in workdays
                and start < _day_end(candidate_day, end, closes)):
            candidate = _first_at_or_after(candidate_day, start, zone, when)
            if candidate is not None:
                return candidate
    raise ValueError(f"No working day within {_SEARCH_DAYS} days of {when.isoformat()}: "
                     "every working weekday is closed")
