"""Route x role matrix: nobody reads or changes another municipality's data, through any door.

Two municipalities. Svendborg's admin, team lead and caseworker try every dashboard page, every
API route (enumerated from the app's URL map, so a new route is covered the day it is added),
an SMS reply code and a Telegram button against Odense's tenant, its team alert, its alert with
no team (an unknown sender) and its concern about an empty home. Expected: 0 reads, 0 writes.
Odense's own admin opening the same pages is the control that the ids and routes are real.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import raise_alert
from bot.casework.alert_buttons import ButtonOutcome, press
from bot.casework.passwords import set_password
from bot.casework.sms_replies import handle_caseworker_sms
from bot.models import Alert, AuditEvent, CaseNote, Caseworker, Home, Organisation, Role, Team
from bot.models import Tenant as TenantRow
from tests.support.dashboard import PASSWORD, admin, csrf_from, login, with_passwords
from tests.support.factories import World

OUTSIDERS = ("admin@svendborg.example", "lead@svendborg.example", "cw@svendborg.example")


@dataclass
class Odense:
    world: World
    tenant_id: int
    team_alert_id: int
    orphan_alert_id: int
    concern_alert_id: int

    @property
    def alert_ids(self) -> tuple[int, int, int]:
        return self.team_alert_id, self.orphan_alert_id, self.concern_alert_id


@pytest.fixture
def odense(session: Session, world: World) -> Odense:
    with_passwords(session, world)
    admin(session, world)
    team_alert, _ = raise_alert(session, source="need_help", summary="Anna svarede 3",
                                tenant=world.tenant)
    orphan, _ = raise_alert(session, source="crisis", summary="Ukendt nummer +4520999999",
                            organisation_id=world.org.id)
    empty = Home(reference="FB-EMPTY", address="Tom Gade 1", postcode="5000", city="Odense C",
                 landlord=world.landlord, organisation=world.org)
    session.add(empty)
    session.flush()
    concern, _ = raise_alert(session, source="concern", summary="Intet livstegn i Tom Gade",
                             home=empty)
    svendborg = Organisation(name="Svendborg Kommune")
    team = Team(organisation=svendborg, name="Housing First Svendborg")
    people = [Caseworker(team=team, email=email, name=f"Svendborg {role}", role=role,
                         phone=f"+45270001{i:02d}", telegram_chat_id=7000 + i)
              for i, (email, role) in enumerate(zip(OUTSIDERS, (Role.ADMIN, Role.TEAM_LEAD,
                                                                Role.CASEWORKER), strict=True))]
    for person in people:
        set_password(person, PASSWORD)
    svendborg.intake_team = team  # Svendborg's intake team sees its own team-less alerts only
    session.add_all([svendborg, team, *people])
    session.commit()
    assert {team_alert.organisation_id, orphan.organisation_id, concern.organisation_id} \
        == {world.org.id}
    return Odense(world, world.tenant.id, team_alert.id, orphan.id, concern.id)


def _path(rule: Any, odense: Odense) -> list[str]:
    """Concrete URLs for a rule: each of Odense's objects for its id parameter."""
    args = set(rule.arguments)
    if not args:
        return [rule.rule]
    if args == {"alert_id"}:
        return [rule.rule.replace("<int:alert_id>", str(i)) for i in odense.alert_ids]
    if args == {"tenant_id"}:
        return [rule.rule.replace("<int:tenant_id>", str(odense.tenant_id))]
    raise AssertionError(f"teach this matrix the parameters of {rule.rule}: {sorted(args)}")


def _guarded_rules(app: Flask) -> list[Any]:
    return sorted((r for r in app.url_map.iter_rules()
                   if r.rule.startswith(("/dashboard", "/api/v1"))
                   and not r.rule.startswith(("/dashboard/static", "/dashboard/login"))
                   and r.rule != "/api/v1/openapi.json"),
                  key=lambda r: r.rule)


def _secrets(odense: Odense) -> list[str]:
    """What must never appear in another municipality's page."""
    w = odense.world
    return [w.tenant.name, w.tenant.phone, "Anna svarede 3", "+4520999999",
            "Intet livstegn i Tom Gade", w.caseworker.email, w.lead.email]


def _snapshot(session: Session, odense: Odense) -> dict[str, Any]:
    session.expire_all()
    alerts = [session.get(Alert, i) for i in odense.alert_ids]
    tenant = session.get(TenantRow, odense.tenant_id)
    assert tenant is not None
    return {
        "alerts": [(a.state, a.owner_id, a.team_id, a.steps_done) for a in alerts if a],
        "tenant": (tenant.checkins_paused_until, tenant.consent, tenant.erased_at, tenant.name),
        "notes": session.scalar(select(func.count()).select_from(CaseNote)),
    }


def _form(session: Session, email: str) -> dict[str, str]:
    me = session.scalar(select(Caseworker).where(Caseworker.email == email))
    assert me is not None
    return {"action": "resolve", "owner_id": str(me.id), "caseworker_id": str(me.id),
            "body": "Svendborg var her", "until": "2099-01-01", "consent": "withdrawn",
            "confirm": "yes"}


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_no_cross_municipality_read_or_write_through_any_route(
        app: Flask, client: Any, session: Session, odense: Odense, outsider: str) -> None:
    before = _snapshot(session, odense)
    assert login(client, outsider).status_code == 302
    token = csrf_from(client.get("/dashboard/tenants").get_data(as_text=True))
    form = _form(session, outsider)
    tried = 0
    for rule in _guarded_rules(app):
        for path in _path(rule, odense):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if path == "/dashboard/logout":
                    continue
                if method == "GET":
                    r = client.get(path)
                elif path.startswith("/api/"):
                    r = client.post(path, json=form)
                else:
                    r = client.post(path, data={**form, "csrf_token": token})
                tried += 1
                body = r.get_data(as_text=True)
                leaked = [s for s in _secrets(odense) if s in body]
                assert not leaked, (outsider, method, path, leaked)
                if set(rule.arguments):  # an Odense object: it does not exist for Svendborg
                    assert r.status_code in (403, 404), (outsider, method, path, r.status_code)
    assert tried >= 20
    assert _snapshot(session, odense) == before
    reads = session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "tenant", AuditEvent.subject_id == str(odense.tenant_id),
        AuditEvent.action.in_(["view", "view_alert", "export"]))).all()
    assert reads == []


def test_the_matrix_reaches_real_pages_for_their_own_municipality(
        app: Flask, client: Any, session: Session, odense: Odense) -> None:
    """Control: Odense's admin gets every GET page of Odense's objects (so 404 above means
    'not yours', not 'no such route')."""
    assert login(client, "admin@odense.example").status_code == 302
    for rule in _guarded_rules(app):
        if rule.endpoint == "dashboard.alert_photo":
            continue  # 404 here: no photo in Telegram (its access check is the alert page's)
        if "GET" in rule.methods and set(rule.arguments):
            for path in _path(rule, odense):
                assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_sms_reply_codes_and_telegram_buttons_refuse_another_municipality(
        session: Session, odense: Odense, outsider: str) -> None:
    before = _snapshot(session, odense)
    person = session.scalar(select(Caseworker).where(Caseworker.email == outsider))
    assert person is not None and person.telegram_chat_id is not None
    for alert_id in odense.alert_ids:
        for code in (f"{alert_id} OK", f"LØST {alert_id}"):
            answer = handle_caseworker_sms(session, person, code)
            assert str(alert_id) in answer and "OK" not in answer.split(".")[0], answer
        for data in (f"alert:{alert_id}:ack", f"alert:{alert_id}:resolve"):
            assert press(session, person.telegram_chat_id, data).outcome \
                == ButtonOutcome.NOT_FOUND
    session.commit()
    assert _snapshot(session, odense) == before


def test_audit_log_shows_only_the_own_municipality(
        client: Any, session: Session, odense: Odense) -> None:
    assert login(client, "admin@odense.example").status_code == 302
    assert client.get(f"/dashboard/tenants/{odense.tenant_id}").status_code == 200
    client.post("/dashboard/logout", data={"csrf_token": csrf_from(
        client.get("/dashboard/").get_data(as_text=True))})
    assert login(client, "admin@svendborg.example").status_code == 302
    page = client.get("/dashboard/audit").get_data(as_text=True)
    assert "admin@svendborg.example" in page or "login" in page
    for secret in ("admin@odense.example", f">{odense.tenant_id}<", "cw@odense.example"):
        assert secret not in page, secret
    assert re.search(r"odense", page, re.IGNORECASE) is None
