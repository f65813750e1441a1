"""The demo phone simulator (/demo/phone): demo mode only, through the signed webhook."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.checkins import texts as checkin_texts
from bot.core import outbox
from bot.delivery.dispatcher import Dispatcher
from bot.models import Alert, Direction, Message
from bot.runtime import Runtime
from bot.tenants import texts
from tests.support.factories import World
from tests.support.live_server import serve_wsgi
from tests.support.sms import SMS_PATH, inbound_form, post_signed, sms_settings

# The demo runs its worker in-process; replies say "told" only while it beats.
pytestmark = pytest.mark.usefixtures("worker_running")


def test_not_there_outside_demo_mode(db_url: str, engine: Engine,
                                     sessions: sessionmaker[Session]) -> None:
    from webhooks import create_app

    client = create_app(Runtime(sms_settings(db_url), engine, sessions, {})).test_client()
    assert client.get("/demo/phone").status_code == 404
    assert client.post("/demo/phone/send", json={}).status_code == 404


def test_page_lists_demo_phones(client: FlaskClient, world: World) -> None:
    html = client.get("/demo/phone").get_data(as_text=True)
    assert world.tenant.name in html and world.caseworker.name in html
    assert "+45******01" in html  # numbers are masked on the page


def test_send_goes_through_the_signed_webhook(client: FlaskClient, session: Session,
                                              world: World) -> None:
    response = client.post("/demo/phone/send", json={"phone": world.tenant.phone, "body": "3"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["replies"] == [texts.reply_need_help("da")]
    [inbound] = session.scalars(select(Message).where(Message.direction == Direction.IN)).all()
    assert inbound.provider_id.startswith("SM") and inbound.tenant_id == world.tenant.id
    assert session.scalar(select(Alert.source)) == "need_help"
    # The demo signs with its own token: an unsigned or Twilio-signed post is still refused.
    assert post_signed(client, SMS_PATH, inbound_form(world.tenant.phone, "3")).status_code == 403


def test_send_refuses_numbers_that_are_not_demo_phones(client: FlaskClient, world: World) -> None:
    response = client.post("/demo/phone/send", json={"phone": "+4599999999", "body": "hej"})
    assert response.status_code == 400


def test_conversation_shows_replies_and_later_sends(app: Flask, client: FlaskClient,
                                                    runtime: Runtime, session: Session,
                                                    world: World) -> None:
    client.post("/demo/phone/send", json={"phone": world.tenant.phone, "body": "hej"})
    outbox.enqueue(session, channel="sms", recipient=world.tenant.phone,
                   body=checkin_texts.checkin_prompt("da", "Anna"), key="checkin:demo",
                   kind="checkin",
                   tenant_id=world.tenant.id)
    session.commit()
    Dispatcher(runtime.sessions, runtime.channels).run_once()
    items = client.get("/demo/phone/messages", query_string={"phone": world.tenant.phone}
                       ).get_json()["messages"]
    assert [(m["direction"], m["body"]) for m in items] == [
        ("in", "hej"), ("out", texts.greeting_received("da")),
        ("out", checkin_texts.checkin_prompt("da", "Anna"))]


@pytest.mark.browser
def test_phone_simulator_in_a_browser(app: Flask, page: Page, world: World) -> None:
    with serve_wsgi(app) as base:
        page.goto(base + "/demo/phone")
        page.select_option("#who", world.tenant.phone)
        page.fill("#body", "kan du ringe til mig?")
        page.click("#send")
        expect(page.locator(".bubble.out").last).to_have_text(texts.call_me_ack("da"))
        expect(page.locator(".bubble.in").last).to_have_text("kan du ringe til mig?")
        page.click("button[data-text='STOP']")
        expect(page.locator(".bubble.out").last).to_have_text(
            re.compile("^" + re.escape(texts.stop_confirmation("da", world.caseworker.phone))))


def test_the_reply_code_example_is_an_alert_that_exists(client: FlaskClient, session: Session,
                                                        world: World) -> None:
    assert "ok</code>" not in client.get("/demo/phone").get_data(as_text=True)  # no alert yet
    client.post("/demo/phone/send", json={"phone": world.tenant.phone, "body": "3"})
    alert_id = session.scalar(select(Alert.id))
    html = client.get("/demo/phone").get_data(as_text=True)
    assert f"<code>{alert_id} ok</code> fra {world.caseworker.name}" in html
    # ... and it works: the caseworker's reply acknowledges that alert.
    assert world.caseworker.phone is not None
    response = client.post("/demo/phone/send", json={"phone": world.caseworker.phone,
                                                     "body": f"{alert_id} ok"})
    assert f"{alert_id}" in response.get_json()["replies"][0]
    session.expire_all()
    assert session.scalar(select(Alert.state)) == "acknowledged"
