"""`trygthjem schedule show`, `tenant pause/resume/cadence`, `worker --once`, and the settings."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.core.config import ConfigError, load_settings
from bot.models import AuditEvent, CheckIn, CheckInStatus, Tenant
from tests.support.factories import World, make_world

# Monday 30 November 2026, 09:00 in Copenhagen (08:00 UTC).
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": db_url,
                                                     "LOG_FORMAT": "console",
                                                     "LOG_LEVEL": "WARNING"})


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with time_machine.travel(MONDAY, tick=False), sessions() as s:
        return make_world(s)


def tenant(sessions: sessionmaker[Session], tenant_id: int) -> Tenant:
    with sessions() as s:
        row = s.get(Tenant, tenant_id)
        assert row is not None
        return row


def test_schedule_show_lists_next_sends_in_local_time(db_url: str, world: World) -> None:
    with time_machine.travel(MONDAY, tick=False):
        result = run(db_url, "schedule", "show", "+4528000301", "--count", "3")
    assert result.exit_code == 0, result.output
    assert "Anna Sørensen (+4528000301)" in result.output
    assert "Cadence:    Tuesday at 10:00 (Europe/Copenhagen)" in result.output
    assert "Tuesday 1 Dec 10:00" in result.output and "Tuesday 15 Dec 10:00" in result.output
    assert "Tuesday 22 Dec" not in result.output
    # Grace periods as people write them, not "1 day, 0:00:00".
    quiet = next(line for line in result.output.splitlines() if line.startswith("Quiet:"))
    assert re.search(r"reminder after \d+ (hours?|days?)( and \d+ \w+)?, missed after "
                     r"\d+ (hours?|days?)", quiet), quiet
    assert ":00:00" not in quiet
    with time_machine.travel(MONDAY, tick=False):
        danish = run(db_url, "schedule", "show", str(world.tenant.id), "--lang", "da")
    assert "tirsdag 1. dec. 10:00" in danish.output
    assert re.search(r"reminder after \d+ (timer?|dage?)", danish.output), danish.output


def test_schedule_show_explains_dst_and_quiet_hours(db_url: str, world: World,
                                                   sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        t = s.get(Tenant, world.tenant.id)
        assert t is not None
        t.checkin_weekdays, t.checkin_time = "7", time(2, 30)
    with time_machine.travel(datetime(2026, 10, 20, tzinfo=UTC), tick=False):
        result = run(db_url, "schedule", "show", "28000301", "--count", "1")
    assert result.exit_code == 0, result.output
    assert "Sunday 25 Oct 02:30" in result.output
    assert "clocks go back: sent at the first of the two" in result.output
    assert "quiet hours: goes Sunday 25 Oct 08:00" in result.output
    with time_machine.travel(datetime(2026, 3, 25, tzinfo=UTC), tick=False):
        spring = run(db_url, "schedule", "show", "28000301", "--count", "1")
    assert "Sunday 29 Mar 03:30" in spring.output and "clocks go forward" in spring.output


def test_schedule_show_unknown_tenant_is_a_clear_error(db_url: str, world: World) -> None:
    result = run(db_url, "schedule", "show", "+4599999999")
    assert result.exit_code == 1
    assert "no tenant with id or phone '+4599999999'" in result.output
    assert "Traceback" not in result.output


def test_pause_resume_and_cadence(db_url: str, world: World,
                                  sessions: sessionmaker[Session]) -> None:
    tid = world.tenant.id
    with time_machine.travel(MONDAY, tick=False):
        paused = run(db_url, "tenant", "pause", "28 00 03 01", "--until", "2026-12-10")
        shown = run(db_url, "schedule", "show", "+4528000301", "--count", "3")
    assert paused.exit_code == 0, paused.output
    assert "paused until 2026-12-10" in paused.output
    assert tenant(sessions, tid).checkins_paused_until == date(2026, 12, 10)
    assert shown.output.count("[not sent: paused]") == 2
    with time_machine.travel(MONDAY, tick=False):
        past = run(db_url, "tenant", "pause", "+4528000301", "--until", "2026-11-01")
    assert past.exit_code == 1 and "is in the past" in past.output
    resumed = run(db_url, "tenant", "resume", "+4528000301")
    assert resumed.exit_code == 0 and "resumed" in resumed.output
    assert tenant(sessions, tid).checkins_paused_until is None
    again = run(db_url, "tenant", "resume", "+4528000301")
    assert "was not paused" in again.output

    cadence = run(db_url, "tenant", "cadence", "+4528000301", "--days", "man,tors",
                  "--time", "9.30")
    assert cadence.exit_code == 0, cadence.output
    assert "Monday, Thursday at 09:30" in cadence.output
    t = tenant(sessions, tid)
    assert (t.checkin_weekdays, t.checkin_time) == ("1,4", time(9, 30))
    late = run(db_url, "tenant", "cadence", "+4528000301", "--days", "tue", "--time", "22:00")
    assert late.exit_code == 0 and "quiet hours" in late.output
    bad = run(db_url, "tenant", "cadence", "+4528000301", "--days", "someday", "--time", "10")
    assert bad.exit_code == 2 and "Unknown weekday 'someday'" in bad.output
    with sessions() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.actor == "cli")))
    assert actions.count("checkins.pause") == 1 and actions.count("checkins.cadence") == 2
    assert actions.count("checkins.resume") == 2 and "view" in actions


def test_pause_rejects_a_malformed_date(db_url: str, world: World) -> None:
    result = run(db_url, "tenant", "pause", "+4528000301", "--until", "10/12/2026")
    assert result.exit_code == 2
    assert "10/12/2026" in result.output and "%Y-%m-%d" in result.output


def test_worker_once_plans_and_sends(db_url: str, world: World,
                                     sessions: sessionmaker[Session]) -> None:
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        result = CliRunner().invoke(main, ["worker", "--once"], env={
            "DATABASE_URL": db_url, "CONSOLE_CHANNELS": "1", "LOG_FORMAT": "console",
            "LOG_LEVEL": "WARNING", "SMS_RATE_PER_SECOND": "100"})
    assert result.exit_code == 0, result.output
    assert "plan_checkins: planned 1, skipped 0" in result.output
    assert "start_checkins: nothing due" in result.output
    assert "send_reminders: nothing due" in result.output
    assert "mark_missed: nothing due" in result.output
    assert "dispatch_outbox:" in result.output and "sent=1" in result.output
    with sessions() as s:
        [checkin] = s.scalars(select(CheckIn)).all()
    assert checkin.status == CheckInStatus.SENT


def test_miss_thresholds_and_batch_size_from_the_environment() -> None:
    settings = load_settings({"MISSED_ALERT_THRESHOLDS": "1:low, 3:critical",
                              "CHECKIN_BATCH_SIZE": "2000"})
    assert settings.miss_thresholds == {1: "low", 3: "critical"}
    assert settings.checkin_batch_size == 2000
    assert load_settings({}).miss_thresholds == {1: "low", 2: "high"}
    with pytest.raises(ConfigError) as err:
        load_settings({"MISSED_ALERT_THRESHOLDS": "one:low", "CHECKIN_BATCH_SIZE": "5"})
    assert "MISSED_ALERT_THRESHOLDS" in str(err.value) and "CHECKIN_BATCH_SIZE" in str(err.value)
    with pytest.raises(ConfigError, match="MISSED_ALERT_THRESHOLDS"):
        load_settings({"MISSED_ALERT_THRESHOLDS": "2:urgent"})
