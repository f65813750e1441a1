"""Low alerts keep to working hours on public holidays too (HOLIDAY_COUNTRY, default DK).

Kristi himmelfartsdag 2026 is Thursday 14 May; the day after is an ordinary Friday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import raise_alert
from bot.alerts.shifts import shift_from
from bot.core.config import Settings, load_settings
from bot.core.timing import local_to_utc
from bot.models import Alert, OutboxItem, Tenant
from tests.support.factories import World, make_world

TZ = "Europe/Copenhagen"


def cph(*args: int) -> datetime:
    return local_to_utc(date(*args[:3]), time(*args[3:]), TZ)


HOLIDAY = cph(2026, 5, 14, 10, 0)  # Kristi himmelfartsdag, 10:00
NEXT_WORKING = cph(2026, 5, 15, 8, 0)  # Friday 08:00


def raise_low(sessions: sessionmaker[Session], w: World, at: datetime) -> int:
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="missed", summary="test", detail={"missed": 1},
                               tenant=s.get(Tenant, w.tenant.id), now=at)
        return alert.id


def sent(session: Session) -> list[tuple[str, str]]:
    session.expire_all()
    return [(r.channel, r.recipient)
            for r in session.scalars(select(OutboxItem).order_by(OutboxItem.id))]


def next_action(session: Session, alert_id: int) -> datetime | None:
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None
    return alert.next_action_at


def test_shift_from_skips_the_deployments_holidays(settings: Settings) -> None:
    shift = shift_from(None, None, TZ, settings)
    assert settings.holiday_country == "DK"
    assert shift(HOLIDAY) == NEXT_WORKING
    assert shift_from(None, None, TZ, replace(settings, holiday_country=None))(HOLIDAY) == HOLIDAY


def test_a_low_alert_raised_on_a_holiday_waits_for_the_next_working_day(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    alert_id = raise_low(sessions, w, HOLIDAY)
    run_escalation(sessions, settings, now=HOLIDAY)
    assert sent(session) == []
    assert next_action(session, alert_id) == NEXT_WORKING
    run_escalation(sessions, settings, now=NEXT_WORKING - timedelta(minutes=1))
    assert sent(session) == []
    run_escalation(sessions, settings, now=NEXT_WORKING)
    assert sorted(sent(session)) == [("email", w.caseworker.email), ("sms", w.caseworker.phone)]


def test_the_lead_hears_a_working_day_later_not_on_the_holiday(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    wednesday = cph(2026, 5, 13, 10, 0)
    alert_id = raise_low(sessions, w, wednesday)
    run_escalation(sessions, settings, now=wednesday)
    assert len(sent(session)) == 2  # the owner, at once
    # The lead's step is a day on: Thursday 10:00 is the holiday, so Friday 08:00.
    assert next_action(session, alert_id) == NEXT_WORKING
    run_escalation(sessions, settings, now=NEXT_WORKING)
    assert sorted(sent(session)[2:]) == [("email", w.lead.email), ("sms", w.lead.phone)]


def test_holiday_country_none_keeps_holidays_working_days(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    raise_low(sessions, w, HOLIDAY)
    country = load_settings({"HOLIDAY_COUNTRY": "none"}).holiday_country
    run_escalation(sessions, replace(settings, holiday_country=country), now=HOLIDAY)
    assert sorted(sent(session)) == [("email", w.caseworker.email), ("sms", w.caseworker.phone)]
