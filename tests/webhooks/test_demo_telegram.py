"""The demo's Telegram simulator (/demo/telegram): the real conversation without Telegram."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.admin.demo_data import load_demo_data
from bot.alerts.lifecycle import act
from bot.core.config import Settings
from bot.core.db import transaction
from bot.delivery.dispatcher import Dispatcher
from bot.models import Alert, Caseworker, Concern, LandlordInvite
from bot.runtime import Runtime
from tests.support.live_server import serve_wsgi
from webhooks import create_app


@pytest.fixture
def demo_app(app: Flask, sessions: sessionmaker[Session]) -> Iterator[Flask]:
    with transaction(sessions) as session:
        load_demo_data(session)
    yield app
    demo = app.extensions.get("demo_telegram")
    if demo is not None:
        demo.runner.stop()


def _buttons(events: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    return [(e["id"], b["text"], b["data"]) for e in events if e["type"] == "message"
            for row in e["buttons"] for b in row]


def test_simulator_runs_the_real_conversation(demo_app: Flask,
                                              sessions: sessionmaker[Session]) -> None:
    client = demo_app.test_client()
    assert "Telegram-simulator" in client.get("/demo/telegram").get_data(as_text=True)
    events = client.post("/demo/telegram/start").json["events"]
    assert events[0]["text"].startswith("Velkommen, Peter Lund")
    assert events[0]["keyboard"] == [["Ny henvendelse", "Mine henvendelser"]]
    events = client.post("/demo/telegram/send", json={"text": "Ny henvendelse"}).json["events"]
    homes = _buttons(events)
    assert [text for _, text, _ in homes][:3] == ["Vollsmose Allé 12, 2. tv.",
                                                  "Bolbro Bygade 7, st. th.", "Tarupvej 88, 1. mf."]
    message_id, _, data = homes[0]
    events = client.post("/demo/telegram/send",
                         json={"data": data, "message_id": message_id}).json["events"]
    assert events[0] == {"type": "edit", "id": message_id, "buttons": [],
                         "text": "Hvilken bolig drejer det sig om?\n✓ Vollsmose Allé 12, 2. tv."}
    message_id, _, _ = _buttons(events)[0]
    events = client.post("/demo/telegram/send", json={"data": "c:cat:noise",
                                                      "message_id": message_id}).json["events"]
    message_id = _buttons(events)[0][0]
    client.post("/demo/telegram/send", json={"data": "c:urg:this_week", "message_id": message_id})
    client.post("/demo/telegram/send", json={"text": "Larm om natten"})
    events = client.post("/demo/telegram/send", json={"photo": True}).json["events"]
    assert "Billede: Ja" in events[0]["text"]
    events = client.post("/demo/telegram/send", json={"data": "c:confirm",
                                                      "message_id": events[0]["id"]}).json["events"]
    assert "TH-" in events[-1]["text"]
    assert client.post("/demo/telegram/send", json={}).status_code == 400
    with sessions() as session:
        concern = session.scalar(select(Concern))
        assert concern is not None and concern.photo_file_id == "demo-photo"


def test_simulator_only_in_demo_mode(runtime: Runtime) -> None:
    settings = Settings(database_url=runtime.settings.database_url, console_channels=False)
    app = create_app(Runtime(settings, runtime.engine, runtime.sessions, runtime.channels))
    assert app.test_client().get("/demo/telegram").status_code == 404


def _report(client: Any) -> None:
    """A whole report through the simulator: home, category, urgency, text, no photo, confirm."""
    events = client.post("/demo/telegram/send", json={"text": "/concern"}).json["events"]
    message_id, _, data = _buttons(events)[0]
    events = client.post("/demo/telegram/send",
                         json={"data": data, "message_id": message_id}).json["events"]
    message_id = _buttons(events)[0][0]
    events = client.post("/demo/telegram/send", json={"data": "c:cat:noise",
                                                      "message_id": message_id}).json["events"]
    client.post("/demo/telegram/send", json={"data": "c:urg:this_week",
                                             "message_id": _buttons(events)[0][0]})
    events = client.post("/demo/telegram/send", json={"text": "Larm om natten"}).json["events"]
    events = client.post("/demo/telegram/send", json={"data": "c:skip",
                                                      "message_id": events[0]["id"]}).json["events"]
    client.post("/demo/telegram/send", json={"data": "c:confirm", "message_id": events[-1]["id"]})


def test_reload_keeps_the_chat_and_makes_no_new_invite(demo_app: Flask,
                                                       sessions: sessionmaker[Session]) -> None:
    client = demo_app.test_client()
    assert client.get("/demo/telegram/updates").json == {"events": [], "next": 0}
    client.post("/demo/telegram/start")
    client.post("/demo/telegram/send", json={"text": "/mine"})
    chat = client.get("/demo/telegram/updates?since=0").json
    texts = [(e["type"], e["text"][:20]) for e in chat["events"]]
    assert texts[0] == ("me", "/start") and texts[1][1].startswith("Velkommen, Peter")
    assert ("me", "/mine") in texts
    # A reload reads the same chat; asking from where it stopped gives nothing new.
    assert client.get("/demo/telegram/updates?since=0").json == chat
    assert client.get(f"/demo/telegram/updates?since={chat['next']}").json["events"] == []
    # Opening the chat again (as a reload without the transcript would) makes no invite.
    events = client.post("/demo/telegram/start").json["events"]
    assert events[0]["text"].startswith("Hej Peter Lund")
    with sessions() as session:
        assert len(list(session.scalars(select(LandlordInvite)))) == 1
    assert client.get("/demo/telegram/updates?since=x").status_code == 400


def test_status_updates_pushed_to_the_landlord_show_in_the_chat(
        demo_app: Flask, runtime: Runtime, sessions: sessionmaker[Session]) -> None:
    client = demo_app.test_client()
    client.post("/demo/telegram/start")
    _report(client)
    seen = client.get("/demo/telegram/updates").json["next"]
    with transaction(sessions) as session:
        alert = session.scalar(select(Alert).where(Alert.concern_id.is_not(None)))
        assert alert is not None
        caseworker = session.scalar(select(Caseworker).limit(1))
        act(session, alert, "acknowledge", actor=caseworker, via="dashboard")
    # Not shown before the worker has actually sent it.
    assert client.get(f"/demo/telegram/updates?since={seen}").json["events"] == []
    Dispatcher(sessions, runtime.channels).run_once()
    events = client.get(f"/demo/telegram/updates?since={seen}").json["events"]
    assert len(events) == 1 and events[0]["type"] == "message"
    assert "TH-" in events[0]["text"]
    # Shown once, however often the page asks.
    assert client.get(f"/demo/telegram/updates?since={seen + 1}").json["events"] == []


@pytest.mark.browser
def test_simulator_in_the_browser(demo_app: Flask, page: Page, runtime: Runtime,
                                  sessions: sessionmaker[Session]) -> None:
    with serve_wsgi(demo_app) as base_url:
        page.goto(base_url + "/demo/telegram")
        page.get_by_role("button", name="Åbn invitationslinket").click()
        expect(page.get_by_text("Velkommen, Peter Lund", exact=False)).to_be_visible()
        page.locator("#keyboard").get_by_role("button", name="Ny henvendelse").click()
        page.get_by_role("button", name="Bolbro Bygade 7, st. th.").click()
        page.get_by_role("button", name="Skader eller hygiejne").click()
        page.get_by_role("button", name="Haster, i dag").click()
        page.locator("#text").fill("Vandskade fra loftet")
        page.locator("#text").press("Enter")
        page.get_by_role("button", name="Spring over").click()
        expect(page.get_by_text("Tjek venligst din henvendelse", exact=False)).to_be_visible()
        page.get_by_role("button", name="Bekræft").click()
        expect(page.get_by_text("Din henvendelse har nummer TH-", exact=False)).to_be_visible()
        # A reload shows the same chat, without the invite button.
        page.reload()
        expect(page.get_by_text("Din henvendelse har nummer TH-", exact=False)).to_be_visible()
        expect(page.get_by_text("Vandskade fra loftet", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Åbn invitationslinket")).to_have_count(0)
        # The caseworker acknowledges; the worker pushes the status; the open page shows it.
        with transaction(sessions) as session:
            alert = session.scalar(select(Alert).where(Alert.concern_id.is_not(None)))
            assert alert is not None
            act(session, alert, "acknowledge", actor=None, via="dashboard")
        Dispatcher(sessions, runtime.channels).run_once()
        expect(page.get_by_text("bliver nu behandlet af lejerens", exact=False)).to_be_visible(
            timeout=10_000)
    with sessions() as session:
        concern = session.scalar(select(Concern))
        assert concern is not None and concern.urgency == "urgent_today"
        assert concern.description == "Vandskade fra loftet"
