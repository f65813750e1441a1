"""Bulk INSERT .. ON CONFLICT DO NOTHING (bot/core/bulk.py): the same rows as a Core insert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, func, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from bot.core import outbox
from bot.core.bulk import insert_new_rows
from bot.core.db import insert_for
from bot.core.wakeup import local_signal
from bot.models import OutboxItem, OutboxStatus
from bot.models.enums import OutboxPriority
from tests.support.factories import World, make_world

TABLE = cast(Table, OutboxItem.__table__)
COMPARED = [c.name for c in TABLE.columns if c.name not in ("id", "idempotency_key")]
WHEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _rows(prefix: str, world: World) -> list[dict[str, Any]]:
    """Awkward values for COPY's text format and for the column types' bind processing."""
    bodies = ["plain", "tab\there", "new\nline\r\n", "back\\slash \\N", "Zoë “citat” 😀", "",
              "\\.", "end\\"]
    payloads: list[dict[str, Any]] = [{}, {"a": [1, "ø", None]}, {"nested": {"x": True}}, {}]
    return [dict(idempotency_key=f"{prefix}:{i}", channel="sms", recipient=f"+452900{i:04d}",
                 body=body, kind="checkin" if i % 2 else "reply",
                 next_attempt_at=WHEN + timedelta(minutes=i) if i % 3 else WHEN,
                 tenant_id=world.tenant.id if i % 2 else None,
                 caseworker_id=world.caseworker.id if i % 3 == 0 else None, landlord_id=None,
                 payload=payloads[i % len(payloads)], status=OutboxStatus.PENDING, attempts=i,
                 priority=OutboxPriority(i % 3),
                 created_at=WHEN.astimezone(timezone(timedelta(hours=2))))  # stored as UTC
            for i, body in enumerate(bodies)]


def _stored(session: Session, prefix: str) -> list[tuple[Any, ...]]:
    query = (select(*[TABLE.c[n] for n in COMPARED])
             .where(TABLE.c.idempotency_key.startswith(f"{prefix}:"))
             .order_by(func.length(TABLE.c.idempotency_key), TABLE.c.idempotency_key))
    return [tuple(row) for row in session.execute(query)]


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


def _staging_tables(session: Session) -> int:
    return session.scalar(text(
        "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'stage_outbox_%' "
        "AND schemaname = (SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema())"
    )) or 0


@pytest.mark.parametrize("queued", [False, True], ids=["new-keys", "a-key-queued-already"])
def test_the_same_rows_as_a_core_insert(session: Session, world: World, queued: bool) -> None:
    """PostgreSQL: new keys are COPied straight in; one key queued already sends the rows
    through the staging table and ON CONFLICT DO NOTHING instead. Both store what a Core
    insert stores."""
    if queued:
        for prefix in ("core", "bulk"):
            outbox.enqueue(session, channel="sms", recipient="+4529000000", body="first",
                           key=f"{prefix}:3")
    session.execute(insert_for(session)(TABLE).on_conflict_do_nothing(
        index_elements=["idempotency_key"]), _rows("core", world))
    insert_new_rows(session, TABLE, _rows("bulk", world), ["idempotency_key"])
    if session.get_bind().dialect.name == "postgresql":
        assert _staging_tables(session) == (1 if queued else 0)
    session.commit()
    body = COMPARED.index("body")
    core, bulk = _stored(session, "core"), _stored(session, "bulk")
    assert len(bulk) == 8 and bulk[3][body] == ("first" if queued else "back\\slash \\N")
    assert [r for r in bulk if r[body] != "first"] == [r for r in core if r[body] != "first"]
    assert {row[COMPARED.index("priority")] for row in bulk} == {0, 1, 2}


def test_existing_and_repeated_keys_are_left_alone(session: Session, world: World) -> None:
    outbox.enqueue(session, channel="sms", recipient="+4529000000", body="first", key="k:1")
    rows = _rows("k", world)[:3]  # k:0, k:1 (already queued), k:2
    insert_new_rows(session, TABLE, [*rows, {**rows[2], "body": "again"}], ["idempotency_key"])
    session.commit()
    bodies = dict(session.execute(select(OutboxItem.idempotency_key, OutboxItem.body)).all())
    assert bodies["k:1"] == "first"
    assert sorted(bodies) == ["k:0", "k:1", "k:2"] and bodies["k:2"] in ("new\nline\r\n", "again")


def test_two_calls_in_one_transaction_and_after_a_rollback(sessions: sessionmaker[Session],
                                                           world: World) -> None:
    rows = _rows("t", world)
    with sessions() as s:
        insert_new_rows(s, TABLE, rows[:4], ["idempotency_key"])
        s.rollback()  # the staging table, made in this transaction, is gone with it
        insert_new_rows(s, TABLE, rows[:4], ["idempotency_key"])
        insert_new_rows(s, TABLE, rows[4:], ["idempotency_key"])
        assert s.scalar(select(func.count()).select_from(OutboxItem)) == 8  # no row twice
        s.commit()


def test_missing_columns_get_their_defaults(session: Session) -> None:
    insert_new_rows(session, TABLE, [dict(idempotency_key="d:1", channel="sms",
                                          recipient="+4529000001")], ["idempotency_key"])
    session.commit()
    item = session.scalars(select(OutboxItem)).one()
    assert (item.body, item.kind, item.status, item.attempts, item.payload) == (
        "", "reply", OutboxStatus.PENDING, 0, {})
    assert item.next_attempt_at.tzinfo is not None and item.created_at.tzinfo is not None


def test_a_naive_datetime_is_refused(session: Session) -> None:
    row = dict(idempotency_key="n:1", channel="sms", recipient="+4529000002",
               next_attempt_at=datetime(2026, 12, 1, 9, 0))
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        insert_new_rows(session, TABLE, [row], ["idempotency_key"])


def test_a_bulk_enqueue_wakes_the_worker_on_commit(sessions: sessionmaker[Session]) -> None:
    local_signal.wait(0)
    with sessions() as s:
        outbox.enqueue_many(s, [dict(channel="sms", recipient="+4529000003", body="x",
                                     key="w:1")])
        assert not local_signal.wait(0), "nothing is announced before the commit"
        s.commit()
    assert local_signal.wait(0)
