"""Helpers for SMS tests: Twilio settings for tests, signed webhook posts, form builders.

Also a pytest plugin (see tests/conftest.py): `sms_runtime`, `sms_app` and `sms_client` give the
web app with Twilio configured as in production, sends going to console channels.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from bot.channels.console import ConsoleChannel
from bot.core.config import Settings, TwilioSettings
from bot.runtime import Runtime
from tests.support.emulators import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

PUBLIC_BASE_URL = "https://trygthjem.test"
SERVICE_NUMBER = "+4570103000"
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"

_sids = itertools.count(1)


def twilio_settings(api_url: str | None = None) -> TwilioSettings:
    return TwilioSettings(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, SERVICE_NUMBER, api_url)


def sms_settings(db_url: str, api_url: str | None = None) -> Settings:
    """Production-like settings: Twilio configured, no demo mode."""
    return Settings(database_url=db_url, secret_key="test-secret-key-0123456789",
                    public_base_url=PUBLIC_BASE_URL, twilio=twilio_settings(api_url))


def new_sid() -> str:
    return f"SM{next(_sids):032x}"


def sign(path: str, params: dict[str, str], token: str = TEST_AUTH_TOKEN,
         base: str = PUBLIC_BASE_URL) -> str:
    return RequestValidator(token).compute_signature(base + path, params)


def inbound_form(sender: str, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
    """The form Twilio posts for an inbound SMS (the fields we use and a few we do not)."""
    sid = sid or new_sid()
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": TEST_ACCOUNT_SID,
            "From": sender, "To": SERVICE_NUMBER, "Body": body, "NumMedia": "0",
            "NumSegments": "1", "ApiVersion": "2010-04-01", **extra}


def post_signed(client: FlaskClient, path: str, form: dict[str, str], *, query: str = "",
                signature: str | None = None) -> Any:
    url = path + (f"?{query}" if query else "")
    sig = signature if signature is not None else sign(url, form)
    return client.post(url, data=form, headers={"X-Twilio-Signature": sig})


def twiml_messages(response: Any) -> list[str]:
    from xml.etree import ElementTree

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ElementTree.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response"
    return [m.text or "" for m in root.iter("Message")]


@pytest.fixture
def sms_runtime(db_url: str, engine: Engine, sessions: sessionmaker[Session],
                console_channels: dict[str, ConsoleChannel], worker_running: None) -> Runtime:
    """Twilio configured (so the webhook checks the real auth token); sends go to consoles."""
    return Runtime(sms_settings(db_url), engine, sessions, dict(console_channels))


@pytest.fixture
def sms_app(sms_runtime: Runtime) -> Flask:
    from webhooks import create_app

    application = create_app(sms_runtime)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def sms_client(sms_app: Flask) -> FlaskClient:
    return sms_app.test_client()
