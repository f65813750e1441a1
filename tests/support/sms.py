"""Helpers for SMS tests: Twilio settings for tests, signed webhook posts, form builders."""

from __future__ import annotations

import itertools
from typing import Any

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from bot.config import Settings, TwilioSettings
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
