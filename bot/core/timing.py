"""Pure, DST-safe time rules for check-ins, quiet hours and alerts.

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

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime

__all__ = [
    "DEFAULT_MISS_THRESHOLDS",
    "DEFAULT_POLICY",
    "DEFAULT_TZ",
    "WORKDAYS",
    "CheckinAction",
    "CheckinPolicy",
    "DstStatus",
    "checkin_action",
    "defer_past_quiet_hours",
    "describe_local",
    "dst_status",
    "format_weekdays",
    "in_quiet_hours",
    "in_working_hours",
    "local_to_utc",
    "miss_severity",
    "next_slot",
    "next_working_moment",
    "parse_local_time",
    "parse_weekdays",
    "slots_between",
]

DEFAULT_TZ = "Europe/Copenhagen"
WORKDAYS: frozenset[int] = frozenset({1, 2, 3, 4, 5})

TzLike = str | ZoneInfo
CheckinAction = Literal["none", "remind", "miss"]
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


def _zone(tz: TzLike) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else _zone_by_name(tz)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")


def _wall(when: datetime, zone: ZoneInfo) -> datetime:
    """Naive local wall-clock reading of an aware instant.

    Goes via UTC: ``astimezone`` to the *same* tzinfo is a no-op, which would let a
    non-existent wall time (e.g. 02:30 on a spring-forward day) pass through as-is.
    """
    return when.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def _check_weekdays(days: Iterable[int]) -> frozenset[int]:
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


# --------------------------------------------------------------------------- parsing

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
    ordered = sorted(_check_weekdays(days))
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


# --------------------------------------------------------------------------- local <-> UTC


def dst_status(day: date, t: time, tz: TzLike = DEFAULT_TZ) -> DstStatus:
    """Whether wall time ``t`` on ``day`` is normal, skipped (spring) or repeated (autumn).

    Lets the CLI warn when a configured time will be shifted on change days.
    """
    _check_wall_time("t", t)
    zone = _zone(tz)
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
    return _at(day, t, _zone(tz), fold=0)


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
    days = _check_weekdays(weekdays)
    _check_wall_time("t", t)
    _require_aware("after", after)
    zone = _zone(tz)
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
    days = _check_weekdays(weekdays)
    _check_wall_time("t", t)
    _require_aware("start", start)
    _require_aware("end", end)
    zone = _zone(tz)
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
    _require_aware("when", when)
    _check_wall_time("start", start)
    _check_wall_time("end", end)
    if start == end:
        return False
    now = _wall(when, _zone(tz)).time()
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
    zone = _zone(tz)
    day = _wall(when, zone).date()
    for offset in range(3):  # today (before `end`) or tomorrow (after `start`)
        candidate = _first_at_or_after(day + timedelta(days=offset), end, zone, when)
        if candidate is not None:
            return candidate
    raise AssertionError("unreachable: quiet hours always end within two days")


# --------------------------------------------------------------------------- working hours


def _check_working_window(days: Iterable[int], start: time, end: time) -> frozenset[int]:
    _check_wall_time("start", start)
    _check_wall_time("end", end)
    if not start < end:
        raise ValueError(f"Working hours must start before they end, got {start}-{end}")
    return _check_weekdays(days)


def in_working_hours(
    when: datetime,
    tz: TzLike = DEFAULT_TZ,
    days: Iterable[int] = WORKDAYS,
    start: time = time(8),
    end: time = time(16),
) -> bool:
    """True if ``when`` is on a local working day within ``[start, end)`` local."""
    _require_aware("when", when)
    workdays = _check_working_window(days, start, end)
    local = _wall(when, _zone(tz))
    return local.isoweekday() in workdays and start <= local.time() < end


def next_working_moment(
    when: datetime,
    tz: TzLike = DEFAULT_TZ,
    days: Iterable[int] = WORKDAYS,
    start: time = time(8),
    end: time = time(16),
) -> datetime:
    """``when`` (in UTC) if within working hours, else the next opening.

    Used to hold low-severity alerts until a caseworker is at work, e.g.
    Friday 17:00 -> Monday 08:00 local.
    """
    if in_working_hours(when, tz, days, start, end):
        return when.astimezone(UTC)
    workdays = _check_working_window(days, start, end)
    zone = _zone(tz)
    day = _wall(when, zone).date()
    for offset in range(9):  # a full week plus today
        candidate_day = day + timedelta(days=offset)
        if candidate_day.isoweekday() in workdays:
            candidate = _first_at_or_after(candidate_day, start, zone, when)
            if candidate is not None:
                return candidate
    raise AssertionError("unreachable: some working day occurs within a week")


# --------------------------------------------------------------------------- check-in lifecycle


@dataclass(frozen=True)
class CheckinPolicy:
    """Timing of the single reminder and of the "missed" verdict, both from first send."""

    reminder_after: timedelta = timedelta(hours=24)
    missed_after: timedelta = timedelta(hours=48)

    def __post_init__(self) -> None:
        if self.reminder_after <= timedelta(0):
            raise ValueError("reminder_after must be positive")
        if self.missed_after <= self.reminder_after:
            # Otherwise the reminder could never be sent before the miss.
            raise ValueError("missed_after must be longer than reminder_after")


DEFAULT_POLICY = CheckinPolicy()


def checkin_action(
    sent_at: datetime,
    reminded_at: datetime | None,
    answered_at: datetime | None,
    now: datetime,
    policy: CheckinPolicy = DEFAULT_POLICY,
) -> CheckinAction:
    """What to do with an open check-in at ``now``.

    * answered (at any time)                    -> ``"none"``
    * ``now - sent_at >= missed_after``         -> ``"miss"`` (even if never reminded:
      grace counts from the first send, so downtime does not extend it)
    * not yet reminded and ``>= reminder_after`` -> ``"remind"`` (only ever once)
    * otherwise                                 -> ``"none"``

    Pure: the caller records the reminder/miss and closes the check-in after a miss.
    """
    _require_aware("sent_at", sent_at)
    _require_aware("now", now)
    for name, value in (("reminded_at", reminded_at), ("answered_at", answered_at)):
        if value is not None:
            _require_aware(name, value)
    if answered_at is not None:
        return "none"
    elapsed = now - sent_at
    if elapsed >= policy.missed_after:
        return "miss"
    if reminded_at is None and elapsed >= policy.reminder_after:
        return "remind"
    return "none"


DEFAULT_MISS_THRESHOLDS: Mapping[int, str] = MappingProxyType({1: "low", 2: "high"})


def miss_severity(
    consecutive_misses: int, thresholds: Mapping[int, str] = DEFAULT_MISS_THRESHOLDS
) -> str | None:
    """Alert severity for a run of consecutive missed check-ins.

    ``thresholds`` maps "at least N misses" to a severity; the highest threshold
    reached wins, so counts beyond the top keep the top severity. Below the lowest
    threshold (including 0) there is no alert: ``None``.
    """
    if consecutive_misses < 0:
        raise ValueError(f"consecutive_misses must be >= 0, got {consecutive_misses}")
    if any(n < 1 for n in thresholds):
        raise ValueError(f"Miss thresholds must be >= 1, got {sorted(thresholds)}")
    reached = [n for n in thresholds if n <= consecutive_misses]
    return thresholds[max(reached)] if reached else None


# --------------------------------------------------------------------------- display

_LOCALES = {"da": "da_DK", "en": "en_GB"}
_PATTERNS = {"da": "EEEE d. MMM HH:mm", "en": "EEEE d MMM HH:mm"}


def describe_local(when: datetime, tz: TzLike = DEFAULT_TZ, lang: str = "da") -> str:
    """Local, human-readable timestamp for CLI output.

    ``"tirsdag 1. dec. 10:00"`` (da) / ``"Tuesday 1 Dec 10:00"`` (en).
    """
    _require_aware("when", when)
    key = _norm_lang(lang)
    zone = _zone(tz)
    return format_datetime(when, _PATTERNS[key], tzinfo=zone, locale=_LOCALES[key])
