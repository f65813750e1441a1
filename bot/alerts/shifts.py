"""An alert's working hours: its team's hours in its municipality's time zone.

The escalator reads them beside the alert's policy, in one statement (`policy_and_hours`),
once per team and municipality per run, and at most once per transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, time
from functools import partial
from typing import Any

from sqlalchemy import Row, Select, bindparam, select, true
from sqlalchemy.orm import Session

from bot.alerts.policies import RULES_MEMO, policy_from_rows, policy_rows_sql
from bot.alerts.timetable import Policy
from bot.core.config import Settings
from bot.core.public_holidays import closing_time
from bot.core.timing import next_working_moment
from bot.models import Alert, Organisation, Team

__all__ = ["hours_sql", "policy_and_hours", "shift_from"]


@functools.cache
def hours_sql() -> Select[time, time, str]:
    """The team's working hours and the municipality's time zone (bound: ``team_id``,
    ``organisation_id``) in one row, NULLs for an alert without a team or municipality; built
    once: an alert's first step runs in the request that raised it."""
    return select(
        select(Team.work_start).where(Team.id == bindparam("team_id"))
        .scalar_subquery().label("work_start"),
        select(Team.work_end).where(Team.id == bindparam("team_id"))
        .scalar_subquery().label("work_end"),
        select(Organisation.tz_name).where(Organisation.id == bindparam("organisation_id"))
        .scalar_subquery().label("tz_name"))


def shift_from(start: time | None, end: time | None, tz_name: str | None,
               settings: Settings) -> Callable[[datetime], datetime]:
    """The next working moment from a time, for hours as `hours_sql` reads them: the team's
    (08-16 without a team), in the municipality's time zone (an alert without one, which the
    migration leaves none of, uses TZ_NAME, a new municipality's), on weekdays that are not
    public holidays of HOLIDAY_COUNTRY (the deployment's: municipalities have no country)."""
    return partial(next_working_moment, tz=tz_name or settings.tz_name,
                   start=start if start is not None else time(8),
                   end=end if end is not None else time(16),
                   closes=closing_time(settings.holiday_country))


@functools.cache
def _rules_sql() -> Select[Any]:
    # The alert's policy rows (none when the defaults apply) beside its working hours.
    hours = hours_sql().subquery("hours")
    rows = policy_rows_sql().subquery("policy")
    return (select(hours, rows).select_from(hours.outerjoin(rows, true()))
            .order_by(rows.c.policy_id, rows.c.position))


def policy_and_hours(session: Session, alert: Alert, settings: Settings
                     ) -> tuple[Policy, Callable[[datetime], datetime]]:
    """The alert's escalation policy (`bot.alerts.policies`) and working hours, read in one
    statement, once per transaction: the escalator needs both for an alert, a first alert's
    step runs in the request that raised it, and the reply then asks whether anyone its policy
    names can be reached (`bot.alerts.routing.route_reachable`)."""
    conn = session.connection()  # begins the transaction the memo belongs to
    transaction = session.get_transaction()
    # (the transaction, {(team, municipality, severity): rows}); save_policy drops it.
    memo = session.info.get(RULES_MEMO)
    if memo is None or memo[0] is not transaction:
        memo = session.info[RULES_MEMO] = (transaction, {})
    read: dict[tuple[int | None, int | None, str], Sequence[Row[Any]]] = memo[1]
    key = (alert.team_id, alert.organisation_id, str(alert.severity))
    rows = read.get(key)
    if rows is None:
        rows = read[key] = conn.execute(_rules_sql(), {
            "team_id": alert.team_id, "organisation_id": alert.organisation_id,
            "severity": alert.severity}).all()
    hours = rows[0]  # the hours subquery is one row: never empty
    return (policy_from_rows(rows, alert.team_id, alert.severity),
            shift_from(hours.work_start, hours.work_end, hours.tz_name, settings))
