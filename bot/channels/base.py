"""The one interface every delivery channel implements (one small class per channel)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    recipient: str  # E.164 phone, Telegram chat id, e-mail address or webhook URL
    body: str
    idempotency_key: str
    payload: dict[str, Any] = field(default_factory=dict)  # channel extras: subject, buttons, ...


class TransientError(Exception):
    """Worth retrying later (timeouts, 5xx, rate limits). `retry_after` in seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """Retrying cannot help (invalid number, blocked bot, 4xx): dead-letter at once."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class Channel(Protocol):
    name: ClassVar[str]

    def send(self, message: OutgoingMessage) -> str:
        """Deliver one message and return the provider's id for it.

        Raise TransientError or PermanentError; anything else is treated as transient.
        """
        ...


def sender_of(channel: Channel) -> str:
    """Whom the provider's rate limit counts: the channel's ``sender`` (sending number, bot id),
    '' for a channel without one. Never a secret: it is stored in the database."""
    return str(getattr(channel, "sender", ""))
