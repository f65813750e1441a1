"""Whether a person has been told about an alert: the promise every reply to a tenant or landlord
rests on. A message on a channel that counts for the alert's severity (no e-mail for an urgent
alert: `bot.alerts.routing.counts_as_told`) counts from when it is enqueued until it dies at the
provider; a dead letter makes the alert due again at once, so the escalator moves on to the next
step, or to the intake route and the team lead. Also the undelivered flag: set when even that
fallback reached nobody or all of it died, cleared only when a provider took a message (queued is
not enough for an alert that has already failed to reach anyone) or a caseworker acts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from bot.alerts import events as alert_webhook
from bot.alerts.routing import counts_as_told
from bot.core.logs import get_logger
from bot.models import Alert, AlertEvent, AlertState, OutboxItem, OutboxStatus, utcnow

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
def _told_sql() -> Select[str, Any, datetime]:
    # One statement: the epoch (the last reopen or retrigger, else 0) as a subquery.
    epoch = select(func.max(AlertEvent.id)).where(
        AlertEvent.alert_id == bindparam("alert_id"),
        AlertEvent.kind.in_(EPOCH_KINDS)).scalar_subquery()
    return (select(AlertEvent.kind, AlertEvent.detail, AlertEvent.at)
            .where(AlertEvent.alert_id == bindparam("alert_id"),
                   AlertEvent.id > func.coalesce(epoch, 0),
                   AlertEvent.kind.in_(["notified", "notification_failed"]))
            .order_by(AlertEvent.id))


@functools.cache
def _last_event_sql() -> Select[int]:
    return select(func.coalesce(func.max(AlertEvent.id), 0)).where(
        AlertEvent.alert_id == bindparam("alert_id"))


@functools.cache
def _accepted_sql() -> Select[int]:
    return select(OutboxItem.id).where(
        OutboxItem.idempotency_key.in_(bindparam("keys", expanding=True)),
        OutboxItem.status == OutboxStatus.SENT).limit(1)


def known_epoch(session: Session, alert: Alert,
                known: dict[int, tuple[datetime, int]]) -> tuple[datetime, int]:
    """`escalation_epoch`, read once per run: ``known`` (by alert id) keeps it. Its id goes into
    every Telegram button, so a button from an earlier escalation acts on nothing."""
    if alert.id not in known:
        known[alert.id] = escalation_epoch(session, alert)
    return known[alert.id]


def escalation_epoch(session: Session, alert: Alert) -> tuple[datetime, int]:
    """When the current escalation started, and an id for it: the last reopen or retrigger, or
    the raise (0)."""
    row = session.execute(_epoch_sql(), {"alert_id": alert.id}).first()
    return (row[0], row[1]) if row is not None else (alert.created_at, 0)


ToldRow = tuple[str, dict[str, Any], datetime]  # an event's kind, detail and time


def told_events(session: Session, alert: Alert) -> list[ToldRow]:
    """The current escalation's `notified` events that told a person and its
    `notification_failed` events, oldest first. An e-mail about an urgent alert is sent but
    tells nobody (`bot.alerts.routing.counts_as_told`): it is left out."""
    return [(kind, detail or {}, at) for kind, detail, at
            in session.execute(_told_sql(), {"alert_id": alert.id})
            if kind != "notified" or _counted(alert, detail or {})]


def _counted(alert: Alert, detail: dict[str, Any]) -> bool:
    counted = detail.get("counted")
    if counted is None:  # recorded before "counted" was: the same rule
        return counts_as_told(alert.severity, str(detail.get("channel")))
    return bool(counted)


def live(rows: Iterable[ToldRow]) -> dict[object, dict[str, Any]]:
    """Of `told_events`, the notifications not since dead, by key. A death names its message's
    key, so a dead pass-on is not the death of the escalation's own message to the same person;
    one recorded before deaths named keys kills that person's earlier ones on that channel."""
    found: dict[object, dict[str, Any]] = {}
    for kind, detail, _at in rows:
        who = (detail.get("caseworker_id"), detail.get("channel"))
        if kind == "notified":
            found[detail.get("key") or who] = detail
        elif detail.get("key"):
            found.pop(detail["key"], None)
            found.pop(who, None)  # a notification recorded without its key
        else:
            for key in [k for k, d in found.items()
                        if (d.get("caseworker_id"), d.get("channel")) == who]:
                del found[key]
    return found


def person_told(session: Session, alert: Alert) -> bool:
    """Whether a notification to a person was enqueued since the current escalation began and
    has not since died at the provider (a dead letter told nobody), on a channel that counts
    for the alert's severity (`bot.alerts.routing.counts_as_told`: no e-mail when urgent)."""
    return bool(live(told_events(session, alert)))


def sent_uncounted(session: Session, alert: Alert) -> set[tuple[str, int]]:
    """(channel, caseworker id) of the current escalation's notifications that were sent but
    told nobody (an e-mail about an urgent alert, `routing.counts_as_told`)."""
    return {(str(d["channel"]), int(d["caseworker_id"])) for kind, d, _at
            in session.execute(_told_sql(), {"alert_id": alert.id})
            if kind == "notified" and d.get("counted") is False and d.get("caseworker_id")}


def provider_accepted(session: Session, alert: Alert) -> bool:
    """Whether a live notification of the current escalation was taken by its provider (sent):
    more than queued, which is what clears an alert's undelivered flag."""
    keys = [d["key"] for d in live(told_events(session, alert)).values() if d.get("key")]
    return bool(keys) and session.scalar(_accepted_sql(), {"keys": keys}) is not None


def flag_undelivered(session: Session, alert: Alert, now: datetime, retry_in: timedelta,
                     intake_people: int) -> None:
    """Nobody was reached, even through the fallback: flag the alert (once) for every queue,
    the log and the outgoing webhook."""
    if alert.undelivered_at is not None:
        return
    alert.undelivered_at = now
    event = AlertEvent(alert=alert, at=now, kind="undelivered", detail={
        "retry_at": (now + retry_in).isoformat(), "intake_people": intake_people})
    session.add(event)
    alert_webhook.emit(session, alert, event)
    log.error("alert.undelivered", alert_id=alert.id, organisation_id=alert.organisation_id)


def settle_told(session: Session, alert: Alert, now: datetime, check_in: timedelta) -> None:
    """A person was told (a live message) and the policy is done. An alert flagged undelivered
    is cleared only once a provider took one of its messages (a queued one may die too): until
    then it looks again after ``check_in``."""
    if alert.undelivered_at is not None and not provider_accepted(session, alert):
        alert.next_action_at = now + check_in
        return
    alert.next_action_at = None
    if alert.undelivered_at is not None:
        alert.undelivered_at = None
        event = AlertEvent(alert=alert, at=now, kind="delivered", detail={})
        session.add(event)
        alert_webhook.emit(session, alert, event)


def last_fallback_at(session: Session, alert: Alert) -> datetime | None:
    """When the current escalation last notified someone through the fallback (intake route
    and team lead), or None."""
    return max((at for kind, detail, at in session.execute(_told_sql(), {"alert_id": alert.id})
                if kind == "notified" and detail.get("fallback")), default=None)


def last_event_id(session: Session, alert: Alert) -> int:
    """The id of the alert's newest timeline event (0: none): it tells one attempt from the
    next, even within one second."""
    return session.scalar(_last_event_sql(), {"alert_id": alert.id}) or 0


_ALERT_KEY = re.compile(r"^alert:(\d{1,9}):")  # ids fit 32 bits


# An alert's message that has failed this many attempts and is still being retried (the
# provider down, our credentials refused, rate limited: maybe an hour of backoff before it is
# dead-lettered) no longer counts as telling its person: the escalation moves on meanwhile.
# Two, not one: a single blip of the provider is retried within seconds and goes through.
UNREACHED_AFTER_ATTEMPTS = 2


def notification_died(session: Session, key: str, caseworker_id: int | None, channel: str,
                      error: str, now: datetime | None = None, *,
                      retrying: bool = False) -> Alert | None:
    """An alert's message to a caseworker was dead-lettered (or, ``retrying``, has failed
    UNREACHED_AFTER_ATTEMPTS times and waits for another try): put it on the timeline and make
    the alert due at once, so the escalator moves on (next step, or intake and team lead)
    instead of counting a message nobody received as "a person was told". A retry that later
    goes through reaches its person late, on top of the fallback: told twice beats never."""
    match = _ALERT_KEY.match(key)
    alert = session.get(Alert, int(match.group(1))) if match else None
    if alert is None:
        return None
    now = now or utcnow()
    # The key tells which message died, not only whose: a pass-on's death is not the death
    # of the escalation's own message to the same person (bot.alerts.passon).
    detail = {"caseworker_id": caseworker_id, "channel": channel, "key": key,
              "error": error[:200]}
    if retrying:
        detail["retrying"] = True
    session.add(AlertEvent(alert=alert, at=now, kind="notification_failed", detail=detail))
    if alert.state != AlertState.RESOLVED:
        alert.next_action_at = now
    log.warning("alert.notification_retrying" if retrying else "alert.notification_died",
                alert_id=alert.id, channel=channel)
    return alert
