"""Escalation policies as values, and their timetable: who is told when, and reminders.

A :class:`Policy` is ordered :class:`Step` s ("after N minutes notify WHO by CHANNELS"), a repeat
count and working-hours-only; :data:`DEFAULT_POLICIES` are the built-in ones per severity
(``bot.alerts.policies`` loads a team's own from the database). Pure: no database, no clock, no
time zones (working hours come in as the caller's ``shift`` function). Every function is
deterministic in its arguments, so the escalator can recompute "what is next" after a restart
from the few facts it stores on the alert (``raised_at``, ``steps_done``, ``acknowledged_at``,
``last_reminder_at``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import NamedTuple

from bot.models.enums import Channel, Severity, Target

__all__ = [
    "DEFAULT_POLICIES",
    "Due",
    "Policy",
    "ScheduledStep",
    "Step",
    "ack_reminder_due",
    "next_notification",
    "unrolled",
]


# --------------------------------------------------------------------------- policy


def _is_int(value: object) -> bool:
    # bool is an int subclass; True minutes is always a bug.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Step:
    """Notify ``target`` on every channel in ``channels``, ``after_minutes`` into a pass.

    Strings are accepted for ``target`` and ``channels`` (as loaded from the database) and
    converted to the enums; a list of channels is frozen into a tuple.
    """

    after_minutes: int
    target: Target
    channels: tuple[Channel, ...]

    def __post_init__(self) -> None:
        if not _is_int(self.after_minutes):
            raise ValueError(f"step after_minutes must be an int, got {self.after_minutes!r}")
        if self.after_minutes < 0:
            raise ValueError(f"step after_minutes must be >= 0, got {self.after_minutes}")
        try:
            target = Target(self.target)
        except ValueError:
            allowed = ", ".join(t.value for t in Target)
            raise ValueError(f"unknown step target {self.target!r}; use one of {allowed}") from None
        if isinstance(self.channels, str):
            # tuple("sms") would silently become ('s', 'm', 's').
            raise ValueError(f"step channels must be a sequence, got the string {self.channels!r}")
        raw = tuple(self.channels)
        if not raw:
            raise ValueError(f"step at {self.after_minutes} min needs at least one channel")
        try:
            channels = tuple(Channel(c) for c in raw)
        except ValueError:
            allowed = ", ".join(c.value for c in Channel)
            raise ValueError(f"unknown channel in {raw!r}; use {allowed}") from None
        if len(set(channels)) != len(channels):
            raise ValueError(f"step at {self.after_minutes} min lists a channel twice: {raw!r}")
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "channels", channels)


@dataclass(frozen=True, kw_only=True)
class Policy:
    """An escalation policy: a pass of steps, run ``1 + repeat`` times.

    Repeat semantics: the *whole* sequence of steps is one pass. Pass ``k`` (0-based,
    ``k <= repeat``) starts ``k * cycle_minutes`` after the alert was raised, where
    ``cycle_minutes = steps[-1].after_minutes + repeat_gap_minutes``. So ``repeat=2`` means
    up to two more passes after the first, i.e. ``len(steps) * 3`` notifications in total.
    Example (critical default): steps at 0/15/30 min, gap 15 -> cycle 45 -> notifications at
    0, 15, 30, 45, 60, 75, 90, 105, 120 min. The whole pass repeats (not only the last step)
    because an unanswered crisis should reach the assigned caseworker and the team again,
    not only the lead.

    ``working_hours_only``: due times are passed through the caller's ``shift`` function
    (see :func:`unrolled`). ``ack_reminder_minutes``: how long an acknowledged but
    unresolved alert may sit before the acknowledger is reminded; reminders then repeat at
    that interval until the alert is resolved.
    """

    steps: tuple[Step, ...]
    repeat: int
    working_hours_only: bool
    ack_reminder_minutes: int = 24 * 60
    # Not stored in the escalation_policies table: policies loaded from the DB get the default.
    repeat_gap_minutes: int = 15

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        if not steps:
            raise ValueError("a policy needs at least one step")
        for step in steps:
            if not isinstance(step, Step):
                raise ValueError(f"policy steps must be Step instances, got {step!r}")
        for before, after in pairwise(steps):
            if after.after_minutes < before.after_minutes:
                raise ValueError(
                    "policy steps must be sorted by after_minutes: "
                    f"{after.after_minutes} comes after {before.after_minutes}"
                )
        if not _is_int(self.repeat) or self.repeat < 0:
            raise ValueError(f"policy repeat must be an int >= 0, got {self.repeat!r}")
        if not _is_int(self.repeat_gap_minutes) or self.repeat_gap_minutes < 1:
            # A zero gap would fire a pass's last step and the next pass's first together.
            raise ValueError(
                f"policy repeat_gap_minutes must be an int >= 1, got {self.repeat_gap_minutes!r}"
            )
        if not _is_int(self.ack_reminder_minutes) or self.ack_reminder_minutes < 1:
            raise ValueError(
                "policy ack_reminder_minutes must be an int >= 1, "
                f"got {self.ack_reminder_minutes!r}"
            )
        if not isinstance(self.working_hours_only, bool):
            raise ValueError(
                f"policy working_hours_only must be a bool, got {self.working_hours_only!r}"
            )
        object.__setattr__(self, "steps", steps)

    @property
    def cycle_minutes(self) -> int:
        """Minutes from the start of one pass to the start of the next."""
        return self.steps[-1].after_minutes + self.repeat_gap_minutes

    @property
    def total_notifications(self) -> int:
        return len(self.steps) * (self.repeat + 1)


_SEND_NOW = (Channel.SMS, Channel.TELEGRAM)

DEFAULT_POLICIES: dict[Severity, Policy] = {
    # Crisis words, no sign of life: everyone fast, at any hour, and the lead also by email
    # so there is a written trail. Acknowledged crises must be closed or re-confirmed in 4 h.
    Severity.CRITICAL: Policy(
        steps=(
            Step(0, Target.ASSIGNED, _SEND_NOW),
            Step(15, Target.TEAM, _SEND_NOW),
            Step(30, Target.TEAM_LEAD, (*_SEND_NOW, Channel.EMAIL)),
        ),
        repeat=2,
        working_hours_only=False,
        ack_reminder_minutes=4 * 60,
    ),
    # Asked for help: same shape at half the pace, still at any hour.
    Severity.HIGH: Policy(
        steps=(
            Step(0, Target.ASSIGNED, _SEND_NOW),
            Step(30, Target.TEAM, _SEND_NOW),
            Step(60, Target.TEAM_LEAD, (*_SEND_NOW, Channel.EMAIL)),
        ),
        repeat=1,
        working_hours_only=False,
    ),
    # Low: nobody is woken up; the lead hears of it a (working) day later if still unanswered.
    Severity.LOW: Policy(
        steps=(
            Step(0, Target.ASSIGNED, (Channel.SMS, Channel.EMAIL)),
            Step(24 * 60, Target.TEAM_LEAD, (Channel.SMS, Channel.EMAIL)),
        ),
        repeat=0,
        working_hours_only=True,
    ),
}


# --------------------------------------------------------------------------- schedule


class ScheduledStep(NamedTuple):
    # Flat index into the unrolled schedule, across passes. The name shadows tuple.index, which
    # nothing here calls; callers and tests read it by this name.
    index: int  # type: ignore[assignment]
    step: Step
    due_at: datetime


@dataclass(frozen=True)
class Due:
    """The next notification to perform. After performing it, store ``steps_done = index + 1``.

    ``ready`` is ``due_at <= now``: send it now, otherwise wake up at ``due_at``.
    """

    index: int
    step: Step
    due_at: datetime
    ready: bool


def _identity(moment: datetime) -> datetime:
    return moment


def unrolled(
    policy: Policy,
    raised_at: datetime,
    *,
    shift: Callable[[datetime], datetime] = _identity,
) -> list[ScheduledStep]:
    """Every notification of ``policy`` for an alert raised at ``raised_at``, in order.

    Without working hours, ``due_at = raised_at + pass * cycle + step.after_minutes``.

    With ``policy.working_hours_only``, ``shift`` maps a moment to the earliest allowed
    moment at or after it (the caller's working-hours function; identity by default). Each
    step is measured from the previous step's *shifted* due time, so the gap between two
    notifications is never swallowed by a weekend: a low alert raised Friday night reaches
    the caseworker Monday morning and the lead a day after that, not both on Monday at 8.
    ``shift`` is ignored for policies that run at any hour. A ``shift`` that moves a time
    earlier is clamped to the unshifted time, so due times never go backwards.
    """
    apply_shift = policy.working_hours_only
    schedule: list[ScheduledStep] = []
    previous_offset = 0
    previous_due = raised_at
    index = 0
    for repeat_pass in range(policy.repeat + 1):
        for step in policy.steps:
            offset = repeat_pass * policy.cycle_minutes + step.after_minutes
            candidate = previous_due + timedelta(minutes=offset - previous_offset)
            if apply_shift:
                shifted = shift(candidate)
                candidate = max(shifted, candidate)
            schedule.append(ScheduledStep(index, step, candidate))
            previous_offset, previous_due = offset, candidate
            index += 1
    return schedule


def next_notification(
    policy: Policy,
    *,
    raised_at: datetime,
    steps_done: int,
    now: datetime,
    shift: Callable[[datetime], datetime] = _identity,
) -> Due | None:
    """The notification after the first ``steps_done``, or None when all are done.

    ``steps_done`` counts notifications already performed, as a flat index into
    :func:`unrolled` (it keeps counting across repeat passes). The answer depends only on
    the arguments, so a restarted scheduler asking again gets the same answer, and a crash
    between sending and storing ``steps_done`` resends at most that one step. The result is
    returned even when it lies in the future (``ready`` is then False). Stopping on
    acknowledge/resolve is the caller's job: check the alert state before sending.
    """
    if not _is_int(steps_done) or steps_done < 0:
        raise ValueError(f"steps_done must be an int >= 0, got {steps_done!r}")
    if steps_done >= policy.total_notifications:
        return None
    entry = unrolled(policy, raised_at, shift=shift)[steps_done]
    return Due(entry.index, entry.step, entry.due_at, ready=entry.due_at <= now)


# --------------------------------------------------------------------------- reminders


def ack_reminder_due(
    acknowledged_at: datetime | None,
    last_reminder_at: datetime | None,
    policy: Policy,
    now: datetime,
    *,
    shift: Callable[[datetime], datetime] = _identity,
) -> bool:
    """Whether to remind the acknowledger that an acknowledged alert is still unresolved.

    Due ``ack_reminder_minutes`` after the later of the acknowledgement and the last
    reminder, so reminders repeat every ``ack_reminder_minutes`` until resolved. Call it for
    acknowledged alerts only; an alert never acknowledged (``acknowledged_at`` None) gets
    escalation, not reminders. A reminder older than the acknowledgement (sent before a
    reopen and re-acknowledge) does not count. Working-hours policies wait for ``shift``.
    """
    if acknowledged_at is None:
        return False
    since = acknowledged_at
    if last_reminder_at is not None and last_reminder_at > since:
        since = last_reminder_at
    due_at = since + timedelta(minutes=policy.ack_reminder_minutes)
    if policy.working_hours_only:
        due_at = max(shift(due_at), due_at)
    return now >= due_at
