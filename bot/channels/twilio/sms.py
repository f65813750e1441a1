"""SMS through Twilio's Messages API, with the official ``twilio`` client.

Translates Twilio's answers into the channel interface: a sid on success, ``TransientError``
for what may work later (5xx, 429, timeouts, connection errors, rejected credentials) and
``PermanentError(code=...)`` for what never will (a bad or opted-out number, a request Twilio
refuses). ``bot.delivery.failures.sms_failure`` decides what a permanent code means for the tenant.
"""

from __future__ import annotations

from typing import Any, ClassVar

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.channels.base import OutgoingMessage, PermanentError, TransientError
from bot.channels.twilio.http import RebasedTwilioHttpClient
from bot.core.config import TwilioSettings
from bot.core.logs import get_logger
from bot.core.phones import InvalidPhone, mask_phone, normalise_phone

log = get_logger(__name__)

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
# Twilio's own limit for one message body (it splits into up to 10 segments).
MAX_BODY = 1600
# Twilio's error codes, used when we refuse a message before sending it, so the failure hook
# treats it exactly like Twilio's own refusal.
INVALID_TO = "21211"
BODY_TOO_LONG = "21617"
EMPTY_BODY = "21602"


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class TwilioSmsChannel:
    """One sending number; ``send`` returns Twilio's message sid (``SM...``)."""

    name: ClassVar[str] = "sms"

    def __init__(self, settings: TwilioSettings, *, public_base_url: str | None = None,
                 timeout: float = 15.0, http_client: TwilioHttpClient | None = None,
                 connections: int = 10) -> None:
        self.settings = settings
        self.sender = settings.from_number  # the number Twilio's rate limit counts
        if http_client is None:
            http_client = (RebasedTwilioHttpClient(settings.api_url, timeout=timeout)
                           if settings.api_url else TwilioHttpClient(timeout=timeout))
            # One kept-alive connection per send in flight (`connections`: the dispatcher's
            # concurrency). The SDK keeps cpu_count + 4 for https and drops the rest after
            # each use: a new TLS handshake per send.
            adapter = HTTPAdapter(pool_maxsize=max(10, connections))
            for scheme in ("https://", "http://"):
                http_client.session.mount(scheme, adapter)
        self.http_client = http_client
        self.client = Client(settings.account_sid, settings.auth_token, http_client=http_client)
        # The SDK imports its Messages API on first use (~40 ms): do it here, not in the first
        # send, where it held up the sends in flight beside it and they reached Twilio at once.
        self.client.messages  # noqa: B018
        self.status_callback = (public_base_url.rstrip("/") + STATUS_CALLBACK_PATH
                                if public_base_url else None)

    def send(self, message: OutgoingMessage) -> str:
        try:
            to = normalise_phone(message.recipient)
        except InvalidPhone as exc:
            # Twilio would refuse it too (21211); refusing here saves a round trip and a fee.
            raise PermanentError(f"invalid recipient: {exc}", code=INVALID_TO) from None
        if not message.body.strip():
            raise PermanentError("empty message body", code=EMPTY_BODY)
        if len(message.body) > MAX_BODY:
            raise PermanentError(f"body is {len(message.body)} characters, Twilio takes "
                                 f"{MAX_BODY}", code=BODY_TOO_LONG)
        kwargs: dict[str, Any] = {"to": to, "from_": self.settings.from_number,
                                  "body": message.body}
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            created = self.client.messages.create(**kwargs)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise self._translate(exc, to) from None
        except requests.Timeout as exc:
            raise TransientError(f"Twilio timed out: {exc}") from None
        except requests.RequestException as exc:
            raise TransientError(f"cannot reach Twilio: {type(exc).__name__}: {exc}") from None
        except TwilioException as exc:  # e.g. a malformed answer from a proxy
            raise TransientError(f"Twilio client error: {exc}") from None
        sid = created.sid
        if not sid:
            raise TransientError("Twilio accepted the message but returned no sid")
        return str(sid)

    def _translate(self, exc: TwilioRestException | TwilioServiceException,
                   to: str) -> Exception:
        status = int(exc.status or 0)
        code = str(exc.code) if exc.code is not None else None
        last = getattr(self.http_client, "_test_only_last_response", None)
        body = last.text if last is not None else ""
        headers = last.headers if last is not None else None
        if status >= 500 or status == 429 or code == "20429":
            log.warning("twilio.transient", status=status, code=code, to=mask_phone(to))
            return TransientError(f"Twilio HTTP {status} (code {code})",
                                  retry_after=_retry_after(headers))
        if status in (401, 403) and code in (None, str(status), "20003"):
            # Rejected credentials are an operator's problem, not the message's: keep it.
            log.error("twilio.auth_rejected", status=status)
            return TransientError(f"Twilio rejected the credentials (HTTP {status})")
        # The SDK's message leaves out Prism's/Twilio's reason: log the body (no message text).
        log.error("twilio.rejected", status=status, code=code, to=mask_phone(to),
                  response=body[:2000])
        reason = getattr(exc, "msg", None) or getattr(exc, "detail", None) or str(exc)
        # The body's reason goes on the dead letter too, where an operator looks first.
        return PermanentError(f"Twilio HTTP {status}: {reason} {body[:1000]}".strip(),
                              code=code or str(status))
