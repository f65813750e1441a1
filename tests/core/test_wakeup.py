"""Committing an alert or an outbox row wakes the worker; a rollback or other work does not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import raise_alert
from bot.core import outbox
from bot.core.db import transaction
from bot.core.wakeup import NOTIFY_CHANNEL, local_signal
from bot.models import CaseNote
from bot.models.enums import Source
from tests.support.factories import World


@pytest.fixture(autouse=True)
def quiet_signal() -> None:
    local_signal.wait(0)  # whatever earlier tests committed is not this test's wake-up


def _enqueue(session: Session, key: str = "k1") -> None:
    outbox.enqueue(session, channel="sms", recipient="+4528000301", body="Hej", key=key)


def test_committed_alert_wakes_in_process(session: Session, world: World) -> None:
    raise_alert(session, source=Source.NEED_HELP, summary="Anna asks for help",
                tenant=world.tenant)
    assert not local_signal.wait(0), "nothing is announced before the commit"
    session.commit()
    assert local_signal.wait(0)


def test_committed_outbox_insert_wakes_in_process(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        _enqueue(session)
    assert local_signal.wait(0)


def test_rollback_and_unrelated_commits_wake_nobody(session: Session, world: World) -> None:
    _enqueue(session)
    session.rollback()
    assert not local_signal.wait(0)
    # The rolled-back mark does not leak into the session's next transaction.
    session.add(CaseNote(tenant_id=world.tenant.id, author_id=world.caseworker.id,
                         body="Called Anna"))
    session.commit()
    assert not local_signal.wait(0)


@pytest.fixture
def listener(engine: Engine) -> Iterator[object]:
    if engine.dialect.name != "postgresql":
        pytest.skip("NOTIFY is PostgreSQL's; SQLite wakes in-process only")
    import psycopg

    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    with psycopg.connect(*cargs, **cparams, autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        yield conn


def _notified(conn: object) -> int:
    """Notifications for this test's schema: other runs in other schemas of the same database
    notify on the same channel (that is why the payload names the schema)."""
    schema = conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[attr-defined]
    return sum(1 for n in conn.notifies(timeout=0.3)  # type: ignore[attr-defined]
               if n.payload == schema)


def test_postgres_notify_is_sent_with_the_commit_only(listener: object,
                                                      sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        _enqueue(session, "a")
        session.flush()
        assert _notified(listener) == 0, "NOTIFY must wait for the commit"
        session.commit()
        assert _notified(listener) >= 1, "the commit notifies, and the payload names this schema"
        _enqueue(session, "b")
        session.rollback()
        assert _notified(listener) == 0, "a rolled-back enqueue wakes nobody"
