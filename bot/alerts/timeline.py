"""Writing an alert's row and its timeline with statements built once, past the unit of work.

The request that raises an alert (an inbound SMS, a concern) writes the alert, its events and
its first escalation step in its own transaction. Through ORM objects that was two flushes, a
third of the request's Python work (docs/performance.md, "Inbound webhook: where the time
goes"). Here each write is one prebuilt Core statement, and the `Alert` object callers hold is
kept in step with what was written (`set_committed_value`): it stays clean, so there is nothing
left for a flush to do, and reading it again costs no query.

The raise, the join and the escalator write alerts and events here; the rarer writers (a
caseworker's action, a note, a dead letter) still add ORM objects, which is the same rows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, literal, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from bot.alerts import events as alert_webhook
from bot.core import wakeup
from bot.models import Alert, AlertEvent

__all__ = ["Pending", "insert_alert", "record", "update_alert"]

ALERTS = cast(Table, Alert.__table__)
EVENTS = cast(Table, AlertEvent.__table__)
# Every column but the id: a new alert's object is complete, so no attribute loads lazily.
ALERT_COLUMNS = tuple(c.name for c in ALERTS.columns if c.name != "id")
_INSERT_ALERT = (insert(ALERTS).values({name: bindparam(name) for name in ALERT_COLUMNS})
                 .returning(ALERTS.c.id))
_INSERT_EVENTS = insert(EVENTS).values(
    alert_id=bindparam("alert_id"), at=bindparam("at"), kind=bindparam("kind"),
    actor=bindparam("actor"), detail=bindparam("detail"))
_INSERT_EVENTS_RETURNING = _INSERT_EVENTS.returning(EVENTS.c.id, sort_by_parameter_order=True)


# PostgreSQL runs a data-modifying WITH clause exactly once, in the same statement: there an
# alert and its first event, or a change and its event, are one round trip. SQLite has no
# data-modifying WITH: two statements there.
@functools.cache
def _raise_sql() -> Any:
    new = _INSERT_ALERT.cte("new_alert")
    return (insert(EVENTS)
            .from_select(["alert_id", "at", "kind", "actor", "detail"], select(
                new.c.id, bindparam("event_at", type_=EVENTS.c.at.type), literal("raised"),
                literal("system"), bindparam("event_detail", type_=EVENTS.c.detail.type)))
            .returning(EVENTS.c.alert_id, EVENTS.c.id))


@functools.cache
def _update_sql(columns: tuple[str, ...]) -> Any:
    # One per set of columns written together (a join, a retrigger, an escalation step). Bound
    # as new_<column>: a key named like a column would set it in any statement it reaches,
    # and in the WITH form below the keys reach the event's INSERT too.
    return (update(ALERTS).where(ALERTS.c.id == bindparam("alert_id"))
            .values({name: bindparam(f"new_{name}") for name in columns}))


@functools.cache
def _update_and_record_sql(columns: tuple[str, ...]) -> Any:
    return _INSERT_EVENTS.add_cte(_update_sql(columns).cte("changed"))


def insert_alert(session: Session, values: Mapping[str, Any],
                 related: Mapping[str, object | None], raised: dict[str, Any]) -> Alert:
    """INSERT a new alert (``values``: every column but the id) and its "raised" event
    (``raised``: its detail); return the alert as a clean, persistent object of ``session``.
    ``related``: relationship objects already at hand (tenant, owner, ...), so reading them
    later costs no query."""
    conn = session.connection()
    event_id = None
    if conn.dialect.name == "postgresql":
        new_id, event_id = conn.execute(_raise_sql(), {
            **values, "event_at": values["created_at"], "event_detail": raised}).one()
    else:
        new_id = conn.execute(_INSERT_ALERT, dict(values)).scalar_one()
    alert = Alert(id=new_id, **values)
    for key, obj in related.items():
        if obj is not None:
            setattr(alert, key, obj)
    make_transient_to_detached(alert)  # as if loaded: all history reset
    session.add(alert)
    wakeup.announce(session)  # a new alert: the worker's escalation job must look at it
    if event_id is None:
        record(session, alert, values["created_at"], [("raised", raised)])
    elif alert_webhook.enabled(session):
        _emit(session, alert, [event_id], [_row(alert, values["created_at"], "raised", raised)])
    return alert


class Pending:
    """An alert's columns changed step by step (the escalator): each change is seen by the
    object at once, and `write` writes them all in one UPDATE. What is written is the object's
    value at that time, so a change made meanwhile through the ORM (bot.alerts.told) is not
    overwritten by an older one."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def set(self, alert: Alert, **values: Any) -> None:
        for name, value in values.items():
            set_committed_value(alert, name, value)
        self.names.update(values)

    def write(self, session: Session, alert: Alert) -> None:
        update_alert(session, alert, {name: getattr(alert, name) for name in self.names})
        self.names = set()


def update_alert(session: Session, alert: Alert, values: Mapping[str, Any],
                 event: tuple[datetime, str, dict[str, Any]] | None = None) -> None:
    """Write ``values`` (column: value) to the alert's row and to ``alert`` itself, and with
    them ``event`` (at, kind, detail) to its timeline."""
    columns = tuple(sorted(values))
    if not columns and event is None:
        return
    params = {"alert_id": alert.id, **{f"new_{name}": values[name] for name in columns}}
    session.flush()  # what the ORM holds first: rows and timeline in the order they were made
    conn = session.connection()
    together = (event is not None and bool(columns) and conn.dialect.name == "postgresql"
                and event[1] not in alert_webhook.EVENTS)  # a reported event needs its id
    if together:
        assert event is not None
        conn.execute(_update_and_record_sql(columns), {**params, **_row(alert, *event)})
    elif columns:
        conn.execute(_update_sql(columns), params)
    for name in columns:
        set_committed_value(alert, name, values[name])
    if together:
        _expire_timeline(session, alert)
    elif event is not None:
        record(session, alert, event[0], [(event[1], event[2])])


def record(session: Session, alert: Alert, at: datetime,
           entries: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Append events (kind, detail) to the alert's timeline, in order, in one statement; the
    outgoing webhook (when on) gets those it reports."""
    rows = [_row(alert, at, kind, detail) for kind, detail in entries]
    if not rows:
        return
    session.flush()  # an event the ORM holds comes first on the timeline, as it was made first
    conn = session.connection()
    if alert_webhook.enabled(session) and any(r["kind"] in alert_webhook.EVENTS for r in rows):
        ids = conn.execute(_INSERT_EVENTS_RETURNING, rows).scalars().all()
        _emit(session, alert, ids, rows)
    else:
        conn.execute(_INSERT_EVENTS, rows)
    _expire_timeline(session, alert)


def _row(alert: Alert, at: datetime, kind: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"alert_id": alert.id, "at": at, "kind": kind, "actor": "system", "detail": detail}


def _emit(session: Session, alert: Alert, ids: Sequence[int],
          rows: Sequence[dict[str, Any]]) -> None:
    for event_id, row in zip(ids, rows, strict=True):
        alert_webhook.emit(session, alert, AlertEvent(id=event_id, **row))


def _expire_timeline(session: Session, alert: Alert) -> None:
    if "events" in instance_dict(alert):  # a timeline loaded before: read it again when used
        session.expire(alert, ["events"])
