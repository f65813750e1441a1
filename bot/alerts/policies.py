"""Escalation policies per team, stored in the database, with the built-in defaults behind them.

Lookup order for (team, severity): the team's own row, then a row with no team (a deployment-wide
override), then `bot.alerts.timetable.DEFAULT_POLICIES`. Rows are validated through
`bot.alerts.timetable.Policy` on the way in and out, so a bad row can never reach the escalator.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, or_, select
from sqlalchemy.orm import Session

from bot.alerts.timetable import DEFAULT_POLICIES, Policy, Step
from bot.models import EscalationPolicy, EscalationStep
from bot.models.enums import Channel, Severity, Target

__all__ = ["describe", "load_policy", "parse_step", "policy_from_row", "policy_from_rows",
           "policy_rows_sql", "save_policy"]


# session.info key of the policies (and working hours) a transaction has read: see
# bot.alerts.shifts.policy_and_hours.
RULES_MEMO = "alert_rules"


class PolicyError(ValueError):
    """A policy or step the caller typed cannot be used; the message says why."""


def policy_from_row(row: EscalationPolicy) -> Policy:
    steps = tuple(Step(s.after_minutes, Target(s.target),
                       tuple(Channel(c) for c in s.channels.split(",") if c))
                  for s in row.steps)
    return Policy(steps=steps, repeat=row.repeat, working_hours_only=row.working_hours_only,
                  ack_reminder_minutes=row.ack_reminder_minutes)


def _row(session: Session, team_id: int | None, severity: Severity) -> EscalationPolicy | None:
    team_match = (EscalationPolicy.team_id.is_(None) if team_id is None
                  else EscalationPolicy.team_id == team_id)
    return session.scalar(select(EscalationPolicy).where(
        team_match, EscalationPolicy.severity == severity.value))


_POLICIES = cast(Table, EscalationPolicy.__table__)
_STEPS = cast(Table, EscalationStep.__table__)


@functools.cache
def policy_rows_sql() -> Select[Any]:
    """The team's policy rows and the deployment-wide ones for a severity (bound: ``team_id``,
    None for the deployment's, and ``severity``), one row per step, as plain columns; built
    once: every alert's first step reads it in the request that raised it."""
    return (select(_POLICIES.c.id.label("policy_id"), _POLICIES.c.team_id.label("policy_team"),
                   _POLICIES.c.repeat, _POLICIES.c.working_hours_only,
                   _POLICIES.c.ack_reminder_minutes, _STEPS.c.position, _STEPS.c.after_minutes,
                   _STEPS.c.target, _STEPS.c.channels)
            .select_from(_POLICIES.outerjoin(_STEPS, _STEPS.c.policy_id == _POLICIES.c.id))
            .where(or_(_POLICIES.c.team_id == bindparam("team_id"),
                       _POLICIES.c.team_id.is_(None)),
                   _POLICIES.c.severity == bindparam("severity")))


def policy_from_rows(rows: Iterable[Any], team_id: int | None,
                     severity: Severity | str) -> Policy:
    """The lookup order over rows of `policy_rows_sql` (rows without a policy are skipped):
    the team's own policy, else the deployment-wide one, else the default. A stored policy
    without steps does not count."""
    first: dict[int | None, int] = {}  # team (None: deployment-wide) -> its policy's id
    steps: dict[int, list[Any]] = {}
    for row in rows:
        if row.policy_id is None:
            continue
        first[row.policy_team] = min(first.get(row.policy_team, row.policy_id), row.policy_id)
        found = steps.setdefault(row.policy_id, [])
        if row.position is not None:
            found.append(row)
    for candidate in ((team_id, None) if team_id is not None else (None,)):
        policy_steps = steps.get(first.get(candidate, -1))
        if policy_steps:
            policy_steps.sort(key=lambda r: r.position)
            head = policy_steps[0]
            return Policy(
                steps=tuple(Step(r.after_minutes, Target(r.target),
                                 tuple(Channel(c) for c in r.channels.split(",") if c))
                            for r in policy_steps),
                repeat=head.repeat, working_hours_only=bool(head.working_hours_only),
                ack_reminder_minutes=head.ack_reminder_minutes)
    return DEFAULT_POLICIES[Severity(severity)]


def load_policy(session: Session, team_id: int | None, severity: Severity | str) -> Policy:
    """The policy for alerts of `severity` on team `team_id` (None: the deployment default)."""
    sev = Severity(severity)
    rows = session.connection().execute(policy_rows_sql(),
                                        {"team_id": team_id, "severity": sev.value})
    return policy_from_rows(rows, team_id, sev)


def save_policy(session: Session, team_id: int | None, severity: Severity | str,
                policy: Policy) -> EscalationPolicy:
    """Create or replace the stored policy (steps are replaced as a whole), in the caller's
    transaction."""
    sev = Severity(severity)
    session.info.pop(RULES_MEMO, None)  # bot.alerts.shifts read the old one in this transaction
    row = _row(session, team_id, sev)
    if row is None:
        row = EscalationPolicy(team_id=team_id, severity=sev.value)
        session.add(row)
    row.repeat = policy.repeat
    row.working_hours_only = policy.working_hours_only
    row.ack_reminder_minutes = policy.ack_reminder_minutes
    row.steps.clear()
    session.flush()  # the old steps' (policy_id, position) must be gone before new ones arrive
    row.steps.extend(
        EscalationStep(position=i, after_minutes=s.after_minutes, target=s.target.value,
                       channels=",".join(c.value for c in s.channels))
        for i, s in enumerate(policy.steps))
    session.flush()
    return row


MAX_STEP_MINUTES = 60 * 24 * 30  # beyond that an alert is stale anyway (and fits the column)
_STEP = re.compile(r"^\s*(\d+)\s*:\s*([a-z_]+)\s*:\s*([a-z,\s]+)$")


def parse_step(spec: str) -> Step:
    """`MINUTES:TARGET:CHANNEL[,CHANNEL]`, e.g. `15:team:sms,telegram`."""
    m = _STEP.match(spec.strip().lower())
    if not m:
        raise PolicyError(f"step {spec!r} must look like MINUTES:TARGET:CHANNELS, "
                          "e.g. 15:team:sms,telegram")
    channels = tuple(c.strip() for c in m.group(3).split(",") if c.strip())
    if int(m.group(1)) > MAX_STEP_MINUTES:
        raise PolicyError(f"step {spec!r}: at most {MAX_STEP_MINUTES} minutes (30 days)")
    try:
        return Step(int(m.group(1)), m.group(2), channels)  # type: ignore[arg-type]
    except ValueError as exc:
        raise PolicyError(f"step {spec!r}: {exc}") from None


def build_policy(steps: Iterable[str], *, repeat: int, working_hours_only: bool,
                 ack_reminder_minutes: int) -> Policy:
    """A validated Policy from CLI-style step specs; PolicyError names what is wrong."""
    parsed = [parse_step(s) for s in steps]
    try:
        return Policy(steps=tuple(parsed), repeat=repeat, working_hours_only=working_hours_only,
                      ack_reminder_minutes=ack_reminder_minutes)
    except ValueError as exc:
        raise PolicyError(str(exc)) from None


def describe(policy: Policy) -> list[str]:
    """Human-readable lines, one per step plus the repeat/hours/reminder settings."""
    lines = [f"  after {s.after_minutes:>4} min: {s.target.value:<9} by "
             f"{', '.join(c.value for c in s.channels)}" for s in policy.steps]
    lines.append(f"  repeat {policy.repeat}x (every {policy.cycle_minutes} min), "
                 f"{'working hours only' if policy.working_hours_only else 'any hour'}, "
                 f"reminder {policy.ack_reminder_minutes} min after acknowledgement")
    return lines
