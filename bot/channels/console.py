"""Console channel for the demo and development: prints instead of sending."""

from __future__ import annotations

import sys
import threading
from typing import ClassVar, TextIO

from bot.channels.base import OutgoingMessage

# The dispatcher's send threads print at once: one whole line per write, never interleaved.
_printing = threading.Lock()


class ConsoleChannel:
    """Stands in for any real channel; nothing leaves the machine."""

    name: ClassVar[str] = "console"

    def __init__(self, channel: str, stream: TextIO | None = None) -> None:
        self.channel = channel
        self.stream = stream
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> str:
        stream = self.stream or sys.stdout
        with _printing:
            self.sent.append(message)
            n = len(self.sent)
            stream.write(f"[{self.channel} -> {message.recipient}] {message.body}\n")
            stream.flush()
        return f"console-{self.channel}-{n}-{message.idempotency_key[:40]}"
