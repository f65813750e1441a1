"""What an operator needs to know about the running service, read from the database.

One snapshot feeds both the Prometheus gauges (`bot.ops.collector`, at scrape time) and
`trygthjem status`. Deployment-wide and free of personal data: counts, ages, channels, reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from bot.models import Alert, AlertState, Message, OutboxItem, OutboxStatus, utcnow
from bot.models.enums import OutboxPriority
from bot.models.messaging import STUCK, UNPROCESSED
from bot.ops.heartbeat import ProcessHealth, bot_health, worker_health

ACTIVE = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
DEAD_LETTER_SAMPLE = 10


@dataclass(frozen=True)
class DeadLetter:
    id: int
    channel: str
    kind: str
    created_at: datetime
    reason: str


@dataclass
class Snapshot:
    now: datetime
    worker: ProcessHealth
    bot: ProcessHealth  # the polling Telegram bot (`trygthjem bot`); never seen in webhook mode
    # (channel, status) -> rows; sent rows only with include_sent (they grow without bound).
    outbox: dict[tuple[str, str], int] = field(default_factory=dict)
    # channel -> seconds the oldest due row has waited (pending and due, or an expired lease).
    oldest_due_seconds: dict[str, float] = field(default_factory=dict)
    # channel -> the same for alert messages only (OutboxPriority.ALERT): they go before any
    # queued check-in, so this stays near zero even while a morning's prompts are going out.
    oldest_due_alert_seconds: dict[str, float] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # (severity, state) -> active alerts
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    # severity -> seconds since the oldest unacknowledged (open) alert was raised
    oldest_unacknowledged_seconds: dict[str, float] = field(default_factory=dict)
    # severity -> open alerts whose policy has run every step and repeat, still unacknowledged
    past_policy: dict[str, int] = field(default_factory=dict)
    # active alerts the escalator flagged undelivered: no step and not even the intake route
    # reached a person (bot.alerts.escalator sets and clears Alert.undelivered_at)
    undelivered_alert_ids: list[int] = field(default_factory=list)
    # inbound SMS whose processing failed again and again (bot.tenants.stranded): nothing has
    # acted on what the tenant wrote; the worker still retries them hourly
    stuck_inbound_ids: list[int] = field(default_factory=list)


def snapshot(session: Session, *, now: datetime | None = None,
             include_sent: bool = False) -> Snapshot:
    now = now or utcnow()
    snap = Snapshot(now=now, worker=worker_health(session, now), bot=bot_health(session, now))
    states = [s.value for s in OutboxStatus if include_sent or s not in (
        OutboxStatus.SENT, OutboxStatus.CANCELLED)]
    for channel, status, count in session.execute(
            select(OutboxItem.channel, OutboxItem.status, func.count())
            .where(OutboxItem.status.in_(states))
            .group_by(OutboxItem.channel, OutboxItem.status)):
        snap.outbox[(channel, status)] = count
    due = or_(and_(OutboxItem.status == OutboxStatus.PENDING, OutboxItem.next_attempt_at <= now),
              and_(OutboxItem.status == OutboxStatus.SENDING, OutboxItem.locked_until <= now))
    for channel, priority, oldest in session.execute(
            select(OutboxItem.channel, OutboxItem.priority, func.min(OutboxItem.next_attempt_at))
            .where(due).group_by(OutboxItem.channel, OutboxItem.priority)):
        age = _seconds(now - oldest)
        snap.oldest_due_seconds[channel] = max(age, snap.oldest_due_seconds.get(channel, 0.0))
        if priority == OutboxPriority.ALERT:
            snap.oldest_due_alert_seconds[channel] = age
    snap.dead_letters = [
        DeadLetter(r.id, r.channel, r.kind, r.created_at, (r.last_error or "")[:200])
        for r in session.execute(
            select(OutboxItem.id, OutboxItem.channel, OutboxItem.kind, OutboxItem.created_at,
                   OutboxItem.last_error).where(OutboxItem.status == OutboxStatus.DEAD)
            .order_by(OutboxItem.id.desc()).limit(DEAD_LETTER_SAMPLE))]
    for severity, state, count in session.execute(
            select(Alert.severity, Alert.state, func.count()).where(Alert.state.in_(ACTIVE))
            .group_by(Alert.severity, Alert.state)):
        snap.alerts[(severity, state)] = count
    for severity, oldest, exhausted in session.execute(
            select(Alert.severity, func.min(Alert.created_at),
                   # next_action_at is cleared once the policy has no step left to take
                   func.sum(case((Alert.next_action_at.is_(None), 1), else_=0)))
            .where(Alert.state == AlertState.OPEN).group_by(Alert.severity)):
        snap.oldest_unacknowledged_seconds[severity] = _seconds(now - oldest)
        snap.past_policy[severity] = int(exhausted or 0)
    snap.undelivered_alert_ids = list(session.scalars(
        select(Alert.id).where(Alert.state.in_(ACTIVE), Alert.undelivered_at.is_not(None))
        .order_by(Alert.id)))
    snap.stuck_inbound_ids = list(session.scalars(
        select(Message.id).where(text(UNPROCESSED), Message.status == STUCK)
        .order_by(Message.id)))
    return snap


def _seconds(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds())
