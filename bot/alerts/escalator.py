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
step's channels; for a high or critical alert, only an e-mail: `routing.counts_as_told`), or
whose messages all died (`bot.alerts.told`), is never "done": the next step fires at once
instead of waiting out its timer. An alert with no team goes to its municipality's
intake route (`bot.alerts.routing`). When the policy is exhausted and nobody was told in this
escalation, the intake route and the team lead are notified on every configured channel; if even
that reaches nobody, or all of its messages die, the alert is flagged undelivered and stays due:
the fallback is tried again every `RETRY_UNDELIVERED`. The flag clears when a provider takes a
message (checked every `CHECK_UNDELIVERED` while one is queued) or a caseworker acts.

A dormant case's words passed on, or a reminder, whose messages all died go to the next people
who can be reached on the alert's next run (`bot.alerts.passon.retry_dead`).

`escalate_now` does the same for one alert in the caller's transaction (an inbound SMS, a
concern), so a reply can say a person was told about it only when one was.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import timeline
from bot.alerts.notify import EscalationStats, Run, notify
from bot.alerts.passon import pass_on, remind, retry_dead
from bot.alerts.policies import load_policy
from bot.alerts.routing import FALLBACK_CHANNELS, Delivery, last_resort
from bot.alerts.shifts import policy_and_hours
from bot.alerts.timetable import Policy, Step, ack_reminder_due, next_notification
from bot.alerts.told import (
    flag_undelivered,
    known_epoch,
    last_event_id,
    last_fallback_at,
    live,
    person_told,
    sent_uncounted,
    settle_told,
    told_events,
)
from bot.core import metrics
from bot.core.config import Settings
from bot.core.logs import get_logger
from bot.models import Alert, AlertEvent, AlertState, Caseworker, utcnow
from bot.models.enums import Source, Target

__all__ = ["EscalationStats", "escalate_now", "person_told", "run_escalation"]

log = get_logger(__name__)

RETRY_BROKEN = timedelta(minutes=5)  # an alert whose handling raised is tried again after this
RETRY_UNDELIVERED = timedelta(minutes=5)  # an alert that reached nobody is tried again after this
# An undelivered alert with a message queued again looks for it having been sent this often.
CHECK_UNDELIVERED = timedelta(minutes=1)


def run_escalation(sessions: sessionmaker[Session], settings: Settings, *,
                   channels: Collection[str] | None = None, now: datetime | None = None,
                   batch: int = 100) -> EscalationStats:
    """Handle every alert due at `now`; `channels` are the configured channel names (a step's
    channel that is not among them is skipped with a timeline note; None: all)."""
    run = Run(settings, channels, now or utcnow(), EscalationStats())
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
                 source: Source | str | None = None, pass_on_dormant: bool = True) -> bool:
    """Right after a trigger was raised or joined to ``alert`` (an inbound SMS, a concern), in
    the caller's transaction: perform its due escalation (a new or retriggered alert's first
    step goes into the outbox with the change that caused it); return whether a person has been
    notified about this trigger: a notification queued now, or, when it joined an escalation
    still running, that escalation's live one. A trigger on a dormant case (acknowledged, or its
    policy done) is passed on to the person holding it: the case's old notifications were about
    earlier triggers. Never while the alert is flagged undelivered (its route has been
    reaching nobody): a cry on it restarts its escalation at once, but the reply may not count
    on it. ``new``: raised in this transaction (its first escalation). ``source``:
    the trigger's (default: the alert's), named to a dormant case's holder.
    ``pass_on_dormant`` False: a dormant case keeps the trigger on its timeline (a greeting)."""
    run = Run(delivery.settings, delivery.channels, now or utcnow(), EscalationStats())
    session.flush()
    if new:
        run.epochs[alert.id] = (alert.created_at, 0)
    running = alert.state == AlertState.OPEN and alert.next_action_at is not None
    if running and alert.next_action_at is not None and alert.next_action_at <= run.now:
        _handle(session, alert, run)  # its writes are done when it returns (no flush)
    elif not (running or new) and pass_on_dormant:
        pass_on(session, alert, Source(source or alert.source), run)
    # A person notified just now is live, as person_told would find.
    told = run.told or (running and person_told(session, alert))
    if not told or alert.undelivered_at is not None:  # flagged: its route reaches nobody
        return False
    if not delivery.queued_goes_out(session, run.now):
        # In the outbox, but no worker or dispatcher has beaten for minutes: it goes out only
        # when one starts again, so nobody may be told it has reached a person yet.
        log.error("alert.no_running_sender", alert_id=alert.id)
        return False
    return True


def _postpone(sessions: sessionmaker[Session], alert_id: int, now: datetime) -> None:
    with sessions() as session, session.begin():
        alert = session.get(Alert, alert_id)
        if alert is not None:
            alert.next_action_at = now + RETRY_BROKEN
            session.add(AlertEvent(alert=alert, at=now, kind="escalation_failed",
                                   detail={"retry_at": (now + RETRY_BROKEN).isoformat()}))


def _handle(session: Session, alert: Alert, run: Run) -> None:
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
              shift: Callable[[datetime], datetime], run: Run) -> None:
    started_at, epoch = known_epoch(session, alert, run.epochs)
    already: set[tuple[str, int]] = set()  # catching up: nobody gets the same channel twice
    # Steps done but nobody told (their messages died): as if they had reached nobody, the
    # next step fires at once rather than waiting out its timer.
    fire_now = alert.steps_done > 0 and not person_told(session, alert)
    while True:
        due = next_notification(policy, raised_at=started_at, steps_done=alert.steps_done,
                                now=run.now, shift=shift)
        if due is None:
            _after_policy(session, alert, epoch, policy, shift, run)
            return
        if not (due.ready or fire_now):
            run.changes.set(alert, next_action_at=due.due_at)
            return
        reached = notify(session, alert, due.index, due.step, f"e{epoch}:step:{due.index}",
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


def _after_policy(session: Session, alert: Alert, epoch: int, policy: Policy,
                  shift: Callable[[datetime], datetime], run: Run) -> None:
    """The policy is exhausted. Done if a person was told; otherwise the intake route and the
    team lead, and if even they cannot be reached, or their messages all died: undelivered, and
    due again for a retry every RETRY_UNDELIVERED. Words passed on (or a reminder) whose
    messages all died go to the next person first (bot.alerts.passon)."""
    rows = told_events(session, alert)
    if retry_dead(session, alert, policy, shift, rows, run) or live(rows):
        return settle_told(session, alert, run.now, CHECK_UNDELIVERED)
    people = last_resort(session, alert)
    last = last_fallback_at(session, alert)
    if last is not None:  # a fallback was sent and all of it died: it reached nobody
        flag_undelivered(session, alert, run.now, RETRY_UNDELIVERED, len(people))
        if run.now < last + RETRY_UNDELIVERED:
            run.stats.undelivered += 1
            run.changes.set(alert, next_action_at=last + RETRY_UNDELIVERED)
            return
    if alert.intake_at is None and alert.team_id is not None:
        run.changes.set(alert, intake_at=run.now)  # the intake team it tells may act on it
    fallback = Step(0, Target.TEAM_LEAD, FALLBACK_CHANNELS)
    retry = alert.undelivered_at is not None  # its skips are on the timeline already
    # Keyed by the newest event, so each attempt has its own keys (a dead row's never match).
    # An e-mail about an urgent alert this escalation sent already is not sent again: it
    # would tell nobody more, every RETRY_UNDELIVERED.
    reached = notify(session, alert, None, fallback,
                     f"e{epoch}:fallback:{last_event_id(session, alert)}",
                     sent_uncounted(session, alert), run,
                     people=people, fallback=True, record_skips=not retry)
    if reached:
        return settle_told(session, alert, run.now, CHECK_UNDELIVERED)
    run.stats.undelivered += 1
    flag_undelivered(session, alert, run.now, RETRY_UNDELIVERED, len(people))
    run.changes.set(alert, next_action_at=run.now + RETRY_UNDELIVERED)


def _remind(session: Session, alert: Alert, policy: Policy,
            shift: Callable[[datetime], datetime], run: Run) -> None:
    if alert.acknowledged_at is None:
        run.changes.set(alert, next_action_at=None)
        return
    # Due because a message died (or for the reminder): a pass-on or reminder that reached
    # nobody after all goes to the next person.
    retry_dead(session, alert, policy, shift, told_events(session, alert), run)
    if ack_reminder_due(alert.acknowledged_at, alert.last_reminder_at, policy, run.now,
                        shift=shift):
        since = _reminder_base(alert)
        reached = remind(session, alert, policy, shift, f"reminder:{int(since.timestamp())}",
                         run)
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


def notify_new_owner(session: Session, alert: Alert, person: Caseworker, settings: Settings, *,
                     channels: Collection[str] | None, handover_id: int,
                     now: datetime | None = None) -> int:
    """Tell the alert's new owner at once, on the channels of the policy's first step (a
    handover must not wait for the next escalation step). ``handover_id`` (the reassigned
    event) keys the messages, so a replay sends nothing twice. Returns 1 if they were reached."""
    if alert.state == AlertState.RESOLVED or not person.active:
        return 0
    run = Run(settings, channels, now or utcnow(), EscalationStats())
    policy = load_policy(session, alert.team_id, alert.severity)
    step = Step(0, Target.ASSIGNED, policy.steps[0].channels)
    return notify(session, alert, 0, step, f"handover:{handover_id}", set(), run,
                  people=[person], why="handover")
