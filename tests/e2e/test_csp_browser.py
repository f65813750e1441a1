"""Every dashboard and demo page in Chromium under the real Content-Security-Policy: no
violation reported, and the pages' own scripts still work (they come from static files)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import raise_alert
from tests.support.dashboard import PASSWORD, admin, with_passwords
from tests.support.factories import World
from tests.support.live_server import serve_wsgi
from webhooks import create_app

pytestmark = pytest.mark.browser

# Runs before any page script, outside the page's CSP: records every violation the browser sees.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


def _check(page: Page, console: list[str]) -> None:
    violations = page.evaluate("window.__csp")
    assert violations == [], f"{page.url}: {violations}"
    assert [m for m in console if "Content Security Policy" in m] == [], page.url


def test_no_csp_violation_on_any_page(runtime: Any, session: Session, world: World,
                                      page: Page) -> None:
    with_passwords(session, world)
    admin(session, world)
    alert, _ = raise_alert(session, source="crisis", summary="Krise", tenant=world.tenant)
    session.commit()
    runtime.settings = replace(runtime.settings, public_base_url="http://127.0.0.1")
    app: Flask = create_app(runtime)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.add_init_script(RECORD_VIOLATIONS)
    try:
        with serve_wsgi(app) as base:
            page.goto(base + "/dashboard/login")
            _check(page, console)
            page.get_by_label("E-mail").fill("admin@odense.example")
            page.get_by_label("Adgangskode").fill(PASSWORD)
            page.get_by_role("button", name="Log ind").click()
            expect(page.get_by_role("heading", name="Alarmer")).to_be_visible()
            for path in ("/dashboard/", f"/dashboard/alerts/{alert.id}", "/dashboard/tenants",
                         f"/dashboard/tenants/{world.tenant.id}", "/dashboard/me",
                         "/dashboard/audit", "/dashboard/report",
                         "/dashboard/tenants/999999"):
                page.goto(base + path)
                expect(page.locator("main")).to_be_visible()
                # The stylesheet applied (a blocked one leaves the page unstyled).
                assert page.evaluate("document.styleSheets.length") >= 1, path
                _check(page, console)

            page.goto(base + "/demo/phone")
            page.select_option("#who", world.tenant.phone)
            page.fill("#body", "hej")
            page.click("#send")
            expect(page.locator(".bubble.in").last).to_have_text("hej")
            assert page.evaluate(
                "getComputedStyle(document.querySelector('.phone')).borderRadius") != "0px"
            _check(page, console)

            page.goto(base + "/demo/telegram")
            page.get_by_role("button", name="Åbn invitationslinket").click()
            expect(page.locator(".msg.bot").first).to_be_visible()
            _check(page, console)
    finally:
        demo = app.extensions.get("demo_telegram")
        if demo is not None:
            demo.runner.stop()
