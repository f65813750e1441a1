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
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from bot.alerts import events as alert_webhook
from bot.core import wakeup
from bot.models import Alert, AlertEvent

__all__ = ["insert_alert", "record", "update_alert"]

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


@functools.cache
def _update_sql(columns: tuple[str, ...]) -> Any:
    # One per set of columns written together (a join, a retrigger, an escalation step).
    return (update(ALERTS).where(ALERTS.c.id == bindparam("alert_id"))
            .values({name: bindparam(name) for name in columns}))


def insert_alert(session: Session, values: Mapping[str, Any],
                 related: Mapping[str, object | None]) -> Alert:
    """INSERT a new alert (``values``: every column but the id) and return it as a clean,
    persistent object of ``session``; ``related``: relationship objects already at hand
    (tenant, owner, ...), so reading them later costs no query."""
    new_id = session.connection().execute(_INSERT_ALERT, dict(values)).scalar_one()
    alert = Alert(id=new_id, **values)
    for key, obj in related.items():
        if obj is not None:
            setattr(alert, key, obj)
    make_transient_to_detached(alert)  # as if loaded: all history reset
    session.add(alert)
    wakeup.announce(session)  # a new alert: the worker's escalation job must look at it
    return alert


def update_alert(session: Session, alert: Alert, values: Mapping[str, Any]) -> None:
    """Write ``values`` (column: value) to the alert's row and to ``alert`` itself."""
    if not values:
        return
    columns = tuple(sorted(values))
    session.connection().execute(_update_sql(columns), {"alert_id": alert.id, **values})
    for name in columns:
        set_committed_value(alert, name, values[name])


def record(session: Session, alert: Alert, at: datetime,
           entries: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Append events (kind, detail) to the alert's timeline, in order, in one statement; the
    outgoing webhook (when on) gets those it reports."""
    rows = [{"alert_id": alert.id, "at": at, "kind": kind, "actor": "system", "detail": detail}
            for kind, detail in entries]
    if not rows:
        return
    conn = session.connection()
    if alert_webhook.enabled(session) and any(r["kind"] in alert_webhook.EVENTS for r in rows):
        ids = conn.execute(_INSERT_EVENTS_RETURNING, rows).scalars().all()
        for event_id, row in zip(ids, rows, strict=True):
            alert_webhook.emit(session, alert, AlertEvent(id=event_id, **row))
    else:
        conn.execute(_INSERT_EVENTS, rows)
    if "events" in instance_dict(alert):  # a timeline loaded before: read it again when used
        session.expire(alert, ["events"])
