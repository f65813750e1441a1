"""SQL statements per inbound SMS, pinned per kind of message, on both databases.

The webhook's cost is mostly its statements (a round trip each on PostgreSQL, and the
SQLAlchemy work around each): docs/performance.md, "Inbound webhook: where the time goes".
These counts are exact, so a query added to the path (a lookup in a request hook, a lazy load,
a second read of something already read) fails here and has to be argued for. Everything the
request runs is counted, hooks included; only the pool's pre-ping is not a statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from bot.models import CheckIn, CheckInStatus, utcnow
from tests.support.factories import World, add_tenant
from tests.support.sms import SMS_PATH, inbound_form, post_signed, twiml_messages

# (SQLite, PostgreSQL). PostgreSQL adds the worker's NOTIFY to a transaction that creates an
# alert or an outbox row; SQLite inserts one flush's timeline events one by one.
EXPECTED = {
    # store; claim; sender (tenant + caseworker + open check-in + "also staff?"); outcome;
    # the reply's row; the answered check-in.
    "answer_to_open_checkin": (6, 6),
    "answer_without_checkin": (5, 5),
    # ... + the case lock (two triggers at once open one case), the tenant's active case,
    # home, alert + raised event, policy, working hours (one statement each), outbox row, the
    # alert's step, notified (+ skipped) events, "is a worker or dispatcher running?" (before
    # saying a person was told); PG: NOTIFY.
    "first_need_help": (17, 17),
    # ... + case lock, active case, the alert's trigger count, the joined event, "was a person
    # told?", "is a sender running?".
    "need_help_again": (11, 11),
    "first_call_me": (17, 17),
    # A low alert in working hours: due at once; its first step has two channels (two outbox
    # rows, the first one's event flushed between them).
    "first_free_text": (18, 19),
    # store (conflict) + its id; claim (nothing to claim) + the remembered reply.
    "provider_retry": (4, 4),
}
IN_HOURS = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Odense
OFF_HOURS = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)  # 03:00: a low alert waits for 08:00


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()[:3]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


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
    assert len(statements) == (15 if postgresql else 14), statements
