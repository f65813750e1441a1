"""The set-based planner decides and writes exactly what the per-tenant rules and texts give."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.checkins.plan_batch import BatchStatement
from bot.checkins.planner import due_slot, plan_checkins
from bot.checkins.rows import all_org_rules, checkin_key, skip_reason
from bot.checkins.texts import checkin_prompt
from bot.core.db import make_engine, make_session_factory
from bot.models import CheckIn, CheckInStatus, Consent, OutboxItem, PhoneStatus, Tenant
from bot.models.enums import OutboxPriority
from tests.support.factories import make_world

CPH = ZoneInfo("Europe/Copenhagen")
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=CPH).astimezone(UTC)
REGISTERED = datetime(2026, 11, 1, tzinfo=UTC)

CASES: dict[str, dict[str, object]] = {
    "due": {},
    "opted_out": {"opted_out_at": datetime(2026, 11, 20, tzinfo=UTC)},
    "no_consent": {"consent": Consent.WITHDRAWN},
    "invalid_phone": {"phone_status": PhoneStatus.INVALID},
    "paused_today": {"checkins_paused_until": date(2026, 12, 1)},
    "paused_until_yesterday": {"checkins_paused_until": date(2026, 11, 30)},
    "pending_consent": {"consent": Consent.PENDING},
}


def test_each_skip_reason_as_the_python_rule(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        world = make_world(s)
        ids: dict[str, int] = {}
        for n, (case, values) in enumerate(CASES.items()):
            tenant = Tenant(organisation=world.org, name=f"Lejer {case}",
                            phone=f"+45281000{n:02d}", caseworker=world.caseworker,
                            checkin_weekdays="2", checkin_time=time(10),
                            consent=Consent.GIVEN, created_at=REGISTERED)
            for name, value in values.items():
                setattr(tenant, name, value)
            s.add(tenant)
            s.flush()
            ids[case] = tenant.id
        s.commit()

    result = plan_checkins(sessions, now=TUESDAY_10, batch_size=3)  # several batches, too
    assert (result.planned, result.skipped) == (4, 4)  # and the world's own tenant, Anna

    with sessions() as s:
        queued = set(s.scalars(select(OutboxItem.tenant_id).where(OutboxItem.kind == "checkin")))
        for case, tenant_id in ids.items():
            tenant = s.get(Tenant, tenant_id)
            assert tenant is not None
            expected = skip_reason(tenant, date(2026, 12, 1))
            status = s.scalar(select(CheckIn.status).where(CheckIn.tenant_id == tenant_id))
            assert (status == CheckInStatus.SKIPPED) == (expected is not None), case
            assert (tenant_id in queued) == (expected is None), case
        assert {c for c, t in ids.items() if t in queued} == {
            "due", "paused_until_yesterday", "pending_consent"}


NAMES = ["Anna Sørensen", "Zoë Ågård", "Siobhán O’Brien", "Ali 😀", "Jens {name}", "Bo\\Ek"]
LANGUAGES = ["da", "en", "xx"]  # "xx": unsupported, Danish texts


def _expected(tenant: Tenant, slot: datetime, goes_at: datetime, sending: str,
              skipped: bool) -> tuple[tuple[object, ...], tuple[object, ...] | None]:
    """The check-in and the prompt the per-tenant rules give (None: no prompt)."""
    checkin = (tenant.id, slot, CheckInStatus.SKIPPED if skipped else sending,
               None if skipped else goes_at)
    if skipped:
        return checkin, None
    return checkin, (checkin_key(tenant.id, slot), "sms", tenant.phone,
                     checkin_prompt(tenant.language, tenant.name), "checkin", tenant.id, None,
                     None, {}, "pending", 0, goes_at, OutboxPriority.BULK)


@pytest.mark.parametrize("threads", [1, 2], ids=["one-thread", "two-threads"])
@pytest.mark.parametrize("local_time", [time(10), time(23)], ids=["daytime", "quiet-hours"])
def test_rows_are_exactly_the_per_tenant_rules(sessions: sessionmaker[Session],
                                               local_time: time, threads: int) -> None:
    """Check-ins and prompts, column by column, as the per-tenant rules and texts make them:
    every language, awkward names, skips, quiet hours, several batches, one thread or a
    slot shared out to two (PostgreSQL; SQLite always plans with one)."""
    with sessions() as s:
        world = make_world(s)
        cases = list(CASES.values())
        for n in range(24):
            tenant = Tenant(organisation=world.org, name=NAMES[n % len(NAMES)],
                            phone=f"+45282000{n:02d}", language=LANGUAGES[n % 3],
                            checkin_weekdays="2", checkin_time=local_time,
                            consent=Consent.GIVEN, created_at=REGISTERED)
            for name, value in cases[n % len(cases)].items():
                setattr(tenant, name, value)
            s.add(tenant)
        s.commit()
    now = datetime(2026, 12, 1, local_time.hour, 0, tzinfo=CPH).astimezone(UTC)
    org = all_org_rules(sessions)[0]
    goes_at = org.goes_at(now)
    assert (goes_at > now) == (local_time == time(23))

    result = plan_checkins(sessions, now=now, batch_size=5, threads=threads)
    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    assert result.threads == (threads if postgres else 1)

    with sessions() as s:
        expected = [_expected(t, due_slot(t.checkin_weekdays, t.checkin_time, org, now) or now,
                              goes_at,
                              CheckInStatus.SENT if goes_at <= now else CheckInStatus.SCHEDULED,
                              skip_reason(t, date(2026, 12, 1)) is not None)
                    for t in s.scalars(select(Tenant).order_by(Tenant.id))]
        checkins = [tuple(r) for r in s.execute(
            select(CheckIn.tenant_id, CheckIn.slot_at, CheckIn.status, CheckIn.sent_at)
            .order_by(CheckIn.tenant_id))]
        prompts = [tuple(r) for r in s.execute(
            select(OutboxItem.idempotency_key, OutboxItem.channel, OutboxItem.recipient,
                   OutboxItem.body, OutboxItem.kind, OutboxItem.tenant_id,
                   OutboxItem.caseworker_id, OutboxItem.landlord_id, OutboxItem.payload,
                   OutboxItem.status, OutboxItem.attempts, OutboxItem.next_attempt_at,
                   OutboxItem.priority)
            .order_by(OutboxItem.tenant_id))]
        created_at = set(s.scalars(select(CheckIn.created_at)))
        assert len({c[1] for c in checkins}) == (2 if local_time == time(23) else 1)
    assert checkins == [c for c, _p in expected]
    assert prompts == [p for _c, p in expected if p is not None]
    assert created_at == {now}
    # 25 tenants at 5 a batch (shared out: the first, then two shares of 10); at 23:00 Anna's
    # 10:00 slot of the day is a batch of its own.
    assert (result.planned, result.batches) == (len(prompts), 5 if local_time == time(10) else 6)


def test_each_batch_reads_only_its_own_range_of_checkins(
        engine: Engine, sessions: sessionmaker[Session]) -> None:
    """PostgreSQL: the anti-join ("no check-in for this slot yet") reads the check-ins of the
    batch's key range only. Unbounded, every batch re-read all of the slot's check-ins so
    far: quadratic in the number of tenants."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    with sessions() as s:
        world = make_world(s)
        s.execute(Tenant.__table__.insert(), [
            dict(organisation_id=world.org.id, name=f"Lejer {i}", phone=f"+45283{i:05d}",
                 language="da", checkin_weekdays="2", checkin_time=time(10),
                 consecutive_misses=0, consent="given", phone_status="ok", active=True,
                 created_at=REGISTERED) for i in range(400)])
        s.commit()
        last = s.scalar(select(func.max(Tenant.id)))
        assert last is not None
    with sessions() as s, s.begin():  # the slot planned for all but the last 20 tenants
        s.execute(CheckIn.__table__.insert(), [
            dict(tenant_id=tid, slot_at=TUESDAY_10, status="sent", created_at=TUESDAY_10)
            for tid in s.scalars(select(Tenant.id).where(Tenant.id <= last - 20))])
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    org = all_org_rules(sessions)[0]
    batch = BatchStatement.of("postgresql", org, TUESDAY_10, TUESDAY_10, 10,
                               (Tenant.organisation_id == org.id,))
    with engine.connect() as conn:
        state = batch.statement.compile(conn).construct_expanded_state(
            {"after_id": last - 20, "until_id": last})
        plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {state.statement}",
                                    state.parameters).scalar()
        conn.rollback()

    def checkin_rows_read(node: dict[str, Any]) -> int:
        own = node["Actual Rows"] * node["Actual Loops"] if node.get("Relation Name") == \
            "checkins" and "Scan" in node["Node Type"] else 0
        return own + sum(checkin_rows_read(child) for child in node.get("Plans", []))

    assert checkin_rows_read(plan[0]["Plan"]) <= 10


def test_the_batch_statement_is_never_prepared(db_url: str, sessions: sessionmaker[Session]
                                               ) -> None:
    """PostgreSQL: psycopg prepares a statement run five times, and PostgreSQL may then plan it
    once for any key (a generic plan: the anti-join as a nested loop over the whole key
    range). The batch key is part of the SQL text instead, so each batch is planned for it."""
    if not db_url.startswith("postgresql"):
        pytest.skip("prepared statements are psycopg's and PostgreSQL's")
    with sessions() as s:
        world = make_world(s)
        s.execute(Tenant.__table__.insert(), [
            dict(organisation_id=world.org.id, name=f"Lejer {i}", phone=f"+45284{i:05d}",
                 language="da", checkin_weekdays="2", checkin_time=time(10),
                 consecutive_misses=0, consent="given", phone_status="ok", active=True,
                 created_at=REGISTERED) for i in range(80)])
        s.commit()
    one = make_engine(db_url, pool_size=1, max_overflow=0)  # the planner's only connection
    try:
        result = plan_checkins(make_session_factory(one), now=TUESDAY_10, batch_size=8,
                               use_lock=False, threads=1)
        assert result.batches > 6
        with one.connect() as conn:
            prepared = conn.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
        assert not [p for p in prepared if "INSERT INTO checkins" in p]
        assert prepared, "psycopg did prepare the statements that repeat (COPY's INSERT)"
    finally:
        one.dispose()
