"""The caseworker workspace in a real Chromium against the live app, Twilio on Prism.

The issue's flow: a tenant texts "3" and then "jeg har det skidt, min bror er død" through the
signed Twilio webhook; the caseworker opens the alert, reads the words, answers by SMS from the
page; the worker hands the SMS to Prism (Twilio's API); the tenant's reply and the delivery
status show on the conversation. Every dashboard page is also checked at 390 x 844 (no
horizontal scroll) and photographed, desktop and phone, under tests/artifacts/screens/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import raise_alert
from bot.channels.registry import build_channels
from bot.core.config import TelegramSettings
from bot.models import Alert, Concern, Message, OutboxItem, OutboxStatus
from bot.models.messaging import STUCK
from bot.runtime import Runtime
from scheduler.runner import run_once
from tests.support.dashboard import PASSWORD, admin, with_passwords
from tests.support.factories import World, make_world
from tests.support.live_server import serve_wsgi
from tests.support.sms import SMS_PATH, STATUS_PATH, inbound_form, sign, sms_settings

pytestmark = [pytest.mark.browser, pytest.mark.emulator]

SCREENS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BASE = "http://127.0.0.1"  # the signed-webhook base; plain http so the session cookie works
WORDS = "jeg har det skidt, min bror er død"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff"
       b"\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


@dataclass
class Live:
    runtime: Runtime
    app: Flask
    url: str

    def text(self, phone: str, body: str) -> None:
        """``phone`` texts ``body`` to the service (Twilio's signed webhook)."""
        form = inbound_form(phone, body)
        r = self.app.test_client().post(SMS_PATH, data=form, headers={
            "X-Twilio-Signature": sign(SMS_PATH, form, base=BASE)})
        assert r.status_code == 200

    def status(self, sid: str, status: str) -> None:
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
        r = self.app.test_client().post(STATUS_PATH, data=form, headers={
            "X-Twilio-Signature": sign(STATUS_PATH, form, base=BASE)})
        assert r.status_code in (200, 204), r.get_data(as_text=True)


@pytest.fixture
def live(db_url: str, prism_dynamic_url: str, engine: Engine,
         sessions: sessionmaker[Session]) -> Iterator[Live]:
    from webhooks import create_app

    settings = replace(sms_settings(db_url, api_url=prism_dynamic_url), public_base_url=BASE,
                       sms_rate_per_second=1000.0)
    runtime = Runtime(settings, engine, sessions, build_channels(settings))
    app = create_app(runtime)
    with serve_wsgi(app) as url:
        yield Live(runtime, app, url)


def _login(page: Page, live: Live, email: str) -> None:
    page.goto(live.url + "/dashboard/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Adgangskode").fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Alarmer")).to_be_visible()


def _shoot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def test_tenant_texts_caseworker_answers_from_the_page_reply_shows(
        page: Page, live: Live, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    live.text(w.tenant.phone, "3")
    live.text(w.tenant.phone, WORDS)
    run_once(live.runtime)  # the caseworker is alerted (escalation + dispatch)
    [alert] = [a for a in session.scalars(select(Alert).order_by(Alert.id.desc()))
               if any(e.detail.get("text") for e in a.events)][:1]

    _login(page, live, w.caseworker.email)
    page.locator(f"[data-alert-id='{alert.id}'] a.title").click()
    trigger = page.locator("#trigger")
    expect(trigger).to_contain_text(WORDS)  # the tenant's own words, in full
    expect(page.locator("#tenant-phone")).to_have_attribute("href", f"tel:{w.tenant.phone}")
    expect(page.locator("#messages")).to_contain_text("3")

    page.get_by_label("Færdigt svar").select_option("call_today")
    expect(page.get_by_label("Besked", exact=True)).to_have_value("Jeg ringer til dig i dag.")
    page.get_by_label("Besked", exact=True).fill("Jeg ringer til dig i dag kl. 14. Hilsen Jonas")
    page.get_by_role("button", name="Send SMS").click()
    expect(page.locator(".flash")).to_contain_text("er på vej")
    expect(page.locator("#messages li").first).to_contain_text("Venter på at blive sendt")

    run_once(live.runtime)  # the worker hands it to Twilio (Prism)
    session.expire_all()
    [row] = session.scalars(select(OutboxItem).where(OutboxItem.kind == "caseworker_message"))
    assert row.status == OutboxStatus.SENT, row.last_error
    assert row.provider_id and re.match(r"^(SM|MM)[0-9a-fA-F]{32}$", row.provider_id)
    sms_channel: Any = live.runtime.channels["sms"]
    sent = sms_channel.http_client._test_only_last_request  # what Prism received
    assert (sent.data["To"], sent.data["Body"]) == (
        w.tenant.phone, "Jeg ringer til dig i dag kl. 14. Hilsen Jonas")

    live.status(row.provider_id, "delivered")
    live.text(w.tenant.phone, "Tak, det er fint")
    page.reload()
    # Newest first: the tenant's reply (and the service's automatic answer to it) above the
    # caseworker's SMS, which Twilio reported delivered.
    expect(page.locator("#messages li.msg-in").first).to_contain_text("Tak, det er fint")
    mine = page.locator("#messages li", has_text="Hilsen Jonas")
    expect(mine).to_contain_text("Fra en medarbejder")
    expect(mine).to_contain_text("Leveret")
    expect(page.locator("#timeline")).to_contain_text("SMS til lejeren")
    _shoot(page, "flow-alert-after-answer-desktop")
    page.set_viewport_size(PHONE)
    _shoot(page, "flow-alert-after-answer-phone")
    logged = session.scalar(select(Message).where(Message.provider_id == row.provider_id))
    assert logged is not None and logged.status == "delivered"


def _pages(live: Live, w: World, alert_id: int, concern_alert_id: int) -> dict[str, str]:
    return {
        "queue": "/dashboard/", "queue-resolved": "/dashboard/?state=resolved",
        "alert": f"/dashboard/alerts/{alert_id}",
        "alert-concern": f"/dashboard/alerts/{concern_alert_id}",
        "tenants": "/dashboard/tenants", "tenant": f"/dashboard/tenants/{w.tenant.id}",
        "me": "/dashboard/me", "audit": "/dashboard/audit",
        "not-found": "/dashboard/alerts/999999",
    }


@pytest.fixture
def photo_server(httpserver: HTTPServer) -> str:
    token = "42:photo"
    httpserver.expect_request(f"/bot{token}/getFile").respond_with_json(
        {"ok": True, "result": {"file_id": "PHOTO", "file_path": "photos/file_1.png"}})
    httpserver.expect_request(f"/file/bot{token}/photos/file_1.png").respond_with_data(
        PNG, content_type="image/png")
    return httpserver.url_for("/").rstrip("/")


def _concern(session: Session, w: World) -> Alert:
    w.landlord.phone = "+4566112233"
    concern = Concern(reference="TH-2026-0042", landlord=w.landlord, home=w.home,
                      category="no_sign_of_life", urgency="urgent_today",
                      description="Ingen har set Anna i en uge, og posten hober sig op.",
                      photo_file_id="PHOTO")
    session.add(concern)
    session.flush()
    alert, _ = raise_alert(session, source="concern", concern=concern, home=w.home,
                           tenant=w.tenant, summary="TH-2026-0042: no_sign_of_life",
                           detail={"category": "no_sign_of_life", "urgency": "urgent_today"})
    return alert


def test_every_page_fits_a_phone_and_is_photographed(
        page: Page, live: Live, session: Session, photo_server: str) -> None:
    live.runtime.settings = replace(live.runtime.settings, telegram=TelegramSettings(
        "42:photo", api_url=photo_server))
    w = with_passwords(session, make_world(session))
    boss = admin(session, w)
    long_name = "Marie-Louise Østergaard-Kristiansen"
    w.tenant.name = long_name
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant,
                           detail={"answer": 3, "text": WORDS * 3})
    concern_alert = _concern(session, w)
    # A text whose processing failed for good: the tenant's page shows it as not handled.
    session.add(Message(direction="in", channel="sms", provider_id="SMstuck", body="3",
                        sender=w.tenant.phone, recipient="+4570103000", status=STUCK,
                        process_failures=5))
    session.commit()
    _login(page, live, boss.email)
    for name, path in _pages(live, w, alert.id, concern_alert.id).items():
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            page.goto(live.url + path)
            _shoot(page, f"{name}-{label}")
            if label == "phone":
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"{name} is {width} px wide at 390"
                small = page.evaluate("""() => [...document.querySelectorAll(
                    'main button, main select, main input:not([type=hidden]), .top a, ' +
                    '.top button, .tabs a')].filter(e => e.offsetParent !== null)
                    .map(e => [e.outerHTML.slice(0, 60),  // a checkbox's target is its label
                               (e.closest('label.check') || e).getBoundingClientRect().height])
                    .filter(([, h]) => h < 44)""")
                assert small == [], f"{name}: touch targets under 44 px: {small}"
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/dashboard/login")
    page.context.clear_cookies()
    page.goto(live.url + "/dashboard/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shoot(page, "login-phone")


def test_landlord_concern_shows_description_and_photo_and_landlord_learns_no_tenant_detail(
        page: Page, live: Live, session: Session, photo_server: str) -> None:
    live.runtime.settings = replace(live.runtime.settings, telegram=TelegramSettings(
        "42:photo", api_url=photo_server))
    w = with_passwords(session, make_world(session))
    w.landlord.telegram_chat_id = 9001
    alert = _concern(session, w)
    session.commit()
    _login(page, live, w.caseworker.email)
    page.goto(f"{live.url}/dashboard/alerts/{alert.id}")
    expect(page.locator("#concern-description")).to_have_text(
        "Ingen har set Anna i en uge, og posten hober sig op.")
    expect(page.locator("#trigger")).to_contain_text("Intet livstegn")
    expect(page.locator("#trigger")).to_contain_text("Peter Lund, Fyn Bolig A/S")
    photo = page.locator("#concern-photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 1
    page.get_by_role("button", name="Kvittér").click()
    expect(page.locator("#alert-state")).to_have_text("Kvitteret")
    session.expire_all()
    told = session.scalars(select(OutboxItem).where(OutboxItem.landlord_id == w.landlord.id)).all()
    assert told, "the landlord is told that someone acts"
    for row in told:
        text = row.body + str(row.payload)
        assert "Anna" not in text and w.tenant.phone not in text and "Sørensen" not in text
