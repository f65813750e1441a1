"""The inbound webhook's shortcuts answer exactly as the twilio library would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from webhooks.twilio import signature_valid, twiml

TOKEN = "test-auth-token"


def _library_twiml(reply: str | None) -> str:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return str(response)


@given(st.one_of(st.none(), st.text()))
def test_twiml_is_what_messaging_response_renders(reply: str | None) -> None:
    assert twiml(reply) == _library_twiml(reply)


def test_twiml_of_a_reply_with_markup_and_newlines() -> None:
    reply = 'Ring 112 <nu> & "skriv" 1\nHej 🙂'
    assert twiml(reply) == _library_twiml(reply)


FORM = MultiDict([("MessageSid", "SM1"), ("From", "+4520000001"), ("Body", "3 & <b>"),
                  ("Body", "again")])
URLS = ("https://trygthjem.test/webhooks/twilio/sms",
        "https://trygthjem.test:443/webhooks/twilio/sms",
        "https://trygthjem.test/webhooks/twilio/sms?x=1",
        "http://other.test/webhooks/twilio/sms")


def test_signature_check_accepts_and_refuses_what_the_library_does() -> None:
    library = RequestValidator(TOKEN)
    for configured in URLS:
        for signed_over in URLS:
            for token in (TOKEN, "another-token"):
                signature = RequestValidator(token).compute_signature(signed_over, FORM)
                assert signature_valid(TOKEN, configured, FORM, signature) == bool(
                    library.validate(configured, FORM, signature)), (configured, signed_over)
    for forged in ("", "bm90IGEgc2lnbmF0dXJl", "ø" * 28):
        assert not signature_valid(TOKEN, URLS[0], FORM, forged)
