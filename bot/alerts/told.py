"""Whether a person has been told about an alert: the promise every reply to a tenant or
landlord rests on. A message counts from when it is enqueued until it dies at the provider; a
dead letter makes the alert due again at once, so the escalator moves on to the next step, or
to the intake route and the team lead.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from bot.core.logs import get_logger
from bot.models import Alert, AlertEvent, AlertState, utcnow

log = get_logger(__name__)

# Events that start a new escalation of the same alert (its first one starts at the raise).
EPOCH_KINDS = ("reopened", "retriggered")


@functools.cache
def _epoch_sql() -> Select[datetime, int]:
    return (select(AlertEvent.at, AlertEvent.id)
            .where(AlertEvent.alert_id == bindparam("alert_id"),
                   AlertEvent.kind.in_(EPOCH_KINDS))
            .order_by(AlertEvent.id.desc()).limit(1))


@functools.cache
def _told_sql() -> Select[str, Any]:
    # One statement: the epoch (the last reopen or retrigger, else 0) as a subquery.
    epoch = select(func.max(AlertEvent.id)).where(
        AlertEvent.alert_id == bindparam("alert_id"),
        AlertEvent.kind.in_(EPOCH_KINDS)).scalar_subquery()
    return (select(AlertEvent.kind, AlertEvent.detail)
            .where(AlertEvent.alert_id == bindparam("alert_id"),
                   AlertEvent.id > func.coalesce(epoch, 0),
                   AlertEvent.kind.in_(["notified", "notification_failed"]))
            .order_by(AlertEvent.id))


def escalation_epoch(session: Session, alert: Alert) -> tuple[datetime, int]:
    """When the current escalation started, and an id for it: the last reopen or retrigger, or
    the raise (0)."""
    row = session.execute(_epoch_sql(), {"alert_id": alert.id}).first()
    return (row[0], row[1]) if row is not None else (alert.created_at, 0)


def person_told(session: Session, alert: Alert) -> bool:
    """Whether a notification to a person was enqueued since the current escalation began and
    has not since died at the provider (a dead letter told nobody)."""
    live: set[tuple[object, object]] = set()
    for kind, detail in session.execute(_told_sql(), {"alert_id": alert.id}):
        who = (detail.get("caseworker_id"), detail.get("channel"))
        if kind == "notified":
            live.add(who)
        else:
            live.discard(who)
    return bool(live)


_ALERT_KEY = re.compile(r"^alert:(\d{1,9}):")  # ids fit 32 bits


def notification_died(session: Session, key: str, caseworker_id: int | None, channel: str,
                      error: str, now: datetime | None = None) -> Alert | None:
    """An alert's message to a caseworker was dead-lettered: put it on the timeline and make the
    alert due at once, so the escalator moves on (next step, or intake and team lead) instead of
    counting a message nobody received as "a person was told"."""
    match = _ALERT_KEY.match(key)
    alert = session.get(Alert, int(match.group(1))) if match else None
    if alert is None:
        return None
    now = now or utcnow()
    session.add(AlertEvent(alert=alert, at=now, kind="notification_failed", detail={
        "caseworker_id": caseworker_id, "channel": channel, "error": error[:200]}))
    if alert.state != AlertState.RESOLVED:
        alert.next_action_at = now
    log.warning("alert.notification_died", alert_id=alert.id, channel=channel)
    return alert
