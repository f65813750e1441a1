"""An alert's working hours: its team's hours in its municipality's time zone."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, time
from functools import partial

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from bot.core.config import Settings
from bot.core.timing import next_working_moment
from bot.models import Alert, Organisation, Team

__all__ = ["working_hours"]


@functools.cache
def _hours_sql() -> Select[time, time, str]:
    # One statement for both rows (NULLs when the alert has no team or municipality), built
    # once: an alert's first step runs in the request that raised it.
    return select(
        select(Team.work_start).where(Team.id == bindparam("team_id")).scalar_subquery(),
        select(Team.work_end).where(Team.id == bindparam("team_id")).scalar_subquery(),
        select(Organisation.tz_name)
        .where(Organisation.id == bindparam("organisation_id")).scalar_subquery())


def working_hours(session: Session, alert: Alert,
                  settings: Settings) -> Callable[[datetime], datetime]:
    """The next working moment from a time: the team's hours (08-16 without a team), in the
    time zone of the alert's municipality (an alert without one, which the migration leaves
    none of, uses TZ_NAME, a new municipality's)."""
    start, end, tz_name = session.execute(_hours_sql(), {
        "team_id": alert.team_id, "organisation_id": alert.organisation_id}).one()
    return partial(next_working_moment, tz=tz_name or settings.tz_name,
                   start=start if start is not None else time(8),
                   end=end if end is not None else time(16))
