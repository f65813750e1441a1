"""A tenant's words on a dormant case reach a person: passed on at once, and again when those
messages die.

A trigger that joins a dormant case (acknowledged, or open with its policy done) without
restarting it (`bot.alerts.rules.join_trigger`: free text, a greeting, "2 lidt træt") is passed
on in the request's transaction (`pass_on`): to who holds the case (who acknowledged it, or its
owner since a handover), else its owner, else its team, the first group that reaches someone.
The tenant is then told the words were passed on.

The messages of a pass-on, or of an acknowledged alert's reminder, may all die at the provider
(dead letter, stuck in retries, refused by the carrier: `bot.alerts.told.notification_died`,
which makes the alert due at once). The escalator's next run for the alert (`retry_dead`) then
sends it again: the same groups without the people whose messages died for it, then the intake
route and the team lead as the last resort. Each retry has its own idempotency keys
(`<first attempt>:r<newest event id>`): a dead row's key never matches a new attempt, and a
replay of the same run finds the same keys. A retry that reaches nobody is put on the timeline
as `unreachable` (with `retry_of`) and logged once; it is not tried again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import timeline
from bot.alerts.lifecycle import reminded_people
from bot.alerts.notify import GONE, Run, notify
from bot.alerts.routing import FALLBACK_CHANNELS, last_resort, recipients
from bot.alerts.shifts import policy_and_hours
from bot.alerts.timetable import Policy, Step
from bot.alerts.told import ToldRow, last_event_id
from bot.core.logs import get_logger
from bot.models import Alert, AlertEvent, Caseworker, OutboxItem
from bot.models.enums import Channel, Source, Target

__all__ = ["DeadAttempt", "dead_attempts", "pass_on", "remind", "retry_dead"]

log = get_logger(__name__)

# Key parts (`alert:<id>:<part>:<channel>:<caseworker>`) of what is sent again when it died.
_RETRIED = ("joined", "reminder")


@dataclass(frozen=True)
class _Group:
    people: Callable[[], list[Caseworker]]
    channels: tuple[Channel, ...] | None = None  # None: the policy's first step's
    intake: bool = False  # the last resort: once told, the intake team may act on the alert


def _groups(session: Session, alert: Alert, *, last: bool = False) -> list[_Group]:
    groups = [_Group(partial(reminded_people, session, alert)),  # who acknowledged, or holds it
              _Group(partial(recipients, session, alert, Target.ASSIGNED)),
              _Group(partial(recipients, session, alert, Target.TEAM))]
    if last:
        groups.append(_Group(partial(last_resort, session, alert), FALLBACK_CHANNELS, True))
    return groups


def pass_on(session: Session, alert: Alert, source: Source, run: Run) -> int:
    """A trigger joined a dormant case (only a milder, non-crying one does; see
    `bot.alerts.rules.join_trigger`): tell the person holding it, on the channels of the
    case's first step: who acknowledged it (or its owner since a handover), else its owner,
    else its team (the intake route without a team), the first that reaches someone. Within
    the case's working hours when its policy keeps to them. Returns how many were reached."""
    policy, shift = policy_and_hours(session, alert, run.settings)
    # trigger_count numbers the case's triggers: one message per trigger, replay-safe.
    return _walk(session, alert, policy, shift, _groups(session, alert),
                 f"joined:{alert.trigger_count}", run, cause=source)


def remind(session: Session, alert: Alert, policy: Policy,
           shift: Callable[[datetime], datetime], key_part: str, run: Run) -> int:
    """An acknowledged alert's reminder: to who holds it, else (they left, or cannot be reached
    on the policy's channels) its owner, its team, and the last resort, the first group that
    reaches someone. Returns how many were reached."""
    return _walk(session, alert, policy, shift, _groups(session, alert, last=True), key_part,
                 run, cause=None)


def retry_dead(session: Session, alert: Alert, policy: Policy,
               shift: Callable[[datetime], datetime], rows: list[ToldRow], run: Run) -> bool:
    """Send each pass-on and reminder of the current escalation whose messages have all died
    (``rows``: `bot.alerts.told.told_events`) to the next people who can be reached; one that
    reaches nobody gets an `unreachable` event. Returns whether someone was reached. Costs no
    query unless a message of one has died."""
    dead = _confirmed(session, alert, dead_attempts(rows))
    if not dead:
        return False
    attempt = last_event_id(session, alert)  # newer than every key of the attempts that died
    told = False
    for item in dead:
        reached = _walk(session, alert, policy, shift, _groups(session, alert, last=True),
                        f"{item.group}:r{attempt}", run, cause=item.cause, skip=item.people)
        told = told or reached > 0
        if not reached:
            timeline.record(session, alert, run.now, [("unreachable", item.unreachable)])
            log.error("alert.passon_unreachable", alert_id=alert.id, attempt=item.group)
    return told


def _walk(session: Session, alert: Alert, policy: Policy,
          shift: Callable[[datetime], datetime], groups: list[_Group], key_part: str, run: Run,
          *, cause: Source | None, skip: frozenset[int] = frozenset()) -> int:
    """Notify group by group, leaving out ``skip``, until one reaches someone; within the
    case's working hours when its policy keeps to them. ``cause`` None: a reminder."""
    not_before = max(shift(run.now), run.now) if policy.working_hours_only else None
    for group in groups:
        step = Step(0, Target.ASSIGNED, group.channels or policy.steps[0].channels)
        people = [person for person in group.people() if person.id not in skip]
        reached = notify(session, alert, None, step, key_part, set(), run, people=people,
                         record_skips=False, why=None if cause is None else "joined",
                         cause=cause, not_before=not_before)
        if reached:
            if group.intake and alert.intake_at is None and alert.team_id is not None:
                run.changes.set(alert, intake_at=run.now)  # the intake team it told may act
            return reached
    return 0


@dataclass(frozen=True)
class DeadAttempt:
    """A pass-on or reminder whose latest attempt has a message that died."""

    group: str  # its first attempt's key part: "joined:<trigger number>" or "reminder:<since>"
    people: frozenset[int]  # everyone its attempts went to (their messages died): not again
    cause: Source | None  # the passed-on trigger's source; None: a reminder
    unsure: frozenset[str]  # the latest attempt's keys with no death on the timeline

    @property
    def unreachable(self) -> dict[str, Any]:
        kind, _sep, number = self.group.partition(":")
        what: dict[str, Any] = {"joined": int(number)} if kind == "joined" else {"reminder": True}
        return {**what, "retry_of": self.group}


def _attempt(key: object) -> tuple[str, str] | None:
    """(group, attempt) of a notification key that is sent again when it died, else None."""
    parts = key.split(":") if isinstance(key, str) else []
    if len(parts) < 6 or parts[2] not in _RETRIED:
        return None
    return ":".join(parts[2:4]), ":".join(parts[2:-2])


def dead_attempts(rows: Iterable[ToldRow]) -> list[DeadAttempt]:
    """Pure: of the timeline's `notified` and `notification_failed` rows, the pass-ons and
    reminders whose latest attempt has at least one message that died. Its other keys are
    `unsure`: dead only if their outbox rows are."""
    latest: dict[str, str] = {}  # group -> its latest attempt
    sent: dict[str, dict[str, tuple[int, tuple[object, object]]]] = {}  # its keys -> row, who
    people: dict[str, set[int]] = {}
    causes: dict[str, Source | None] = {}
    died: set[str] = set()
    keyless: list[tuple[int, tuple[object, object]]] = []  # deaths recorded without their key
    for index, (kind, detail, _at) in enumerate(rows):
        who = (detail.get("caseworker_id"), detail.get("channel"))
        if kind != "notified":
            if detail.get("key"):
                died.add(detail["key"])
            else:
                keyless.append((index, who))
            continue
        found = _attempt(detail.get("key"))
        if found is None:
            continue
        group, attempt = found
        if latest.get(group) != attempt:
            latest[group], sent[group] = attempt, {}
        sent[group][detail["key"]] = (index, who)
        people.setdefault(group, set()).add(int(detail["caseworker_id"]))
        causes[group] = (None if group.startswith("reminder")
                         else Source(detail.get("cause") or Source.MESSAGE))
    found_dead = []
    for group, keys in sent.items():
        dead = {key for key, (index, who) in keys.items() if key in died
                or any(later > index and whose == who for later, whose in keyless)}
        if dead:
            found_dead.append(DeadAttempt(group, frozenset(people[group]), causes[group],
                                          frozenset(keys) - dead))
    return found_dead


def _confirmed(session: Session, alert: Alert,
               candidates: list[DeadAttempt]) -> list[DeadAttempt]:
    """Of ``candidates``, those not given up before whose unsure messages are dead too."""
    if not candidates:
        return []
    given_up = {(detail or {}).get("retry_of") for detail in session.scalars(
        select(AlertEvent.detail).where(AlertEvent.alert_id == alert.id,
                                        AlertEvent.kind == "unreachable"))}
    candidates = [c for c in candidates if c.group not in given_up]
    unsure = set().union(*(c.unsure for c in candidates))
    gone = set(session.scalars(select(OutboxItem.idempotency_key).where(
        OutboxItem.idempotency_key.in_(unsure), OutboxItem.status.in_(GONE)))) if unsure else set()
    return [c for c in candidates if c.unsure <= gone]
