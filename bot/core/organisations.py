"""A municipality's own settings: time zone, quiet hours, check-in grace, working hours.

One model: the ``organisations`` row (and its teams' working hours) is the only source every
reader uses: check-in planning and quiet hours, escalation working hours, landlord and dashboard
dates, CLI output. The environment (``TZ_NAME``, ``QUIET_HOURS_START``/``END``) only gives the
values of an organisation when it is created; after that ``trygthjem org set`` changes them,
validated and audited. Two municipalities in one deployment can so keep their own evenings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.checkin_rules import CheckinPolicy
from bot.core.config import Settings
from bot.core.timing import DEFAULT_TZ, zone_of
from bot.models import Home, Organisation, Team

__all__ = [
    "OrgChange",
    "apply_change",
    "describe",
    "find_organisation",
    "home_zone",
    "local_today",
    "new_organisation",
    "parse_window",
]

_WINDOW = re.compile(r"\s*(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})\s*")


def new_organisation(name: str, settings: Settings | None = None) -> Organisation:
    """A new municipality with the deployment's defaults (TZ_NAME, QUIET_HOURS_START/END)."""
    s = settings or Settings()
    return Organisation(name=name, tz_name=s.tz_name, quiet_start=s.quiet_start,
                        quiet_end=s.quiet_end)


def find_organisation(session: Session, ref: str) -> Organisation | None:
    """By exact name, or by id."""
    org = session.scalar(select(Organisation).where(Organisation.name == ref))
    if org is None and ref.isascii() and ref.isdigit() and len(ref) < 10:  # ids fit 32 bits
        org = session.get(Organisation, int(ref))
    return org


def parse_window(text: str) -> tuple[time, time]:
    """``"21:00-08:00"`` -> (21:00, 08:00). May wrap midnight; ``off`` for no quiet hours."""
    if text.strip().lower() == "off":
        return time(0), time(0)
    m = _WINDOW.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not a window like 21:00-08:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{text!r}: hours are 0-23 and minutes 00-59")
    return time(h1, m1), time(h2, m2)


@dataclass(frozen=True)
class OrgChange:
    """What ``trygthjem org set`` asks for; None leaves a value as it is."""

    tz_name: str | None = None
    quiet: tuple[time, time] | None = None
    work: tuple[time, time] | None = None  # every team of the organisation
    reminder_after_hours: int | None = None
    missed_after_hours: int | None = None


def apply_change(session: Session, org: Organisation, change: OrgChange, *,
                 actor: str) -> dict[str, list[str]]:
    """Validate and apply ``change`` in the caller's transaction; audit it.

    Returns ``{field: [old, new]}`` for what changed. Raises ``ValueError`` (nothing applied)
    for an unknown time zone, working hours that do not start before they end, or a reminder
    that would not come before the miss.
    """
    if change.tz_name is not None:
        zone_of(change.tz_name)  # raises ValueError naming the zone
    if change.work is not None and not change.work[0] < change.work[1]:
        raise ValueError("working hours must start before they end, e.g. 08:00-16:00")
    reminder = change.reminder_after_hours or org.reminder_after_hours
    missed = change.missed_after_hours or org.missed_after_hours
    if not 1 <= reminder <= 24 * 14 or not 1 <= missed <= 24 * 14:
        raise ValueError("reminder and missed hours must be between 1 and 336 (two weeks)")
    CheckinPolicy(timedelta(hours=reminder), timedelta(hours=missed))  # reminder before miss

    changed: dict[str, list[str]] = {}

    def put(target: Organisation | Team, field: str, label: str, new: object) -> None:
        old = getattr(target, field)
        if old != new:
            changed[label] = [_show(old), _show(new)]
            setattr(target, field, new)

    if change.tz_name is not None:
        put(org, "tz_name", "tz", change.tz_name)
    if change.quiet is not None:
        put(org, "quiet_start", "quiet_start", change.quiet[0])
        put(org, "quiet_end", "quiet_end", change.quiet[1])
    put(org, "reminder_after_hours", "reminder_after_hours", reminder)
    put(org, "missed_after_hours", "missed_after_hours", missed)
    if change.work is not None:
        for team in session.scalars(select(Team).where(Team.organisation_id == org.id)):
            put(team, "work_start", f"team {team.id} work_start", change.work[0])
            put(team, "work_end", f"team {team.id} work_end", change.work[1])
    if changed:
        audit.record(session, actor, "organisation.settings", "organisation", org.id,
                     changed=changed)
    return changed


def _show(value: object) -> str:
    return f"{value:%H:%M}" if isinstance(value, time) else str(value)


def describe(session: Session, org: Organisation, now: datetime, *,
             holiday_country: str | None) -> list[str]:
    """The settings as an operator reads them, with the local time now (and HOLIDAY_COUNTRY,
    whose public holidays close the working hours)."""
    zone = zone_of(org.tz_name)
    quiet = ("off" if org.quiet_start == org.quiet_end
             else f"{org.quiet_start:%H:%M}-{org.quiet_end:%H:%M}")
    lines = [f"{org.name} (id {org.id})",
             f"  Time zone:      {org.tz_name} (now {now.astimezone(zone):%Y-%m-%d %H:%M %Z})",
             f"  Quiet hours:    {quiet} (no check-ins or reminders; replies still go)",
             f"  Check-in grace: reminder after {org.reminder_after_hours} h, missed after "
             f"{org.missed_after_hours} h"]
    days = f"Mon-Fri except {holiday_country} public holidays" if holiday_country else "Mon-Fri"
    for team in session.scalars(select(Team).where(Team.organisation_id == org.id)
                                .order_by(Team.id)):
        lines.append(f"  Team {team.name} (id {team.id}): working hours "
                     f"{team.work_start:%H:%M}-{team.work_end:%H:%M} {days} "
                     "(low alerts wait for them)")
    return lines


def local_today(tz_name: str | None, now: datetime | None = None) -> date:
    """Today's date in the organisation's zone (never the server's)."""
    return (now or datetime.now(UTC)).astimezone(zone_of(tz_name or DEFAULT_TZ)).date()


def home_zone(home: Home, default: str = DEFAULT_TZ) -> ZoneInfo:
    """The time zone of the municipality a home belongs to."""
    return zone_of(home.organisation.tz_name if home.organisation is not None else default)
