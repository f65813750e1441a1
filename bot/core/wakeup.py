"""Waking the worker when work is committed, so an alert does not wait for the next poll.

Any session that inserts into ``alerts`` or ``outbox`` and commits wakes the worker:

* PostgreSQL: a notification on ``trygthjem_work`` is sent inside the same transaction
  (PostgreSQL delivers it only if, and when, the transaction commits), for workers in other
  processes that LISTEN. NOTIFY is database-wide, so its payload is the schema the work was
  committed in (``current_schema()``, from the connection's search_path) and a listener acts only
  on its own schema's (:func:`is_own_schema`): a test run or a second deployment in another
  schema of the same database wakes nobody here;
* every database: after the commit, an in-process signal for a worker in this same process
  (the demo runs web and worker in one).

A rolled-back transaction wakes nobody. Waking is only a hint: the worker's polling stays the
safety net, so a lost notification (a worker restarting, a dropped LISTEN connection) costs
at most one poll interval, never a message.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

NOTIFY_CHANNEL = "trygthjem_work"
# Rows a worker must act on at once: a new alert (escalation) or a message to send (dispatch).
WAKE_TABLES = frozenset({"alerts", "outbox"})
_PENDING = "trygthjem_wake_worker"  # key in Session.info: this transaction has work to announce
# The schema this connection's unqualified table names resolve to; '' when none (NULL).
CURRENT_SCHEMA_SQL = "SELECT coalesce(current_schema(), '')"
_NOTIFY = text("SELECT pg_notify(:channel, coalesce(current_schema(), ''))")


def is_own_schema(payload: str, schema: str) -> bool:
    """Whether a notification's payload announces work in ``schema`` (the listener's own)."""
    return payload == schema


class Signal:
    """An in-process wake-up: set by commits, awaited by the worker; repeated sets coalesce."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def wait(self, timeout: float | None) -> bool:
        """Wait until set (or `timeout` seconds); True if woken. Clears it for the next wait."""
        woken = self._event.wait(timeout)
        self._event.clear()
        return woken


# One per process: commits in any thread set it, the worker's fast lane waits on it.
local_signal = Signal()


def announce(session: Session) -> None:
    """Mark the session's current transaction as creating work the worker must do now."""
    session.info[_PENDING] = True


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    # ORM objects (e.g. raise_alert's Alert) are visible in session.new during after_flush.
    if any(getattr(obj, "__tablename__", None) in WAKE_TABLES for obj in session.new):
        announce(session)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    # Core-style INSERTs through the session (outbox.enqueue's ON CONFLICT DO NOTHING).
    if state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in WAKE_TABLES:
            announce(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # before_commit runs before the commit's own flush: look at objects still waiting for it.
    if any(getattr(obj, "__tablename__", None) in WAKE_TABLES for obj in session.new):
        announce(session)
    if not session.info.get(_PENDING):
        return
    bind: Any = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Queued by PostgreSQL and delivered at COMMIT, never for a rollback; the payload
        # names this schema, so workers of other schemas in the database stay asleep.
        session.connection().execute(_NOTIFY, {"channel": NOTIFY_CHANNEL})


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        local_signal.set()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
