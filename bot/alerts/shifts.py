"""An alert's working hours: its team's hours in its municipality's time zone.

The escalator reads them beside the alert's policy, in one statement (`hours_sql` is part of
it), once per team and municipality per run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, time
from functools import partial

from sqlalchemy import Select, bindparam, select

from bot.core.config import Settings
from bot.core.timing import next_working_moment
from bot.models import Organisation, Team

__all__ = ["hours_sql", "shift_from"]


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
    migration leaves none of, uses TZ_NAME, a new municipality's)."""
    return partial(next_working_moment, tz=tz_name or settings.tz_name,
                   start=start if start is not None else time(8),
                   end=end if end is not None else time(16))
