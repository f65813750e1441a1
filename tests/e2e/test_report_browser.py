"""The report page in headless Chromium: charts drawn, numbers beside them, usable at 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from bot.casework.passwords import set_password
from bot.models import Caseworker, Role, Team
from tests.support.dashboard import PASSWORD
from tests.support.live_server import serve_wsgi
from tests.support.report_data import generate_year

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp")


@pytest.fixture
def base_url(runtime: Any) -> Iterator[str]:
    from webhooks import create_app

    runtime.settings = replace(runtime.settings, public_base_url="http://127.0.0.1")
    with serve_wsgi(create_app(runtime)) as url:
        yield url


def _admin_with_a_year(session: Session) -> None:
    gen = generate_year(session, tenants=120, seed=11)
    team = session.get(Team, gen.team_ids[0])
    boss = Caseworker(team=team, email="admin@x.example", name="Karen Dahl", role=Role.ADMIN)
    set_password(boss, PASSWORD)
    session.add(boss)
    session.commit()


def _open_report(page: Page, base_url: str) -> None:
    page.goto(base_url + "/dashboard/login")
    page.get_by_label("E-mail").fill("admin@x.example")
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.get_by_role("link", name="Rapport").click()
    page.get_by_label("Fra", exact=True).fill("2025-01-01")
    page.get_by_label("Til", exact=True).fill("2025-12-31")
    page.get_by_role("button", name="Vis").click()


def test_report_page_desktop(page: Page, base_url: str, session: Session) -> None:
    _admin_with_a_year(session)
    page.set_viewport_size({"width": 1280, "height": 900})
    _open_report(page, base_url)
    expect(page.get_by_role("heading", name="Indsatsrapport: Odense Kommune")).to_be_visible()
    expect(page.get_by_role("heading", name="Kommune: Odense Kommune")).to_be_visible()
    charts = page.locator(".report-chart svg")
    assert charts.count() >= 8  # two per scope: the municipality and its teams
    # Bars are drawn, and their numbers are in the table beside the chart.
    first = page.locator(".report-chart").first
    assert first.locator("svg .bar rect, svg rect.rect").count() >= 12
    expect(first.locator("table")).to_contain_text("Check-ins sendt")
    box_chart = first.locator("svg").bounding_box()
    assert box_chart is not None and box_chart["height"] > 150
    box_table = first.locator("table").bounding_box()
    assert box_table is not None
    assert box_table["x"] >= box_chart["x"] + box_chart["width"]  # beside the chart
    assert box_table["y"] < box_chart["y"] + box_chart["height"]
    page.screenshot(path=str(SHOTS / "trygthjem-report-desktop.png"), full_page=False)
    table = page.locator(".report-scroll").first
    expect(table).to_contain_text("Svarprocent")
    table.screenshot(path=str(SHOTS / "trygthjem-report-table.png"))


def test_report_page_on_a_phone(browser: Browser, base_url: str, session: Session) -> None:
    _admin_with_a_year(session)
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        _open_report(page, base_url)
        chart = page.locator(".report-chart svg").first
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] <= 390 and box["height"] > 80
        # The page itself does not scroll sideways; the wide table scrolls in its own box.
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(SHOTS / "trygthjem-report-390.png"), full_page=False)
        wide = page.evaluate("""[...document.querySelectorAll('body *')].filter(e =>
            e.getBoundingClientRect().right > 392).slice(0, 8).map(e => e.tagName + '.' +
            e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
        assert width <= 392, (width, wide)
        page.screenshot(path=str(SHOTS / "trygthjem-report-390.png"), full_page=False)
    finally:
        context.close()
