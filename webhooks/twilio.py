"""Twilio webhooks: inbound SMS and delivery status callbacks.

Both check ``X-Twilio-Signature`` over ``PUBLIC_BASE_URL`` + the path and query string Twilio
called, and the posted form; anything unsigned or forged gets 403 and nothing is stored. The
handlers only translate: storing, processing and status rules live in ``bot/``.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator

from bot.core.db import pinned, transaction, write_turn
from bot.core.logs import get_logger
from bot.core.phones import InvalidPhone, normalise_phone
from bot.core.storable import storable
from bot.delivery import sms_status
from bot.tenants import inbound as sms_inbound
from webhooks.context import runtime, settings

log = get_logger(__name__)

bp = Blueprint("twilio", __name__, url_prefix="/webhooks/twilio")

SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"


def demo_auth_token(secret_key: str) -> str:
    """The token demo mode signs its simulated webhooks with (no Twilio account there)."""
    return hmac.new(secret_key.encode(), b"trygthjem-demo-twilio", hashlib.sha256).hexdigest()


def webhook_auth_token() -> str | None:
    """The Twilio auth token, or in demo mode (console channels) the demo token."""
    config = settings()
    if config.twilio is not None:
        return config.twilio.auth_token
    if config.console_channels:
        return demo_auth_token(str(current_app.config["SECRET_KEY"]))
    return None


def signed_url(path: str, query: str = "") -> str:
    """The URL Twilio signs: the public URL it was configured with (no #fragment)."""
    base = settings().public_base_url
    if base is None:
        # Without PUBLIC_BASE_URL we can only trust what the request says; behind a proxy that
        # is the internal URL and every signature fails, loudly (403 + this log line).
        base = request.host_url.rstrip("/")
        log.warning("twilio.no_public_base_url", using=base)
    return base + path + (f"?{query}" if query else "")


@lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def signature_valid(token: str, url: str, form: Any, signature: str) -> bool:
    """Twilio's check, with the usual case first: the signature over exactly the configured
    URL (one HMAC, constant-time compare). Otherwise the library's own validate, which also
    tries the URL with and without its port (two more HMACs), so nothing it accepts is lost."""
    validator = _validator(token)
    expected = validator.compute_signature(url, form)
    if hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return True
    return bool(validator.validate(url, form, signature))


def _verify() -> None:
    token = webhook_auth_token()
    if token is None:
        log.warning("twilio.webhook_disabled")
        abort(403, "SMS is not configured (TWILIO_* variables not set)")
    url = signed_url(request.path, request.query_string.decode("latin-1"))
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not signature_valid(token, url, request.form, signature):
        log.warning("twilio.bad_signature", path=request.path, signed=bool(signature))
        abort(403, "invalid or missing X-Twilio-Signature")


_TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
_TWIML_MESSAGE = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>{}</Message>'
                  '</Response>')


def twiml(reply: str | None) -> str:
    """What twilio's MessagingResponse renders for one reply (or none), without building an
    ElementTree per request; tests/webhooks pins it to the library's output."""
    return _TWIML_MESSAGE.format(escape(reply)) if reply else _TWIML_EMPTY


def _twiml(reply: str | None) -> Response:
    return Response(twiml(reply), mimetype="text/xml")


def _phone(raw: str) -> str:
    try:
        return normalise_phone(raw)
    except InvalidPhone:
        # Short codes and alphanumeric senders are kept as they are (as far as storable).
        return storable(raw.strip(), 64)


def _valid_sid(sid: str) -> bool:
    return len(sid) <= 64 and sid.isascii() and sid.isalnum()


def _pictures(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0


@bp.post("/sms")
def inbound_sms() -> Response:
    _verify()
    form = request.form
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    sender = (form.get("From") or "").strip()
    if not sid or not sender:
        abort(400, "MessageSid and From are required")
    if not _valid_sid(sid):
        abort(400, "MessageSid must be Twilio's id (letters and digits, at most 64)")
    rt = runtime()
    sender, recipient = _phone(sender), _phone(form.get("To") or "")
    ahead = sms_inbound.read_ahead(form.get("Body"))  # pure: not inside SQLite's writer turn
    with pinned(rt.sessions) as session:
        # Store and commit first: whatever happens next, the message is kept. On SQLite each
        # transaction waits its writer turn (write_turn) instead of polling the file lock.
        with write_turn(rt.engine), session.begin():
            message_id, created = sms_inbound.store(
                session, provider_id=sid, sender=sender, recipient=recipient,
                body=ahead.body)
        with write_turn(rt.engine), session.begin():
            result = sms_inbound.process(session, message_id,
                                         pictures=_pictures(form.get("NumMedia")),
                                         carrier_opt=form.get("OptOutType"),
                                         delivery=rt.delivery, ahead=ahead)
    if not created or result.duplicate:
        log.info("twilio.retry", message_id=message_id, answered_again=bool(result.reply))
    return _twiml(result.reply)


@bp.post("/status")
def status_callback() -> tuple[str, int]:
    _verify()
    form = request.form
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip()
    if not sid or not status:
        abort(400, "MessageSid and MessageStatus are required")
    if not _valid_sid(sid):
        abort(400, "MessageSid must be Twilio's id (letters and digits, at most 64)")
    with transaction(runtime().sessions) as session:
        sms_status.apply_status(session, sid, status, form.get("ErrorCode"))
    return "", 204
