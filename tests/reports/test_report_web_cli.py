"""The report page (who sees which figures), its downloads, and `trygthjem report`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import time_machine
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.passwords import set_password
from bot.cli import main
from bot.models import AuditEvent, Caseworker, Organisation, Role, Team
from tests.support.dashboard import PASSWORD, admin, login, other_team, with_passwords
from tests.support.factories import World, make_world
from tests.support.report_data import generate_year

YEAR = "from=2025-01-01&to=2025-12-31"


def _world_with_year(session: Session) -> tuple[World, Any]:
    gen = generate_year(session, tenants=40, seed=7)
    org = session.get(Organisation, gen.org_id)
    team = session.get(Team, gen.team_ids[0])
    assert org is not None and team is not None
    lead = Caseworker(team=team, email="lead@x.example", name="Lead", role=Role.TEAM_LEAD)
    boss = Caseworker(team=team, email="admin@x.example", name="Admin", role=Role.ADMIN)
    cw = Caseworker(team=team, email="cw@x.example", name="Worker", role=Role.CASEWORKER)
    for person in (lead, boss, cw):
        set_password(person, PASSWORD)
    session.add_all([lead, boss, cw])
    session.commit()
    return gen, team


def test_caseworkers_do_not_see_the_report(client: Any, session: Session) -> None:
    _world_with_year(session)
    login(client, "cw@x.example")
    assert client.get(f"/dashboard/report?{YEAR}").status_code == 404
    assert client.get(f"/dashboard/report?{YEAR}&format=csv").status_code == 404
    assert "/dashboard/report" not in client.get("/dashboard/").get_data(as_text=True)


def test_team_lead_sees_their_team_only(client: Any, session: Session) -> None:
    gen, team = _world_with_year(session)
    login(client, "lead@x.example")
    other = gen.team_ids[1]
    page = client.get(f"/dashboard/report?{YEAR}&team={other}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"Team: {team.name}" in text and "Kommune: Odense Kommune" not in text
    assert "<svg" in text and "Check-ins sendt" in text
    data = json.loads(client.get(f"/dashboard/report?{YEAR}&team={other}&format=json").data)
    assert [s["name"] for s in data["scopes"]] == [team.name]


def test_admin_sees_the_municipality_and_may_pick_a_team(client: Any, session: Session) -> None:
    gen, _team = _world_with_year(session)
    login(client, "admin@x.example")
    text = client.get(f"/dashboard/report?{YEAR}").get_data(as_text=True)
    assert "Kommune: Odense Kommune" in text and "Vejle" not in text
    picked = json.loads(client.get(
        f"/dashboard/report?{YEAR}&team={gen.team_ids[2]}&format=json").data)
    assert [s["kind"] for s in picked["scopes"]] == ["team"]
    vejle = session.scalar(select(Team.id).where(Team.name == "Vejle Team"))
    assert client.get(f"/dashboard/report?{YEAR}&team={vejle}").status_code == 404
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "report")).all()
    assert len(audit) == 2 and audit[0].actor.startswith("caseworker:")


def test_downloads_and_bad_input(client: Any, session: Session) -> None:
    _world_with_year(session)
    login(client, "admin@x.example")
    csv_response = client.get(f"/dashboard/report?{YEAR}&format=csv&shareable=1")
    assert csv_response.status_code == 200
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["Content-Disposition"]
    body = csv_response.data.decode("utf-8")
    assert body.startswith("\ufeff") and ";<5;" in body
    for bad in ("from=2025-13-01&to=2025-12-31", "from=2025-06-01&to=2025-01-01",
                "from=2000-01-01&to=2025-12-31", "from=\x00&to=zzz", "team=99999999999",
                "team=²", "format=exe"):
        response = client.get(f"/dashboard/report?{bad}")
        assert response.status_code in (200, 400), bad
        assert "Indsatsrapport" in response.get_data(as_text=True)


def test_report_cli_formats(db_url: str, session: Session, tmp_path: Path,
                            monkeypatch: Any) -> None:
    _gen, team = _world_with_year(session)
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    base = ["report", "--from", "2025-01-01", "--to", "2025-12-31"]
    out = tmp_path / "r.csv"
    result = runner.invoke(main, [*base, "--format", "csv", "--organisation", "Odense Kommune",
                                  "--shareable", "-o", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw and b";<5;" in raw
    result = runner.invoke(main, [*base, "--format", "json", "--organisation", "Odense Kommune",
                                  "--team", team.name])
    assert result.exit_code == 0, result.output
    assert [s["name"] for s in json.loads(result.output)["scopes"]] == [team.name]
    html = runner.invoke(main, [*base, "--organisation", "Odense Kommune", "--lang", "en"])
    assert html.exit_code == 0 and "<svg" in html.output and "Check-ins sent" in html.output
    # Clear one-line refusals, never a traceback.
    assert "give --organisation" in runner.invoke(main, base).output
    wrong_team = runner.invoke(main, [*base, "--organisation", "Odense Kommune", "--team",
                                      "Vejle Team"])
    assert wrong_team.exit_code != 0 and "is not in Odense Kommune" in wrong_team.output
    backwards = runner.invoke(main, ["report", "--from", "2025-12-01", "--to", "2025-01-01",
                                     "--organisation", "Odense Kommune"])
    assert backwards.exit_code != 0 and "before it starts" in backwards.output
    bad = runner.invoke(main, ["report", "--from", "2025-02-30", "--to", "2025-03-01"])
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_report_for_the_demo_world(client: Any, session: Session) -> None:
    """A small world: the page renders with zeros and no data without errors."""
    w: World = with_passwords(session, make_world(session))
    other_team(session, w)
    admin(session, w)
    login(client, "admin@odense.example")
    response = client.get("/dashboard/report?lang=en")
    assert response.status_code == 200
    assert "Programme report" in response.get_data(as_text=True)


# 10:30 UTC on 1 July 2025: 12:30 summer time in Copenhagen, 09:30 in Nuuk (Greenland, UTC-1).
MADE = datetime(2025, 7, 1, 10, 30, tzinfo=UTC)


def test_made_at_is_the_municipalitys_local_time(client: Any, session: Session, db_url: str,
                                                 monkeypatch: Any) -> None:
    w = with_passwords(session, make_world(session))
    admin(session, w)
    monkeypatch.setenv("DATABASE_URL", db_url)
    with time_machine.travel(MADE, tick=False):
        login(client, "admin@odense.example")
        page = client.get(f"/dashboard/report?{YEAR}").get_data(as_text=True)
        # No "... UTC" time anywhere (the page's random CSRF token may hold the letters).
        assert "Lavet 2025-07-01 12:30 CEST." in page and not re.search(r"\d UTC\b", page)
        w.org.tz_name = "America/Nuuk"  # the organisation row decides, not a server default
        session.commit()
        page = client.get(f"/dashboard/report?{YEAR}").get_data(as_text=True)
        data = json.loads(client.get(f"/dashboard/report?{YEAR}&format=json").data)
        html = CliRunner().invoke(main, ["report", "--from", "2025-01-01", "--to", "2025-06-30",
                                         "--organisation", "Odense Kommune", "--lang", "en"])
    assert "Lavet 2025-07-01 09:30 UTC-01." in page
    assert data["generated_at"] == "2025-07-01T10:30:00+00:00"
    assert data["generated_at_local"] == "2025-07-01T09:30:00-01:00"
    assert data["time_zone"] == "America/Nuuk"
    assert html.exit_code == 0, html.output
    assert "Made 2025-07-01 09:30 UTC-01." in html.output
