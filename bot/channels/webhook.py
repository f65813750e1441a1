"""Outgoing signed webhook: alert events as JSON POSTs to a municipal case system.

Each request carries

    X-TrygtHjem-Timestamp: <unix seconds when this attempt was sent>
    X-TrygtHjem-Signature: v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>
    Idempotency-Key: <the outbox key; the same for every retry of one event>

The signature is computed per attempt, so a retry an hour later still passes the receiver's
5-minute replay window. 5xx, 429 and network errors are retried through the outbox; any other
4xx is permanent (the receiver will not accept this event, whatever we do).

Receivers can copy :func:`verify_signature` (standard library only).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import ClassVar

import httpx

from bot.channels.base import OutgoingMessage, PermanentError, TransientError

SIGNATURE_VERSION = "v1"


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The `X-TrygtHjem-Signature` header value for one request."""
    raw = body.encode() if isinstance(body, str) else body
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify_signature(secret: str, timestamp: str, body: bytes | str, header: str,
                     now: float | None = None, window: int = 300) -> bool:
    """True if `header` signs `timestamp` + `body` with `secret` and the timestamp is within
    `window` seconds of `now` (either direction: clocks drift). Constant-time comparison.

    Use the raw request body exactly as received (do not re-serialise the JSON).
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - sent_at) > window:
        return False  # too old (a replay) or from the future
    expected = sign(secret, sent_at, body)
    # A header may list several signatures (e.g. during a secret rotation).
    candidates = [part.strip() for part in (header or "").split(",")]
    return any(hmac.compare_digest(expected, c) for c in candidates)


class WebhookChannel:
    name: ClassVar[str] = "webhook"

    def __init__(self, secret: str, *, timeout: float = 10.0,
                 client: httpx.Client | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self.clock = clock

    def send(self, message: OutgoingMessage) -> str:
        body = message.body.encode()
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "TrygtHjem-Webhook/1",
            "X-TrygtHjem-Timestamp": timestamp,
            "X-TrygtHjem-Signature": sign(self.secret, timestamp, body),
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            response = self.client.post(message.recipient, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientError(f"webhook request failed: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(f"webhook answered {status}",
                                 retry_after=_retry_after(response.headers.get("Retry-After")))
        if status >= 300:
            raise PermanentError(f"webhook answered {status}: {response.text[:200]}",
                                 code=str(status))
        provider_id = response.headers.get("X-Request-Id") or f"webhook-{message.idempotency_key}"
        return provider_id[:64]  # the outbox column's width


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
