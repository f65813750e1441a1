"""Putting an alert's notifications in the outbox: one row per person per channel, each with
its idempotency key, and every send and skip on the alert's timeline. Shared by the escalator
(steps, fallback, reminders, handovers) and by passing a tenant's words on (bot.alerts.passon).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.alerts import texts as alert_texts
from bot.alerts import timeline
from bot.alerts.routing import MISSING_ADDRESS, address_for, counts_as_told, recipients
from bot.alerts.timetable import Policy, Step
from bot.alerts.told import known_epoch
from bot.core import outbox
from bot.core.config import Settings
from bot.models import Alert, Caseworker, OutboxStatus
from bot.models.enums import Channel, OutboxKind, Source

__all__ = ["GONE", "EscalationStats", "Run", "notify"]

GONE = (OutboxStatus.DEAD, OutboxStatus.CANCELLED)  # an outbox row that will never be sent


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
class Run:
    """One escalation run (or one request's `escalate_now`): what it may send through, its
    moment, and what it has learnt so far."""

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


def notify(session: Session, alert: Alert, index: int | None, step: Step, key_part: str,
           already: set[tuple[str, int]], run: Run,
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
            # An e-mail about an urgent alert is sent, but reaches nobody in time: the
            # escalation goes on as if it had not been (routing.counts_as_told).
            counted = counts_as_told(alert.severity, channel)
            if (channel.value, person.id) in already:
                if counted:
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
            elif outbox.status_of(session, key) in GONE:
                continue  # queued before and died: it reaches nobody now either
            already.add((channel.value, person.id))
            if counted:
                reached.add(person.id)
                run.told = True
            entries.append(("notified", {
                "step": index, "target": step.target.value, "channel": channel.value,
                "caseworker_id": person.id, "reminder": reminder, "fallback": fallback,
                "key": key, "counted": counted, **({"why": why} if why else {}),
                # A passed-on trigger's source: a retry names it again (bot.alerts.passon).
                **({"cause": cause.value} if cause else {})}))
    timeline.record(session, alert, run.now, entries)
    return len(reached)
