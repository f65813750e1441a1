"""Console channel for the demo and development: prints instead of sending."""

from __future__ import annotations

import sys
from typing import ClassVar, TextIO

from bot.channels.base import OutgoingMessage


class ConsoleChannel:
    """Stands in for any real channel; nothing leaves the machine."""

    name: ClassVar[str] = "console"

    def __init__(self, channel: str, stream: TextIO | None = None) -> None:
        self.channel = channel
        self.stream = stream
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> str:
        self.sent.append(message)
        stream = self.stream or sys.stdout
        print(f"[{self.channel} -> {message.recipient}] {message.body}", file=stream, flush=True)
        return f"console-{self.channel}-{len(self.sent)}-{message.idempotency_key[:40]}"
