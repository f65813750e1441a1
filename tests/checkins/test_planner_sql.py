"""The set-based planner decides exactly as `bot.checkins.rows.skip_reason` does, per tenant."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.checkins.planner import plan_checkins
from bot.checkins.rows import skip_reason
from bot.models import CheckIn, CheckInStatus, Consent, OutboxItem, PhoneStatus, Tenant
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
