"""Each municipality's time zone, quiet hours and working hours (bot.core.organisations) are the
one source every reader uses; the environment only seeds a new organisation."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import raise_alert
from bot.checkins import planner
from bot.cli import main
from bot.core.config import Settings, load_settings
from bot.core.organisations import (
    OrgChange,
    apply_change,
    home_zone,
    local_today,
    new_organisation,
    parse_window,
)
from bot.landlords import texts as landlord_texts
from bot.models import AuditEvent, CheckIn, Organisation, OutboxItem, Team
from tests.support.dashboard import login, with_passwords
from tests.support.factories import World

NEW_YORK = "America/New_York"


def run(db_url: str, *args: str, **env: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": db_url,
                                                     "LOG_FORMAT": "console",
                                                     "LOG_LEVEL": "WARNING", **env})


def _registered_long_ago(session: Session, world: World) -> None:
    # Slots before a tenant was registered are never sent; the world is made today.
    world.tenant.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    session.commit()


def _set_tz(session: Session, world: World, tz_name: str) -> None:
    apply_change(session, world.org, OrgChange(tz_name=tz_name), actor="test")
    session.commit()


# --------------------------------------------------------------------------- the environment


def test_environment_gives_a_new_organisation_its_values_only() -> None:
    settings = load_settings({"TZ_NAME": "Europe/London", "QUIET_HOURS_START": "22:30",
                              "QUIET_HOURS_END": "07:15"})
    org = new_organisation("Aarhus Kommune", settings)
    assert (org.tz_name, org.quiet_start, org.quiet_end) == (
        "Europe/London", time(22, 30), time(7, 15))
    default = new_organisation("Odense Kommune")
    assert (default.tz_name, default.quiet_start, default.quiet_end) == (
        "Europe/Copenhagen", time(21), time(8))


def test_import_creates_the_organisation_with_the_environment_defaults(
        db_url: str, tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    csv = tmp_path / "landlords.csv"
    csv.write_text("email,name,company,phone\nll@a.example,Lis,Bolig ApS,\n", encoding="utf-8")
    result = run(db_url, "import", "landlords", str(csv), "--organisation", "Aarhus Kommune",
                 TZ_NAME="Europe/London", QUIET_HOURS_START="22:00", QUIET_HOURS_END="07:00")
    assert result.exit_code == 0, result.output
    # A later process with other defaults changes nothing for the organisation that exists.
    result = run(db_url, "import", "landlords", str(csv), "--organisation", "Aarhus Kommune",
                 TZ_NAME="Europe/Paris", QUIET_HOURS_START="20:00")
    assert result.exit_code == 0, result.output
    with sessions() as s:
        org = s.scalars(select(Organisation)).one()
        assert (org.tz_name, org.quiet_start, org.quiet_end) == (
            "Europe/London", time(22), time(7))


# --------------------------------------------------------------------------- readers


def test_quiet_hours_of_the_organisation_decide_when_a_checkin_goes(
        session: Session, sessions: sessionmaker[Session], world: World) -> None:
    world.tenant.checkin_time = time(21, 30)  # Tuesdays 21:30 local: quiet by default
    _registered_long_ago(session, world)
    tuesday_2130 = datetime(2026, 3, 3, 20, 30, tzinfo=UTC)
    planner.plan_checkins(sessions, now=tuesday_2130)
    first = session.scalars(select(OutboxItem)).one()
    assert first.next_attempt_at == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # 08:00 next day

    apply_change(session, world.org, OrgChange(quiet=parse_window("23:00-07:00")), actor="t")
    session.commit()
    planner.plan_checkins(sessions, now=datetime(2026, 3, 10, 20, 30, tzinfo=UTC))
    second = session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
    assert second is not None and second.next_attempt_at == datetime(2026, 3, 10, 20, 30,
                                                                      tzinfo=UTC)


def test_time_zone_of_the_organisation_decides_the_checkin_slot(
        session: Session, sessions: sessionmaker[Session], world: World) -> None:
    _registered_long_ago(session, world)
    _set_tz(session, world, NEW_YORK)
    # Tuesday 10:00 in New York is 15:00 UTC (EST); in Copenhagen it would be 09:00 UTC.
    planner.plan_checkins(sessions, now=datetime(2026, 3, 3, 15, 1, tzinfo=UTC))
    [checkin] = session.scalars(select(CheckIn)).all()
    assert checkin.slot_at == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(("tz_name", "sent_at_once"), [("Europe/Copenhagen", True),
                                                        (NEW_YORK, False)])
def test_escalation_working_hours_are_in_the_organisations_time_zone(
        session: Session, sessions: sessionmaker[Session], settings: Settings, world: World,
        tz_name: str, sent_at_once: bool) -> None:
    _set_tz(session, world, tz_name)
    at = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in Copenhagen, 03:00 in New York
    alert, _ = raise_alert(session, source="delivery_failed", summary="low", tenant=world.tenant,
                           now=at)
    session.commit()
    run_escalation(sessions, settings, now=at)
    session.expire_all()
    sent = session.scalars(select(OutboxItem)).all()
    assert bool(sent) is sent_at_once
    if not sent_at_once:  # waits for 08:00 in New York (13:00 UTC)
        assert session.get(type(alert), alert.id).next_action_at == datetime(  # type: ignore[union-attr]
            2026, 3, 3, 13, 0, tzinfo=UTC)


def test_working_hours_set_for_every_team_change_escalation(
        session: Session, sessions: sessionmaker[Session], settings: Settings,
        world: World) -> None:
    apply_change(session, world.org, OrgChange(work=parse_window("10:00-18:00")), actor="t")
    session.commit()
    at = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 local: before 10:00
    raise_alert(session, source="delivery_failed", summary="low", tenant=world.tenant, now=at)
    session.commit()
    run_escalation(sessions, settings, now=at)
    assert session.scalars(select(OutboxItem)).all() == []
    run_escalation(sessions, settings, now=datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    assert session.scalars(select(OutboxItem)).all() != []


def test_landlord_dates_are_in_the_homes_municipality(session: Session, world: World) -> None:
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 2 March in Copenhagen, 1 March in NY

    def line() -> str:
        return landlord_texts.mine_line("da", reference="TH-1", address="Vej 1",
                                        category_key="noise", status_key="received",
                                        created=late, updated=late,
                                        zone=home_zone(world.home))

    assert "02.03.2026" in line()
    _set_tz(session, world, NEW_YORK)
    assert "01.03.2026" in line() and "02.03.2026" not in line()


def test_dashboard_shows_times_and_today_in_the_organisations_zone(
        client: Any, session: Session, world: World) -> None:
    with_passwords(session, world)
    _set_tz(session, world, "Pacific/Auckland")
    world.tenant.consent_at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 2 March 12:30 NZDT
    session.commit()
    # 1 March 12:00 UTC is already 2 March in Auckland: the date picker may not offer 1 March.
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        login(client, world.caseworker.email)
        html = client.get(f"/dashboard/tenants/{world.tenant.id}").get_data(as_text=True)
    assert "02.03.2026 12:30" in html
    assert 'min="2026-03-02"' in html


def test_local_today_is_the_organisations_date() -> None:
    now = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert local_today("Europe/Copenhagen", now).isoformat() == "2026-03-02"
    assert local_today(NEW_YORK, now).isoformat() == "2026-03-01"


# --------------------------------------------------------------------------- trygthjem org


def test_org_show_and_set_validate_change_and_audit(
        db_url: str, world: World, sessions: sessionmaker[Session]) -> None:
    shown = run(db_url, "org", "show")
    assert shown.exit_code == 0, shown.output
    assert "Odense Kommune" in shown.output and "Europe/Copenhagen" in shown.output
    assert "21:00-08:00" in shown.output and "08:00-16:00" in shown.output
    assert "Mon-Fri except DK public holidays" in shown.output

    changed = run(db_url, "org", "set", "Odense Kommune", "--tz", "Europe/London",
                  "--quiet", "22:00-07:30", "--work", "09:00-17:00", "--reminder-after", "12",
                  "--missed-after", "36")
    assert changed.exit_code == 0, changed.output
    assert "tz: Europe/Copenhagen -> Europe/London" in changed.output
    with sessions() as s:
        org = s.get(Organisation, world.org.id)
        team = s.get(Team, world.team.id)
        assert org is not None and team is not None
        assert (org.tz_name, org.quiet_start, org.quiet_end) == (
            "Europe/London", time(22), time(7, 30))
        assert (org.reminder_after_hours, org.missed_after_hours) == (12, 36)
        assert (team.work_start, team.work_end) == (time(9), time(17))
        [event] = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "organisation.settings")).all()
        assert event.actor == "cli" and event.detail["changed"]["tz"] == [
            "Europe/Copenhagen", "Europe/London"]
    again = run(db_url, "org", "set", str(world.org.id), "--tz", "Europe/London")
    assert again.exit_code == 0 and "Nothing changed." in again.output


@pytest.mark.parametrize(("args", "message"), [
    (["--tz", "Mars/Olympus"], "Unknown time zone"),
    (["--quiet", "21-08"], "not a window"),
    (["--quiet", "25:00-08:00"], "hours are 0-23"),
    (["--work", "16:00-08:00"], "start before they end"),
    (["--reminder-after", "48", "--missed-after", "24"], "missed_after must be longer"),
])
def test_org_set_refuses_bad_values_and_changes_nothing(
        db_url: str, world: World, sessions: sessionmaker[Session], args: list[str],
        message: str) -> None:
    result = run(db_url, "org", "set", "Odense Kommune", *args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output
    with sessions() as s:
        org = s.get(Organisation, world.org.id)
        assert org is not None and org.tz_name == "Europe/Copenhagen"
        assert (org.reminder_after_hours, org.missed_after_hours) == (24, 48)
        assert s.scalars(select(AuditEvent)).all() == []


def test_org_unknown_name_is_one_clear_line(db_url: str, world: World) -> None:
    result = run(db_url, "org", "show", "Atlantis")
    assert result.exit_code != 0 and "'Atlantis' is not an organisation" in result.output
    assert "Odense Kommune" in result.output
