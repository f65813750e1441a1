"""The escalation timer: notify caseworkers about open alerts, step by step, until someone acts.

Run by the worker every few seconds (`scheduler.jobs.escalate_alerts`). Each run takes alerts whose
`next_action_at` has come, in batches, and for each:

- open alert: performs every notification of its team's policy that is due (who: the assigned
  caseworker, the whole team or the team lead; how: one outbox row per person per channel), stores
  `steps_done = index + 1` in the same transaction, and sets `next_action_at` to the next step;
- acknowledged alert: escalation stops; a reminder goes to whoever acknowledged it once the
  policy's `ack_reminder_minutes` have passed without a resolution, and again at that interval.

Safe to run concurrently and repeatedly: alert rows are claimed with FOR UPDATE SKIP LOCKED on
PostgreSQL (SQLite has a single writer), each run only sends what is due and records it in the
same transaction, and every outbox row has an idempotency key (`alert:<id>:e<epoch>:step:<n>:...`)
so a replayed transaction enqueues nothing twice. A reopened alert starts a new epoch (its reopen
event), so its second escalation is not mistaken for the first.

A step that reaches nobody (no caseworker, or none with a phone / Telegram / e-mail for the
step's channels), or whose messages all died (`bot.alerts.told`), is never "done": the next step
fires at once instead of waiting out its timer. An alert with no team goes to its municipality's
intake route (`bot.alerts.routing`). When the policy is exhausted and nobody was told in this
escalation, the intake route and the team lead are notified on every configured channel; if even
that reaches nobody, or all of its messages die, the alert is flagged undelivered and stays due:
the fallback is tried again every `RETRY_UNDELIVERED`. The flag clears when a provider takes a
message (checked every `CHECK_UNDELIVERED` while one is queued) or a caseworker acts.

`escalate_now` does the same for one alert in the caller's transaction (an inbound SMS, a
concern), so a reply can say a person was told about it only when one was.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import texts as alert_texts
from bot.alerts import timeline
from bot.alerts.lifecycle import reminded_people
from bot.alerts.policies import load_policy
from bot.alerts.routing import (
    MISSING_ADDRESS,
    Delivery,
    address_for,
    intake_people,
    recipients,
    team_leads,
)
from bot.alerts.shifts import policy_and_hours
from bot.alerts.timetable import Policy, Step, ack_reminder_due, next_notification
from bot.alerts.told import (
    flag_undelivered,
    known_epoch,
    last_event_id,
    last_fallback_at,
    person_told,
    settle_told,
)
from bot.core import metrics, outbox
from bot.core.config import Settings
from bot.core.logs import get_logger
from bot.models import (
    Alert,
    AlertEvent,
    AlertState,
    Caseworker,
    OutboxStatus,
    utcnow,
)
from bot.models.enums import Channel, OutboxKind, Source, Target

__all__ = ["EscalationStats", "escalate_now", "person_told", "run_escalation"]

log = get_logger(__name__)

RETRY_BROKEN = timedelta(minutes=5)  # an alert whose handling raised is tried again after this
RETRY_UNDELIVERED = timedelta(minutes=5)  # an alert that reached nobody is tried again after this
# An undelivered alert with a message queued again looks for it having been sent this often.
CHECK_UNDELIVERED = timedelta(minutes=1)
_FALLBACK_CHANNELS = (Channel.SMS, Channel.TELEGRAM, Channel.EMAIL)
_GONE = (OutboxStatus.DEAD, OutboxStatus.CANCELLED)  # an outbox row that will never be sent


@dataclass
class EscalationStats:
    alerts: int = 0  # alerts looked at
    steps: int = 0  # escalation steps performed
    messages: int = 0  # outbox rows enqueued (steps and reminders)
    reminders: int = 0
    unreachable: int = 0  # steps that reached nobody
    undelivered: int = 0  # alerts whose policy and intake route reached nobody this run

    def __bool__(self) -> bool:
        return bool(self.alerts)


@dataclass
class _Run:
    settings: Settings
    channels: Collection[str] | None
    now: datetime
    stats: EscalationStats
    policies: dict[tuple[int | None, str], Policy] = field(default_factory=dict)
    # Working hours per (team, municipality), read once per run.
    shifts: dict[tuple[int | None, int | None], Callable[[datetime], datetime]] = field(
        default_factory=dict)
    # Escalations known without a query: an alert raised in this transaction starts at 0.
    epochs: dict[int, tuple[datetime, int]] = field(default_factory=dict)
    told: bool = False  # a person was notified (or found notified) in this run
    # The alert being handled: its changed columns, written in one UPDATE at the end (_handle).
    changes: timeline.Pending = field(default_factory=timeline.Pending)


def run_escalation(sessions: sessionmaker[Session], settings: Settings, *,
                   channels: Collection[str] | None = None, now: datetime | None = None,
                   batch: int = 100) -> EscalationStats:
    """Handle every alert due at `now`; `channels` are the configured channel names (a step's
    channel that is not among them is skipped with a timeline note; None: all)."""
    run = _Run(settings, channels, now or utcnow(), EscalationStats())
    seen: set[int] = set()
    while True:
        batch_stats = EscalationStats()
        step = replace(run, stats=batch_stats)  # counted only once the batch commits
        current: int | None = None
        try:
            with sessions() as session, session.begin():
                query = (select(Alert)
                         .where(Alert.state.in_([AlertState.OPEN, AlertState.ACKNOWLEDGED]),
                                Alert.next_action_at <= run.now)
                         .order_by(Alert.next_action_at, Alert.id).limit(batch))
                if session.get_bind().dialect.name == "postgresql":
                    # Another worker's alerts are skipped, not waited for: it is sending them.
                    query = query.with_for_update(skip_locked=True, of=Alert)
                found = list(session.scalars(query))
                alerts = [a for a in found if a.id not in seen]
                for alert in alerts:
                    current = alert.id
                    _handle(session, alert, step)
                current = None
        except Exception:
            if current is None:
                raise
            # One broken alert must not block all the others: put it aside and go on.
            log.exception("alert.escalation_failed", alert_id=current)
            _postpone(sessions, current, run.now)
            continue
        seen.update(a.id for a in alerts)
        for name in ("alerts", "steps", "messages", "reminders", "unreachable", "undelivered"):
            setattr(run.stats, name, getattr(run.stats, name) + getattr(batch_stats, name))
        if not alerts or len(found) < batch:  # a short batch: nothing else was due
            return run.stats


def escalate_now(session: Session, alert: Alert, delivery: Delivery,
                 now: datetime | None = None, *, new: bool = False,
                 source: Source | str | None = None) -> bool:
    """Right after a trigger was raised or joined to ``alert`` (an inbound SMS, a concern), in
    the caller's transaction: perform its due escalation (a new or retriggered alert's first
    step goes into the outbox with the change that caused it); return whether a person has been
    notified about this trigger: a notification queued now, or, when it joined an escalation
    still running, that escalation's live one. A trigger on a dormant case (acknowledged, or its
    policy done) is passed on to the person holding it: the case's old notifications were about
    earlier triggers. Never while the alert is flagged undelivered (its route has been
    reaching nobody): a cry on it restarts its escalation at once, but the reply may not count
    on it. ``new``: raised in this transaction (its first escalation). ``source``:
    the trigger's (default: the alert's), named to a dormant case's holder."""
    run = _Run(delivery.settings, delivery.channels, now or utcnow(), EscalationStats())
    session.flush()
    if new:
        run.epochs[alert.id] = (alert.created_at, 0)
    running = alert.state == AlertState.OPEN and alert.next_action_at is not None
    if running and alert.next_action_at is not None and alert.next_action_at <= run.now:
        _handle(session, alert, run)  # its writes are done when it returns (no flush)
    elif not (running or new):
        _pass_on(session, alert, Source(source or alert.source), run)
    # A person notified just now is live, as person_told would find.
    told = run.told or (running and person_told(session, alert))
    if not told:
        return False
    if alert.undelivered_at is not None:
        # Its route has been reaching nobody (the flag clears only once a provider takes one
        # of its messages): a message queued on it now is no news that anyone will read it.
        return False
    if delivery.needs_running_sender and not delivery.sender_running(session, run.now):
        # In the outbox, but no worker or dispatcher has beaten for minutes: it goes out only
        # when one starts again, so nobody may be told it has reached a person yet.
        log.error("alert.no_running_sender", alert_id=alert.id)
        return False
    return True


def _pass_on(session: Session, alert: Alert, source: Source, run: _Run) -> int:
    """A trigger joined a dormant case (only a milder, non-crying one does; see
    `bot.alerts.rules.join_trigger`): tell the person holding it, on the channels of the
    case's first step: who acknowledged it (or its owner since a handover), else its owner,
    else its team (the intake route without a team), the first that reaches someone. Within
    the case's working hours when its policy keeps to them. Returns how many were reached."""
    policy, shift = policy_and_hours(session, alert, run.settings)
    step = Step(0, Target.ASSIGNED, policy.steps[0].channels)
    groups: tuple[Callable[[], list[Caseworker]], ...] = (
        partial(reminded_people, session, alert),  # who acknowledged, or holds it since
        partial(recipients, session, alert, Target.ASSIGNED),
        partial(recipients, session, alert, Target.TEAM))
    not_before = max(shift(run.now), run.now) if policy.working_hours_only else None
    for group in groups:
        # trigger_count numbers the case's triggers: one message per trigger, replay-safe.
        reached = _notify(session, alert, None, step, f"joined:{alert.trigger_count}", set(), run,
                          people=group(), record_skips=False, why="joined", cause=source,
                          not_before=not_before)
        if reached:
            return reached
    return 0


def _postpone(sessions: sessionmaker[Session], alert_id: int, now: datetime) -> None:
    with sessions() as session, session.begin():
        alert = session.get(Alert, alert_id)
        if alert is not None:
            alert.next_action_at = now + RETRY_BROKEN
            session.add(AlertEvent(alert=alert, at=now, kind="escalation_failed",
                                   detail={"retry_at": (now + RETRY_BROKEN).isoformat()}))


def _handle(session: Session, alert: Alert, run: _Run) -> None:
    run.stats.alerts += 1
    run.changes = timeline.Pending()
    key, place = (alert.team_id, alert.severity), (alert.team_id, alert.organisation_id)
    if key not in run.policies or place not in run.shifts:
        run.policies[key], run.shifts[place] = policy_and_hours(session, alert, run.settings)
    policy, shift = run.policies[key], run.shifts[place]
    if alert.state == AlertState.ACKNOWLEDGED:
        _remind(session, alert, policy, shift, run)
    else:
        _escalate(session, alert, policy, shift, run)
    if alert.next_action_at is not None and alert.next_action_at <= run.now:
        # Never leave a row due again in this run (a shift function that goes backwards).
        run.changes.set(alert, next_action_at=run.now + timedelta(minutes=1))
    run.changes.write(session, alert)  # one UPDATE for the step, instead of a flush


def _escalate(session: Session, alert: Alert, policy: Policy,
              shift: Callable[[datetime], datetime], run: _Run) -> None:
    started_at, epoch = known_epoch(session, alert, run.epochs)
    already: set[tuple[str, int]] = set()  # catching up: nobody gets the same channel twice
    # Steps done but nobody told (their messages died): as if they had reached nobody, the
    # next step fires at once rather than waiting out its timer.
    fire_now = alert.steps_done > 0 and not person_told(session, alert)
    while True:
        due = next_notification(policy, raised_at=started_at, steps_done=alert.steps_done,
                                now=run.now, shift=shift)
        if due is None:
            _after_policy(session, alert, epoch, run)
            return
        if not (due.ready or fire_now):
            run.changes.set(alert, next_action_at=due.due_at)
            return
        reached = _notify(session, alert, due.index, due.step, f"e{epoch}:step:{due.index}",
                          already, run)
        run.changes.set(alert, steps_done=due.index + 1)
        run.stats.steps += 1
        metrics.escalation_step(reached)
        fire_now = reached == 0
        if fire_now:
            run.stats.unreachable += 1
            timeline.record(session, alert, run.now, [
                ("unreachable", {"step": due.index, "target": due.step.target.value})])
            log.warning("alert.step_unreachable", alert_id=alert.id, step=due.index)


def _after_policy(session: Session, alert: Alert, epoch: int, run: _Run) -> None:
    """The policy is exhausted. Done if a person was told; otherwise the intake route and the
    team lead, and if even they cannot be reached, or their messages all died: undelivered, and
    due again for a retry every RETRY_UNDELIVERED."""
    if person_told(session, alert):
        return settle_told(session, alert, run.now, CHECK_UNDELIVERED)
    people: dict[int, Caseworker] = {}
    for person in (*intake_people(session, alert.organisation_id),
                   *team_leads(session, alert.team_id)):
        people.setdefault(person.id, person)
    last = last_fallback_at(session, alert)
    if last is not None:  # a fallback was sent and all of it died: it reached nobody
        flag_undelivered(session, alert, run.now, RETRY_UNDELIVERED, len(people))
        if run.now < last + RETRY_UNDELIVERED:
            run.stats.undelivered += 1
            run.changes.set(alert, next_action_at=last + RETRY_UNDELIVERED)
            return
    if alert.intake_at is None and alert.team_id is not None:
        run.changes.set(alert, intake_at=run.now)  # the intake team it tells may act on it
    fallback = Step(0, Target.TEAM_LEAD, _FALLBACK_CHANNELS)
    retry = alert.undelivered_at is not None  # its skips are on the timeline already
    # Keyed by the newest event, so each attempt has its own keys (a dead row's never match).
    reached = _notify(session, alert, None, fallback,
                      f"e{epoch}:fallback:{last_event_id(session, alert)}", set(), run,
                      people=list(people.values()), fallback=True, record_skips=not retry)
    if reached:
        return settle_told(session, alert, run.now, CHECK_UNDELIVERED)
    run.stats.undelivered += 1
    flag_undelivered(session, alert, run.now, RETRY_UNDELIVERED, len(people))
    run.changes.set(alert, next_action_at=run.now + RETRY_UNDELIVERED)


def _remind(session: Session, alert: Alert, policy: Policy,
            shift: Callable[[datetime], datetime], run: _Run) -> None:
    if alert.acknowledged_at is None:
        run.changes.set(alert, next_action_at=None)
        return
    if ack_reminder_due(alert.acknowledged_at, alert.last_reminder_at, policy, run.now,
                        shift=shift):
        since = _reminder_base(alert)
        people = reminded_people(session, alert)
        reminder = Step(0, Target.ASSIGNED, policy.steps[0].channels)
        reached = _notify(session, alert, None, reminder,
                          f"reminder:{int(since.timestamp())}", set(), run, people=people)
        run.changes.set(alert, last_reminder_at=run.now)
        run.stats.reminders += 1
        if reached == 0:
            timeline.record(session, alert, run.now, [("unreachable", {"reminder": True})])
    due_at = _reminder_base(alert) + timedelta(minutes=policy.ack_reminder_minutes)
    if policy.working_hours_only:
        due_at = max(shift(due_at), due_at)
    run.changes.set(alert, next_action_at=due_at)


def _reminder_base(alert: Alert) -> datetime:
    assert alert.acknowledged_at is not None
    last = alert.last_reminder_at
    return last if last is not None and last > alert.acknowledged_at else alert.acknowledged_at


def _notify(session: Session, alert: Alert, index: int | None, step: Step, key_part: str,
            already: set[tuple[str, int]], run: _Run,
            people: list[Caseworker] | None = None, *, fallback: bool = False,
            record_skips: bool = True, why: str | None = None, cause: Source | None = None,
            not_before: datetime | None = None) -> int:
    """Enqueue the step's messages; every send and every skip goes on the timeline. Returns how
    many people were reached on at least one channel (a repeat within this run counts).
    ``cause``: say this (a trigger's source) happened, rather than the alert's own cause."""
    if people is None:
        people = recipients(session, alert, step.target)
    reminder = index is None and not fallback and cause is None
    reached: set[int] = set()
    entries: list[tuple[str, dict[str, Any]]] = []  # the timeline's, written in one statement
    for person in people:
        for channel in step.channels:
            if channel is Channel.WEBHOOK:
                continue  # the webhook gets every alert event anyway (bot.alerts.events)
            if (channel.value, person.id) in already:
                reached.add(person.id)
                continue
            address = address_for(person, channel)
            reason = None
            if run.channels is not None and channel.value not in run.channels:
                reason = "channel not configured"
            elif address is None:
                reason = MISSING_ADDRESS[channel]
            if reason is not None or address is None:
                if record_skips:
                    entries.append(("skipped", {
                        "step": index, "caseworker_id": person.id, "channel": channel.value,
                        "reason": reason, "fallback": fallback}))
                continue
            key = f"alert:{alert.id}:{key_part}:{channel.value}:{person.id}"
            body, payload = alert_texts.notification(  # Telegram's buttons carry the epoch
                alert, person, channel, reminder, run.settings, cause=cause,
                epoch=known_epoch(session, alert, run.epochs)[1] if channel is Channel.TELEGRAM
                else 0)
            if outbox.enqueue(session, channel=channel.value, recipient=address, body=body,
                              key=key,
                              kind=OutboxKind.ALERT_REMINDER if reminder else OutboxKind.ALERT,
                              caseworker_id=person.id, payload=payload,
                              not_before=not_before):
                run.stats.messages += 1
            elif outbox.status_of(session, key) in _GONE:
                continue  # queued before and died: it reaches nobody now either
            already.add((channel.value, person.id))
            reached.add(person.id)
            run.told = True
            entries.append(("notified", {
                "step": index, "target": step.target.value, "channel": channel.value,
                "caseworker_id": person.id, "reminder": reminder, "fallback": fallback,
                "key": key, **({"why": why} if why else {})}))
    timeline.record(session, alert, run.now, entries)
    return len(reached)


def notify_new_owner(session: Session, alert: Alert, person: Caseworker, settings: Settings, *,
                     channels: Collection[str] | None, handover_id: int,
                     now: datetime | None = None) -> int:
    """Tell the alert's new owner at once, on the channels of the policy's first step (a
    handover must not wait for the next escalation step). ``handover_id`` (the reassigned
    event) keys the messages, so a replay sends nothing twice. Returns 1 if they were reached."""
    if alert.state == AlertState.RESOLVED or not person.active:
        return 0
    run = _Run(settings, channels, now or utcnow(), EscalationStats())
    policy = load_policy(session, alert.team_id, alert.severity)
    step = Step(0, Target.ASSIGNED, policy.steps[0].channels)
    return _notify(session, alert, 0, step, f"handover:{handover_id}", set(), run,
                   people=[person], why="handover")
