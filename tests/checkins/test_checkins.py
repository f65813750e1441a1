"""The check-in scheduler end to end: planner, reminder, miss, pause, STOP, DST, many workers.

The clock is driven with time-machine; each `tick` runs every worker job once (like
`trygthjem worker --once`), including the dispatcher with console channels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.checkins.planner import PLANNER_LOCK_KEY, plan_checkins
from bot.checkins.rows import checkin_key, record_answer
from bot.checkins.schedule import change_cadence, find_tenant, pause, resume, upcoming
from bot.checkins.sweeps import mark_missed, send_reminders
from bot.core import outbox
from bot.core.db import make_session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.models import (
    Alert,
    AuditEvent,
    CheckIn,
    CheckInStatus,
    Message,
    Organisation,
    OutboxItem,
    OutboxStatus,
    Tenant,
)
from bot.runtime import Runtime
from scheduler.runner import JOBS, run_once
from tests.support.concurrency import run_together
from tests.support.factories import World, make_world

CPH = ZoneInfo("Europe/Copenhagen")


def at(y: int, m: int, d: int, hh: int, mm: int = 0, fold: int = 0) -> datetime:
    """Copenhagen wall time -> aware UTC instant."""
    return datetime(y, m, d, hh, mm, tzinfo=CPH, fold=fold).astimezone(UTC)


def local(when: datetime) -> datetime:
    return when.astimezone(CPH)


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    # A high cap: the rate limiter sleeps in real time, and these tests are about the schedule.
    return dataclasses.replace(
        runtime, settings=dataclasses.replace(runtime.settings, sms_rate_per_second=100))


def tick(rt: Runtime, when: datetime) -> dict[str, object]:
    with time_machine.travel(when, tick=False):
        return run_once(rt)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    """Anna, checked in on Tuesdays 10:00; registered Monday 30 Nov 2026 09:00."""
    with time_machine.travel(at(2026, 11, 30, 9), tick=False), sessions() as s:
        return make_world(s)


def checkins_of(sessions: sessionmaker[Session], tenant_id: int) -> list[CheckIn]:
    with sessions() as s:
        return list(s.scalars(select(CheckIn).where(CheckIn.tenant_id == tenant_id)
                              .order_by(CheckIn.slot_at)))


def sent_texts(sessions: sessionmaker[Session], kind: str) -> list[OutboxItem]:
    with sessions() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.kind == kind)
                              .order_by(OutboxItem.id)))


def answer(sessions: sessionmaker[Session], tenant_id: int, value: int, when: datetime) -> None:
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        record_answer(s, tenant, value, when)


def alerts_of(sessions: sessionmaker[Session], tenant_id: int) -> list[Alert]:
    with sessions() as s:
        return list(s.scalars(select(Alert).where(Alert.tenant_id == tenant_id)
                              .order_by(Alert.id)))


def tenant_row(sessions: sessionmaker[Session], tenant_id: int) -> Tenant:
    with sessions() as s:
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        return tenant


def update_org(sessions: sessionmaker[Session], **values: object) -> None:
    with sessions() as s, s.begin():
        org = s.scalars(select(Organisation)).one()
        for name, value in values.items():
            setattr(org, name, value)


def update_tenant(sessions: sessionmaker[Session], tenant_id: int, **values: object) -> None:
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        for name, value in values.items():
            setattr(tenant, name, value)


def hours(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    when = start
    while when < end:
        yield when
        when += step


# --------------------------------------------------------------------------- cadence


def test_jobs_are_registered_with_dispatch_last() -> None:
    names = [spec.name for spec in JOBS]
    assert names[:4] == ["plan_checkins", "start_checkins", "send_reminders", "mark_missed"]
    assert names[-1] == "dispatch_outbox"


def test_weekly_cadence_over_eight_weeks(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    start = at(2026, 11, 30, 2)
    for when in hours(start, start + timedelta(weeks=8), timedelta(hours=4)):
        tick(rt, when)
        if local(when).isoweekday() == 2 and local(when).hour == 14:
            answer(sessions, tid, 1, when)
    rows = checkins_of(sessions, tid)
    assert [local(c.slot_at).date() for c in rows] == [
        date(2026, 12, 1) + timedelta(weeks=n) for n in range(8)]
    assert all(local(c.slot_at).time() == time(10) for c in rows)
    assert {c.status for c in rows} == {CheckInStatus.ANSWERED}
    # The message log, not the outbox: retention drops sent outbox rows after a while.
    with sessions() as s:
        sent = list(s.scalars(select(Message).where(Message.tenant_id == tid)
                              .order_by(Message.id)))
    assert [m.intent for m in sent] == ["checkin"] * 8
    assert sent[-1].body.startswith("Hej Anna Sørensen. Hvordan går det?")
    assert alerts_of(sessions, tid) == []


def test_planner_is_idempotent_and_skips_slots_before_registration(
        rt: Runtime, world: World) -> None:
    sessions = rt.sessions
    # Registered Monday 09:00: the Tuesday-before slot (24 Nov) is never sent.
    assert not plan_checkins(sessions, now=at(2026, 11, 30, 9, 30))
    first = plan_checkins(sessions, now=at(2026, 12, 1, 10, 1))
    again = plan_checkins(sessions, now=at(2026, 12, 1, 10, 2))
    assert first.planned == 1 and not again
    assert len(sent_texts(sessions, "checkin")) == 1


def test_a_slot_older_than_the_reminder_delay_is_dropped(rt: Runtime, world: World) -> None:
    """A worker down for two days does not send last Tuesday's question on Thursday."""
    assert not plan_checkins(rt.sessions, now=at(2026, 12, 3, 12))
    assert checkins_of(rt.sessions, world.tenant.id) == []


def test_reminder_then_answer_closes_the_checkin(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    tick(rt, at(2026, 12, 1, 10))
    [c] = checkins_of(sessions, tid)
    assert c.status == CheckInStatus.SENT and c.sent_at == at(2026, 12, 1, 10)
    tick(rt, at(2026, 12, 2, 9, 59))
    assert sent_texts(sessions, "reminder") == []
    tick(rt, at(2026, 12, 2, 10))
    [reminder] = sent_texts(sessions, "reminder")
    assert reminder.status == OutboxStatus.SENT
    assert reminder.body.startswith("Hej Anna Sørensen, vi har ikke hørt fra dig endnu")
    [c] = checkins_of(sessions, tid)
    assert c.status == CheckInStatus.REMINDED and c.reminded_at == at(2026, 12, 2, 10)
    answer(sessions, tid, 2, at(2026, 12, 2, 15))
    for when in hours(at(2026, 12, 2, 16), at(2026, 12, 4, 12), timedelta(hours=4)):
        tick(rt, when)
    [c] = checkins_of(sessions, tid)
    assert (c.status, c.answer, c.answered_at) == (CheckInStatus.ANSWERED, 2,
                                                   at(2026, 12, 2, 15))
    assert len(sent_texts(sessions, "reminder")) == 1  # only ever one
    assert tenant_row(sessions, tid).consecutive_misses == 0
    assert alerts_of(sessions, tid) == []


def test_reminder_then_miss_raises_a_low_alert(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    tick(rt, at(2026, 12, 1, 10))
    tick(rt, at(2026, 12, 2, 10))
    tick(rt, at(2026, 12, 3, 9, 59))
    assert checkins_of(sessions, tid)[0].status == CheckInStatus.REMINDED
    tick(rt, at(2026, 12, 3, 10))
    [c] = checkins_of(sessions, tid)
    assert c.status == CheckInStatus.MISSED and c.missed_at == at(2026, 12, 3, 10)
    assert tenant_row(sessions, tid).consecutive_misses == 1
    [alert] = alerts_of(sessions, tid)
    assert (alert.source, alert.severity) == ("missed", "low")
    assert alert.summary == "Ubesvarede check-ins i træk for Anna Sørensen: 1"
    tick(rt, at(2026, 12, 3, 14))  # nothing happens twice
    assert tenant_row(sessions, tid).consecutive_misses == 1 and len(alerts_of(sessions, tid)) == 1


def test_two_misses_raise_a_high_alert_and_an_answer_resets_the_run(
        rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    for week in range(2):
        for day, hour in ((1, 10), (2, 10), (3, 10)):
            tick(rt, at(2026, 12, day + 7 * week, hour))
    assert tenant_row(sessions, tid).consecutive_misses == 2
    # One case per tenant: the second miss raises the first miss's alert to high.
    [case] = alerts_of(sessions, tid)
    assert case.severity == "high"
    with sessions() as s:
        events = [(e.kind, e.detail) for e in s.get(Alert, case.id).events  # type: ignore[union-attr]
                  if e.kind in ("raised", "retriggered")]
    assert [(kind, detail["missed"]) for kind, detail in events] == [("raised", 1),
                                                                     ("retriggered", 2)]
    tick(rt, at(2026, 12, 15, 10))
    answer(sessions, tid, 1, at(2026, 12, 15, 11))
    assert tenant_row(sessions, tid).consecutive_misses == 0


def test_miss_thresholds_are_configurable(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    plan_checkins(sessions, now=at(2026, 12, 1, 10))
    with time_machine.travel(at(2026, 12, 1, 10), tick=False):
        assert Dispatcher(sessions, rt.channels).run_once().sent == 1
    result = mark_missed(sessions, now=at(2026, 12, 3, 10), thresholds={2: "critical"})
    assert result.missed == 1 and result.alerts == 0
    assert alerts_of(sessions, tid) == []


def test_org_grace_hours_are_used(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    update_org(sessions, reminder_after_hours=4, missed_after_hours=8)
    tick(rt, at(2026, 12, 1, 10))
    tick(rt, at(2026, 12, 1, 14))
    assert checkins_of(sessions, tid)[0].status == CheckInStatus.REMINDED
    tick(rt, at(2026, 12, 1, 18))
    assert checkins_of(sessions, tid)[0].status == CheckInStatus.MISSED


# --------------------------------------------------------------------------- quiet hours


def test_quiet_hours_defer_the_checkin_and_the_reminder(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    update_tenant(sessions, tid, checkin_time=time(22, 30))
    update_org(sessions, reminder_after_hours=12, missed_after_hours=48)
    tick(rt, at(2026, 12, 1, 22, 30))
    [c] = checkins_of(sessions, tid)
    assert c.status == CheckInStatus.SCHEDULED and c.sent_at == at(2026, 12, 2, 8)
    [prompt] = sent_texts(sessions, "checkin")
    assert prompt.status == OutboxStatus.PENDING and prompt.next_attempt_at == at(2026, 12, 2, 8)
    tick(rt, at(2026, 12, 2, 7, 59))
    assert sent_texts(sessions, "checkin")[0].status == OutboxStatus.PENDING
    tick(rt, at(2026, 12, 2, 8))
    assert sent_texts(sessions, "checkin")[0].status == OutboxStatus.SENT
    assert checkins_of(sessions, tid)[0].status == CheckInStatus.SENT
    # Reminder due 12 h after 08:00 is 20:00 (not quiet); at 25 h it would be 09:00.
    update_org(sessions, reminder_after_hours=13, missed_after_hours=48)
    tick(rt, at(2026, 12, 2, 21))  # 13 h after sending: inside quiet hours
    [c] = checkins_of(sessions, tid)
    assert c.status == CheckInStatus.REMINDED and c.reminded_at == at(2026, 12, 3, 8)
    [reminder] = sent_texts(sessions, "reminder")
    assert reminder.status == OutboxStatus.PENDING
    tick(rt, at(2026, 12, 3, 8))
    assert sent_texts(sessions, "reminder")[0].status == OutboxStatus.SENT


def test_answer_to_a_scheduled_checkin_once_its_time_has_come(
        rt: Runtime, world: World) -> None:
    """Between 08:00 and the next reminder job the row is still SCHEDULED: answers still land."""
    sessions, tid = rt.sessions, world.tenant.id
    update_tenant(sessions, tid, checkin_time=time(23))
    plan_checkins(sessions, now=at(2026, 12, 1, 23))
    answer(sessions, tid, 1, at(2026, 12, 1, 23, 30))  # before it went: not this check-in
    assert checkins_of(sessions, tid)[0].status == CheckInStatus.SCHEDULED
    answer(sessions, tid, 1, at(2026, 12, 2, 8, 5))
    assert checkins_of(sessions, tid)[0].status == CheckInStatus.ANSWERED


# --------------------------------------------------------------------------- DST


def test_dst_spring_week(rt: Runtime, world: World) -> None:
    """Daily 10:00 stays 10:00 local across 29 March; 02:30 that night is sent once, at 03:30."""
    sessions, tid = rt.sessions, world.tenant.id
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tid)
        assert tenant is not None
        tenant.created_at = at(2026, 3, 26, 0)
        tenant.checkin_weekdays = "1,2,3,4,5,6,7"
        night = Tenant(organisation_id=tenant.organisation_id, name="Nat", phone="+4528000399",
                       checkin_weekdays="7", checkin_time=time(2, 30), caseworker_id=None,
                       created_at=at(2026, 3, 26, 0))
        s.add(night)
        s.flush()
        night_id = night.id
    update_org(sessions, quiet_start=time(0), quiet_end=time(0))  # no quiet hours here
    start = at(2026, 3, 26, 0)
    for when in hours(start, start + timedelta(days=7), timedelta(minutes=30)):
        with time_machine.travel(when, tick=False):
            plan_checkins(sessions)
    daily = checkins_of(sessions, tid)
    assert [local(c.slot_at).day for c in daily] == [26, 27, 28, 29, 30, 31, 1]
    assert {local(c.slot_at).time() for c in daily} == {time(10)}
    assert [c.slot_at.hour for c in daily] == [9, 9, 9, 8, 8, 8, 8]  # UTC moves, local does not
    [nightly] = checkins_of(sessions, night_id)
    assert nightly.slot_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert local(nightly.slot_at).time() == time(3, 30)


def test_dst_autumn_week(rt: Runtime, world: World) -> None:
    """Daily 10:00 stays 10:00 across 25 October; 02:30 (which happens twice) is sent once."""
    sessions, tid = rt.sessions, world.tenant.id
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tid)
        assert tenant is not None
        tenant.created_at = at(2026, 10, 22, 0)
        tenant.checkin_weekdays = "1,2,3,4,5,6,7"
        tenant.checkin_time = time(10)
        night = Tenant(organisation_id=tenant.organisation_id, name="Nat", phone="+4528000399",
                       checkin_weekdays="7", checkin_time=time(2, 30),
                       created_at=at(2026, 10, 22, 0))
        s.add(night)
        s.flush()
        night_id = night.id
    update_org(sessions, quiet_start=time(0), quiet_end=time(0))
    start = at(2026, 10, 22, 0)
    for when in hours(start, start + timedelta(days=7), timedelta(minutes=30)):
        with time_machine.travel(when, tick=False):
            plan_checkins(sessions)
    daily = checkins_of(sessions, tid)
    assert [local(c.slot_at).day for c in daily] == [22, 23, 24, 25, 26, 27, 28]
    assert {local(c.slot_at).time() for c in daily} == {time(10)}
    assert [c.slot_at.hour for c in daily] == [8, 8, 8, 9, 9, 9, 9]
    [nightly] = checkins_of(sessions, night_id)
    assert nightly.slot_at == at(2026, 10, 25, 2, 30, fold=0)  # the first 02:30 (CEST)
    assert nightly.slot_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert len(sent_texts(sessions, "checkin")) == 8


# --------------------------------------------------------------------------- pause / STOP


def test_pause_and_resume(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    tick(rt, at(2026, 12, 1, 10))  # open check-in when the caseworker pauses
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tid)
        assert tenant is not None
        with pytest.raises(ValueError, match="in the past"):
            pause(s, tenant, date(2026, 11, 30), actor="caseworker:2", now=at(2026, 12, 1, 12))
        pause(s, tenant, date(2026, 12, 8), actor="caseworker:2", now=at(2026, 12, 1, 12))
    for when in hours(at(2026, 12, 1, 14), at(2026, 12, 11, 0), timedelta(hours=4)):
        tick(rt, when)
    first, second = checkins_of(sessions, tid)
    assert first.status == CheckInStatus.SKIPPED  # open when paused: never a miss
    assert second.status == CheckInStatus.SKIPPED and second.sent_at is None  # 8 Dec, paused
    assert len(sent_texts(sessions, "checkin")) == 1 and sent_texts(sessions, "reminder") == []
    assert tenant_row(sessions, tid).consecutive_misses == 0 and alerts_of(sessions, tid) == []
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tid)
        assert tenant is not None and tenant.checkins_paused_until == date(2026, 12, 8)
        assert resume(s, tenant, actor="caseworker:2", now=at(2026, 12, 11, 0)) is False
        assert tenant.checkins_paused_until is None
    tick(rt, at(2026, 12, 15, 10))
    assert checkins_of(sessions, tid)[-1].status == CheckInStatus.SENT
    with sessions() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_type == "tenant", AuditEvent.subject_id == str(tid))
            .order_by(AuditEvent.id)))
    assert actions == ["checkins.pause", "checkins.resume"]


def test_pause_cancels_a_deferred_prompt_and_resume_mid_pause(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    update_tenant(sessions, tid, checkin_time=time(22))
    tick(rt, at(2026, 12, 1, 22))  # deferred to 08:00
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tid)
        assert tenant is not None
        pause(s, tenant, date(2026, 12, 20), actor="cli", now=at(2026, 12, 1, 23))
        assert [u.skip for u in upcoming(s, tenant, now=at(2026, 12, 1, 23), count=4)] == [
            "paused", "paused", None, None]
    tick(rt, at(2026, 12, 2, 8))
    [prompt] = sent_texts(sessions, "checkin")
    assert prompt.status == OutboxStatus.CANCELLED
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tid)
        assert tenant is not None
        assert resume(s, tenant, actor="cli", now=at(2026, 12, 7, 9)) is True
    tick(rt, at(2026, 12, 8, 22))
    assert checkins_of(sessions, tid)[-1].status == CheckInStatus.SCHEDULED


def test_stop_skips_checkins_and_tells_the_caseworker_once(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    update_tenant(sessions, tid, opted_out_at=at(2026, 11, 30, 12))
    for day in (1, 8, 15):
        tick(rt, at(2026, 12, day, 10))
        tick(rt, at(2026, 12, day + 2, 11))
    rows = checkins_of(sessions, tid)
    assert [r.status for r in rows] == [CheckInStatus.SKIPPED] * 3
    assert sent_texts(sessions, "checkin") == []
    assert tenant_row(sessions, tid).consecutive_misses == 0
    [alert] = alerts_of(sessions, tid)
    assert (alert.source, alert.severity, alert.trigger_count) == ("delivery_failed", "low", 1)
    assert "STOP" in alert.summary and "Anna Sørensen" in alert.summary
    # START, then STOP again: a new opt-out is worth telling again.
    update_tenant(sessions, tid, opted_out_at=None)
    tick(rt, at(2026, 12, 22, 10))
    assert checkins_of(sessions, tid)[-1].status == CheckInStatus.SENT
    update_tenant(sessions, tid, opted_out_at=at(2026, 12, 22, 12))
    tick(rt, at(2026, 12, 29, 10))
    assert len(alerts_of(sessions, tid)) == 1
    assert alerts_of(sessions, tid)[0].trigger_count == 2  # folded into the open alert


def test_stop_after_sending_is_not_a_miss(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    tick(rt, at(2026, 12, 1, 10))
    update_tenant(sessions, tid, opted_out_at=at(2026, 12, 1, 11))
    tick(rt, at(2026, 12, 2, 10))
    tick(rt, at(2026, 12, 3, 10))
    assert checkins_of(sessions, tid)[0].status == CheckInStatus.SKIPPED
    assert sent_texts(sessions, "reminder") == []
    assert tenant_row(sessions, tid).consecutive_misses == 0


def test_stop_between_planning_and_sending(rt: Runtime, world: World) -> None:
    """The dispatcher cancels the prompt; the check-in is then skipped, not missed."""
    sessions, tid = rt.sessions, world.tenant.id
    plan_checkins(sessions, now=at(2026, 12, 1, 10))
    update_tenant(sessions, tid, opted_out_at=at(2026, 12, 1, 10, 0))
    tick(rt, at(2026, 12, 1, 10, 1))
    assert sent_texts(sessions, "checkin")[0].status == OutboxStatus.CANCELLED
    update_tenant(sessions, tid, opted_out_at=None)  # START again before the reminder
    tick(rt, at(2026, 12, 2, 10))
    assert checkins_of(sessions, tid)[0].status == CheckInStatus.SKIPPED
    assert sent_texts(sessions, "reminder") == []


def test_inactive_and_erased_tenants_are_left_out(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    update_tenant(sessions, tid, active=False)
    assert not plan_checkins(sessions, now=at(2026, 12, 1, 10))
    update_tenant(sessions, tid, active=True, erased_at=at(2026, 11, 30, 12))
    assert not plan_checkins(sessions, now=at(2026, 12, 1, 10))
    assert checkins_of(sessions, tid) == []


def test_an_answer_to_a_newer_checkin_covers_an_older_one(rt: Runtime, world: World) -> None:
    """Daily cadence with 48 h grace: answering today's question is not missing yesterday's."""
    sessions, tid = rt.sessions, world.tenant.id
    update_tenant(sessions, tid, checkin_weekdays="1,2,3,4,5,6,7")
    tick(rt, at(2026, 12, 1, 10))
    tick(rt, at(2026, 12, 2, 10))
    answer(sessions, tid, 1, at(2026, 12, 2, 11))
    tick(rt, at(2026, 12, 3, 10, 1))
    first, second, third = checkins_of(sessions, tid)
    assert (first.status, second.status) == (CheckInStatus.SKIPPED, CheckInStatus.ANSWERED)
    assert third.status == CheckInStatus.SENT
    assert tenant_row(sessions, tid).consecutive_misses == 0


def test_change_cadence_is_audited_and_used(rt: Runtime, world: World) -> None:
    sessions, tid = rt.sessions, world.tenant.id
    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tid)
        assert tenant is not None
        change_cadence(s, tenant, weekdays={4, 1}, at=time(9, 15), actor="cli",
                       now=at(2026, 11, 30, 10))
        with pytest.raises(ValueError):
            change_cadence(s, tenant, weekdays={8}, at=time(9), actor="cli")
        nxt = upcoming(s, tenant, now=at(2026, 11, 30, 10), count=2)
    assert [local(u.slot) for u in nxt] == [local(at(2026, 12, 3, 9, 15)),
                                            local(at(2026, 12, 7, 9, 15))]
    tick(rt, at(2026, 12, 1, 10))
    assert checkins_of(sessions, tid) == []
    tick(rt, at(2026, 12, 3, 9, 15))
    assert len(checkins_of(sessions, tid)) == 1
    with sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "checkins.cadence")).one()
    assert event.detail == {"before": {"weekdays": "2", "time": "10:00"},
                            "after": {"weekdays": "1,4", "time": "09:15"}}


def test_find_tenant_by_id_or_phone(session: Session, world: World) -> None:
    assert find_tenant(session, str(world.tenant.id)).id == world.tenant.id  # type: ignore[union-attr]
    assert find_tenant(session, "28 00 03 01").id == world.tenant.id  # type: ignore[union-attr]
    assert find_tenant(session, "+4528000301").id == world.tenant.id  # type: ignore[union-attr]
    assert find_tenant(session, "not a phone") is None
    assert find_tenant(session, "99999") is None


# --------------------------------------------------------------------------- many workers


def _add_tenants(sessions: sessionmaker[Session], world: World, n: int) -> None:
    with sessions() as s, s.begin():
        s.execute(Tenant.__table__.insert(), [
            dict(organisation_id=world.org.id, name=f"Lejer {i}", phone=f"+45290{i:05d}",
                 language="da", checkin_weekdays="2", checkin_time=time(10),
                 consecutive_misses=0, consent="given", phone_status="ok", active=True,
                 created_at=at(2026, 11, 1, 0))
            for i in range(n)])


def test_planner_works_in_bounded_batches(rt: Runtime, world: World) -> None:
    sessions = rt.sessions
    _add_tenants(sessions, world, 119)  # 120 with Anna
    result = plan_checkins(sessions, now=at(2026, 12, 1, 10), batch_size=25)
    assert result.planned == 120
    assert (result.batches, result.largest_batch) == (5, 25)
    assert result.peak_loaded <= 25 + 5  # tenants of one batch, never all of them
    assert len(sent_texts(sessions, "checkin")) == 120
    assert not plan_checkins(sessions, now=at(2026, 12, 1, 10, 1), batch_size=25)


def _pg_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one worker (documented); advisory locks are PostgreSQL's")


@pytest.mark.parametrize("use_lock", [True, False], ids=["advisory-lock", "unique-only"])
def test_two_workers_at_once_plan_each_slot_once(
        engine: Engine, rt: Runtime, world: World, use_lock: bool) -> None:
    _pg_only(engine)
    _add_tenants(rt.sessions, world, 299)
    now = at(2026, 12, 1, 10)
    def worker(_: int) -> object:
        own_sessions = make_session_factory(engine)  # each worker: its own sessions
        return plan_checkins(own_sessions, now=now, batch_size=40, use_lock=use_lock)

    results = run_together(worker)
    with rt.sessions() as s:
        per_slot = s.execute(select(CheckIn.tenant_id, CheckIn.slot_at, func.count())
                             .group_by(CheckIn.tenant_id, CheckIn.slot_at)).all()
        prompts = s.scalar(select(func.count()).select_from(OutboxItem)
                           .where(OutboxItem.kind == "checkin"))
    assert len(per_slot) == 300 and {n for *_, n in per_slot} == {1}
    assert prompts == 300
    assert sum(r.planned for r in results) == 300  # type: ignore[attr-defined]


def test_a_held_advisory_lock_makes_a_second_planner_step_aside(
        engine: Engine, rt: Runtime, world: World) -> None:
    _pg_only(engine)
    with engine.connect() as other:
        hold = "pg_try_advisory_lock(:k, hashtext(current_schema()))"  # as planner_lock does
        assert other.execute(text(f"SELECT {hold}"), {"k": PLANNER_LOCK_KEY}).scalar()
        result = plan_checkins(rt.sessions, now=at(2026, 12, 1, 10))
        assert result.lock_busy and not result.planned
        other.execute(text("SELECT pg_advisory_unlock(:k, hashtext(current_schema()))"),
                      {"k": PLANNER_LOCK_KEY})
        other.commit()
    assert plan_checkins(rt.sessions, now=at(2026, 12, 1, 10)).planned == 1


def test_worker_killed_after_claiming_the_prompt(rt: Runtime, world: World) -> None:
    """The claimed row is sent after its lease runs out; the reminder waits for it meanwhile."""
    sessions, tid = rt.sessions, world.tenant.id
    plan_checkins(sessions, now=at(2026, 12, 1, 10))
    with time_machine.travel(at(2026, 12, 1, 10), tick=False), sessions() as s:
        [claimed] = outbox.claim(s, lease=timedelta(minutes=2))  # ...and the worker dies here
    assert claimed.idempotency_key == checkin_key(tid, at(2026, 12, 1, 10))
    tick(rt, at(2026, 12, 1, 10, 1))
    assert sent_texts(sessions, "checkin")[0].status == OutboxStatus.SENDING  # still leased
    # A very late run would remind, but the prompt has not gone: the reminder waits.
    assert send_reminders(sessions, now=at(2026, 12, 2, 10)).waiting == 1
    tick(rt, at(2026, 12, 1, 10, 3))
    [prompt] = sent_texts(sessions, "checkin")
    assert prompt.status == OutboxStatus.SENT and prompt.attempts == 2
    assert len(rt.channels["sms"].sent) == 1  # type: ignore[attr-defined]
    tick(rt, at(2026, 12, 2, 10))
    assert checkins_of(sessions, tid)[0].status == CheckInStatus.REMINDED


def test_worker_once_runs_every_job(rt: Runtime, world: World) -> None:
    results = tick(rt, at(2026, 12, 1, 10))
    assert set(results) == {spec.name for spec in JOBS}
    assert str(results["plan_checkins"]).startswith("planned 1")
    assert results["dispatch_outbox"].sent == 1  # type: ignore[union-attr]


def test_a_bad_cadence_in_the_data_does_not_stop_the_planner(rt: Runtime, world: World) -> None:
    sessions = rt.sessions
    _add_tenants(sessions, world, 3)
    update_tenant(sessions, world.tenant.id, checkin_weekdays="2,x")
    result = plan_checkins(sessions, now=at(2026, 12, 1, 10))
    assert result.planned == 3 and checkins_of(sessions, world.tenant.id) == []


def test_two_workers_remind_and_miss_each_checkin_once(
        engine: Engine, rt: Runtime, world: World) -> None:
    _pg_only(engine)
    _add_tenants(rt.sessions, world, 79)
    plan_checkins(rt.sessions, now=at(2026, 12, 1, 10))
    with rt.sessions() as s, s.begin():  # as if the dispatcher had sent every prompt
        s.execute(OutboxItem.__table__.update().values(status=OutboxStatus.SENT))

    def both(job: object, now: datetime) -> None:
        run_together(lambda _: job(make_session_factory(engine), now=now,  # type: ignore[operator]
                                   batch_size=15))

    both(send_reminders, at(2026, 12, 2, 10))
    both(mark_missed, at(2026, 12, 3, 10))
    with rt.sessions() as s:
        reminders = s.scalar(select(func.count()).select_from(OutboxItem)
                             .where(OutboxItem.kind == "reminder"))
        misses = set(s.scalars(select(Tenant.consecutive_misses)))
        statuses = set(s.scalars(select(CheckIn.status)))
        alerts = s.scalar(select(func.count()).select_from(Alert))
    assert reminders == 80 and misses == {1} and statuses == {CheckInStatus.MISSED}
    assert alerts == 80


def _text(sessions: sessionmaker[Session], tenant_id: int, body: str, when: datetime) -> None:
    from bot.tenants.conversation import handle_tenant_sms

    with sessions() as s, s.begin():
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        handle_tenant_sms(s, tenant, body, now=when)


def test_with_the_sms_handler_answer_after_reminder_and_stop(rt: Runtime, world: World) -> None:
    """The real inbound handler (bot.tenants.conversation) closes what the scheduler opened."""
    sessions, tid = rt.sessions, world.tenant.id
    tick(rt, at(2026, 12, 1, 10))
    tick(rt, at(2026, 12, 2, 10))
    _text(sessions, tid, "1 det går fint", at(2026, 12, 2, 12))
    tick(rt, at(2026, 12, 3, 10))
    [c] = checkins_of(sessions, tid)
    assert (c.status, c.answer) == (CheckInStatus.ANSWERED, 1)
    # Deferred morning prompt: promoted by its 5-second job, so an early answer lands.
    update_tenant(sessions, tid, checkin_time=time(22))
    tick(rt, at(2026, 12, 8, 22))
    tick(rt, at(2026, 12, 9, 8))
    _text(sessions, tid, "2", at(2026, 12, 9, 8, 0))
    assert checkins_of(sessions, tid)[-1].status == CheckInStatus.ANSWERED
    # STOP by SMS: the next slot is skipped and the caseworker told once.
    _text(sessions, tid, "STOP", at(2026, 12, 10, 9))
    tick(rt, at(2026, 12, 15, 22))
    assert checkins_of(sessions, tid)[-1].status == CheckInStatus.SKIPPED
    # One case per tenant: the opt-out notice joins the open case of their words, once.
    [case] = alerts_of(sessions, tid)
    with sessions() as s:
        folded = [e.detail for e in s.get(Alert, case.id).events  # type: ignore[union-attr]
                  if e.kind == "folded"]
    assert [d["source"] for d in folded].count("delivery_failed") == 1
    assert all(d["source"] != "missed" for d in folded) and case.source != "missed"
