"""The dashboard in a real headless Chromium (Playwright) against a live WSGI server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import raise_alert
from bot.models import Alert, AuditEvent, Tenant, utcnow
from tests.support.dashboard import PASSWORD, other_team, with_passwords
from tests.support.factories import make_world
from tests.support.live_server import serve_wsgi

pytestmark = pytest.mark.browser


@pytest.fixture
def base_url(runtime: Any) -> Iterator[str]:
    from webhooks import create_app

    # Plain http on 127.0.0.1, so the session cookie is not marked Secure here.
    runtime.settings = replace(runtime.settings, public_base_url="http://127.0.0.1")
    with serve_wsgi(create_app(runtime)) as url:
        yield url


def _login(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Log ind").click()


def test_login_refuses_wrong_password(page: Page, base_url: str, session: Session) -> None:
    with_passwords(session, make_world(session))
    _login(page, base_url, "cw@odense.example", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("Forkert e-mail eller adgangskode")
    expect(page).to_have_url(base_url + "/dashboard/login")
    _login(page, base_url, "cw@odense.example")
    expect(page.get_by_role("heading", name="Alarmer")).to_be_visible()


def test_queue_ordered_by_severity_then_deadline(page: Page, base_url: str,
                                                 session: Session) -> None:
    w = with_passwords(session, make_world(session))
    t2 = Tenant(organisation=w.org, name="Bo Christiansen", phone="+4528000302",
                caseworker=w.colleague, home=w.other_home)
    t3 = Tenant(organisation=w.org, name="Kasper Møller", phone="+4528000303",
                caseworker=w.caseworker, home=w.home)
    t4 = Tenant(organisation=w.org, name="Lise Holm", phone="+4528000304",
                caseworker=w.caseworker, home=w.other_home)  # one case per tenant: 4 tenants
    session.add_all([t2, t3, t4])
    session.flush()
    now = utcnow()
    low, _ = raise_alert(session, source="missed", summary="quiet", tenant=w.tenant,
                         severity="low", now=now - timedelta(hours=3))
    high_late, _ = raise_alert(session, source="need_help", summary="help", tenant=t2, now=now)
    crit, _ = raise_alert(session, source="crisis", summary="crisis", tenant=t3, now=now)
    high_early, _ = raise_alert(session, source="call_me", summary="call", tenant=t4,
                                now=now - timedelta(minutes=30))
    session.commit()
    _login(page, base_url, "cw@odense.example")
    rows = page.locator("ul.queue > li")
    expect(rows).to_have_count(4)
    ids = [int(x) for x in rows.evaluate_all("rs => rs.map(r => r.dataset.alertId)")]
    assert ids == [crit.id, high_early.id, high_late.id, low.id]
    expect(rows.nth(0)).to_contain_text("Kritisk")
    expect(rows.nth(3)).to_contain_text("Lav")
    page.screenshot(path="/tmp/trygthjem-queue.png", full_page=True)


def test_acknowledge_and_resolve_update_the_timeline(page: Page, base_url: str,
                                                     session: Session) -> None:
    w = with_passwords(session, make_world(session))
    alert, _ = raise_alert(session, source="need_help", summary="Anna svarede 3",
                           tenant=w.tenant)
    session.commit()
    _login(page, base_url, "cw@odense.example")
    page.get_by_role("link", name=f"#{alert.id}").click()
    timeline = page.locator("#timeline li")
    expect(timeline).to_have_count(1)
    expect(page.locator("#alert-state")).to_have_text("Åben")
    page.get_by_role("button", name="Kvittér").click()
    expect(page.locator("#alert-state")).to_have_text("Kvitteret")
    expect(timeline).to_have_count(2)
    expect(timeline.first).to_contain_text("Kvitteret")
    expect(timeline.first).to_contain_text("Jonas Berg")
    page.get_by_role("button", name="Løst").click()
    expect(page.locator("#alert-state")).to_have_text("Løst")
    expect(timeline).to_have_count(3)
    # A closed alert offers only what its state allows: reopening, no "Kvittér".
    expect(page.get_by_role("button", name="Kvittér")).to_have_count(0)
    expect(page.get_by_role("button", name="Genåbn")).to_be_visible()
    session.expire_all()
    assert session.get(Alert, alert.id).state == "resolved"


def test_tenant_page_writes_an_audit_record(page: Page, base_url: str,
                                            session: Session) -> None:
    w = with_passwords(session, make_world(session))
    _login(page, base_url, "cw@odense.example")
    page.get_by_role("link", name="Lejere").click()
    page.get_by_role("link", name="Anna Sørensen").click()
    expect(page.get_by_role("heading", name="Anna Sørensen", exact=True)).to_be_visible()
    expect(page.locator("#consent")).to_contain_text("Givet")
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "view")).all()
    assert [(e.actor, e.subject_type, e.subject_id) for e in events] == [
        (f"caseworker:{w.caseworker.id}", "tenant", str(w.tenant.id))]


def test_other_team_cannot_open_the_tenant(page: Page, base_url: str,
                                           session: Session) -> None:
    w = with_passwords(session, make_world(session))
    _team, south = other_team(session, w)
    _login(page, base_url, south.email)
    expect(page.get_by_role("heading", name="Alarmer")).to_be_visible()
    response = page.goto(f"{base_url}/dashboard/tenants/{w.tenant.id}")
    assert response is not None and response.status == 404
    expect(page.locator("main")).not_to_contain_text("Anna")
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "view")).all() == []


def test_forms_carry_csrf_token_and_english_toggle(page: Page, base_url: str,
                                                   session: Session) -> None:
    w = with_passwords(session, make_world(session))
    _login(page, base_url, "cw@odense.example")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    page.goto(f"{base_url}/dashboard/tenants/{w.tenant.id}")
    # Tamper with the token in the page: the server refuses the form.
    page.locator("form[action$='/notes'] input[name=csrf_token]").evaluate(
        "el => el.value = 'forged'")
    page.get_by_label("New note").fill("should not be saved")
    page.get_by_role("button", name="Save note").click()
    expect(page.locator("h1")).to_have_text("400")
    page.go_back()
    page.reload()
    page.get_by_label("New note").fill("Saved with a real token")
    page.get_by_role("button", name="Save note").click()
    expect(page.locator(".note").first).to_contain_text("Saved with a real token")
