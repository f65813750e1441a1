"""SQL statements per inbound SMS, pinned per kind of message, on both databases.

The webhook's cost is mostly its statements (a round trip each on PostgreSQL, and the
SQLAlchemy work around each): docs/performance.md, "Inbound webhook: where the time goes".
These counts are exact, so a query added to the path (a lookup in a request hook, a lazy load,
a second read of something already read) fails here and has to be argued for. Everything the
request runs is counted, hooks included; only the pool's pre-ping is not a statement.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.models import CheckIn, CheckInStatus, Tenant, utcnow
from tests.support.factories import World, add_tenant
from tests.support.sms import SMS_PATH, inbound_form, post_signed, twiml_messages
from tests.support.statements import counted

# (SQLite, PostgreSQL). PostgreSQL writes or reads in one statement where SQLite needs two
# (a WITH clause: the claim and the sender's read, the outcome and the reply's row, an alert
# and its raised event, a join and its event), and adds the worker's NOTIFY to a transaction
# that creates an alert or an outbox row.
EXPECTED = {
    # store; claim; sender (tenant + caseworker + open check-in + "also staff?"); outcome;
    # the reply's row; the answered check-in.
    "answer_to_open_checkin": (6, 4),
    "answer_without_checkin": (5, 3),
    # ... + the tenant's active case (after the case lock, which the claim took: PostgreSQL in
    # its statement, SQLite by being a write), alert, raised event, policy and working hours
    # (one statement), home (for the caseworker's SMS), outbox row, notified (+ skipped)
    # events, the alert's step, "is a worker or dispatcher running?" (before saying a person
    # was told: the process's first alert reply asks, later ones know from the beat it saw
    # until that beat is WORKER_STALE old); PG: NOTIFY.
    "first_need_help": (14, 12),
    # ... + active case, the alert's trigger count, the joined event, "was a person told?".
    "need_help_again": (9, 6),
    "first_call_me": (13, 11),
    # A low alert in working hours: due at once; its first step has two channels (two outbox
    # rows).
    "first_free_text": (14, 12),
    # store (conflict) + its id; claim (nothing to claim) + the remembered reply.
    "provider_retry": (4, 4),
}
IN_HOURS = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Odense
OFF_HOURS = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)  # 03:00: a low alert waits for 08:00


def _post(client: FlaskClient, engine: Engine, form: dict[str, str]) -> list[str]:
    with counted(engine) as statements:
        assert twiml_messages(post_signed(client, SMS_PATH, form))
    return statements


@time_machine.travel(IN_HOURS, tick=True)
def test_statements_per_inbound_sms(sms_client: FlaskClient, session: Session, world: World,
                                    engine: Engine) -> None:
    # The web heartbeat (once a minute per process) is written on the first request.
    post_signed(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "1"), signature="x")
    others = [add_tenant(session, world, name=f"T{i}", phone=f"+452800040{i}")
              for i in range(4)]
    session.add(CheckIn(tenant_id=others[0].id, slot_at=utcnow() - timedelta(hours=1),
                        status=CheckInStatus.SENT, sent_at=utcnow()))
    session.commit()
    retry = inbound_form(world.tenant.phone, "3")
    seen = {
        "answer_to_open_checkin": _post(sms_client, engine, inbound_form(others[0].phone, "1")),
        "answer_without_checkin": _post(sms_client, engine, inbound_form(others[1].phone, "1")),
        "first_need_help": _post(sms_client, engine, retry),
        "need_help_again": _post(sms_client, engine, inbound_form(world.tenant.phone, "3")),
        "first_call_me": _post(sms_client, engine, inbound_form(others[2].phone, "ring mig")),
        "first_free_text": _post(sms_client, engine,
                                 inbound_form(others[3].phone, "Varmen virker ikke")),
        "provider_retry": _post(sms_client, engine, retry),
    }
    column = 1 if engine.dialect.name == "postgresql" else 0
    counts = {kind: len(statements) for kind, statements in seen.items()}
    assert counts == {kind: pair[column] for kind, pair in EXPECTED.items()}, {
        kind: statements for kind, statements in seen.items()
        if len(statements) != EXPECTED[kind][column]}


def test_a_query_in_a_request_hook_is_counted(sms_client: FlaskClient, world: World,
                                              engine: Engine) -> None:
    """The counter sees statements that request hooks run too (the pin above relies on it)."""
    on: list[bool] = []

    @sms_client.application.before_request
    def _lookup() -> None:
        if on:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))

    post_signed(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "1"), signature="x")
    before = len(_post(sms_client, engine, inbound_form(world.tenant.phone, "1")))
    on.append(True)
    assert len(_post(sms_client, engine, inbound_form(world.tenant.phone, "1"))) == before + 1


@time_machine.travel(OFF_HOURS, tick=True)
def test_free_text_at_night_asks_only_whether_the_owner_can_be_reached(
        sms_client: FlaskClient, world: World, engine: Engine) -> None:
    """A low alert waits for working hours; the reply may still say the words are passed on
    when someone on the route can be reached. The owner can: no team or intake lookups."""
    post_signed(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "1"), signature="x")
    statements = _post(sms_client, engine, inbound_form(world.tenant.phone,
                                                        "Varmen virker ikke"))
    # As a first alert in hours, less the outbox row and the notified event(s), plus "told?".
    postgresql = engine.dialect.name == "postgresql"
    assert len(statements) == (9 if postgresql else 11), statements


@time_machine.travel(IN_HOURS, tick=True)
def test_an_alert_by_sms_is_written_without_a_flush(sms_client: FlaskClient, world: World,
                                                    engine: Engine) -> None:
    """Raising or joining a case, its timeline and its first step are prebuilt statements
    (bot.alerts.timeline): the unit of work finds nothing to write, which was a third of a
    first alert's Python work."""
    post_signed(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "1"), signature="x")
    flushes: list[str] = []

    def before_flush(session: Session, *_args: Any) -> None:
        pending = [*session.new, *session.dirty, *session.deleted]
        if pending:
            flushes.append(", ".join(sorted(type(obj).__name__ for obj in pending)))

    event.listen(Session, "before_flush", before_flush)
    try:
        for words in ("3", "ring mig", "Varmen virker ikke"):  # raises, then joins twice
            assert twiml_messages(post_signed(sms_client, SMS_PATH,
                                              inbound_form(world.tenant.phone, words)))
    finally:
        event.remove(Session, "before_flush", before_flush)
    assert flushes == []


@time_machine.travel(IN_HOURS, tick=True)
def test_an_answer_to_a_checkin_is_written_without_a_flush(sms_client: FlaskClient,
                                                           session: Session, world: World,
                                                           sessions: sessionmaker[Session]
                                                           ) -> None:
    """The most common message there is: the check-in answered and the tenant's misses reset
    by prebuilt statements (bot.checkins.rows.record_answer), not a flush."""
    post_signed(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "1"), signature="x")
    tenant = add_tenant(session, world, name="T", phone="+4528000499")
    tenant.consecutive_misses = 2
    session.add(CheckIn(tenant_id=tenant.id, slot_at=utcnow() - timedelta(hours=1),
                        status=CheckInStatus.SENT, sent_at=utcnow()))
    session.commit()
    flushes: list[str] = []

    def before_flush(flushing: Session, *_args: Any) -> None:
        if flushing.new or flushing.dirty or flushing.deleted:
            flushes.append(repr([*flushing.new, *flushing.dirty, *flushing.deleted]))

    event.listen(Session, "before_flush", before_flush)
    try:
        assert twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(tenant.phone,
                                                                             "2")))
    finally:
        event.remove(Session, "before_flush", before_flush)
    assert flushes == []
    with sessions() as s:
        answered = s.scalars(select(CheckIn).where(CheckIn.tenant_id == tenant.id)).one()
        assert (answered.status, answered.answer) == (CheckInStatus.ANSWERED, 2)
        assert s.get(Tenant, tenant.id).consecutive_misses == 0  # type: ignore[union-attr]
