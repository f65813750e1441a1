"""The composition root: settings, database and channels, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import events as alert_webhook
from bot.alerts.routing import Delivery
from bot.channels.base import Channel
from bot.channels.registry import build_channels
from bot.core.config import Settings, load_settings
from bot.core.db import make_engine, make_session_factory
from bot.core.logs import get_logger

# Imported for its hook: a concern follows its alert, and the landlord is told (every process).
from bot.landlords import concern_status as _concern_status  # noqa: F401
from bot.ops.heartbeat import SenderWatch

log = get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    channels: dict[str, Channel] = field(default_factory=dict)
    # Sender beats seen by this process's requests: "is a sender running?" once a few minutes.
    senders: SenderWatch = field(default_factory=SenderWatch)

    @property
    def delivery(self) -> Delivery:
        """What this process can deliver through, for code that notifies in a request."""
        return Delivery.of(self.settings, self.channels, self.senders)


def build_runtime(settings: Settings | None = None, engine: Engine | None = None) -> Runtime:
    settings = settings or load_settings()
    # Each send in flight may hold a connection for its take or record, beside the process's
    # other work (the pool's default: 5 + 10 overflow, opened only when needed).
    engine = engine or make_engine(settings.database_url,
                                   max_overflow=10 + settings.dispatch_concurrency)
    channels = build_channels(settings)
    if not settings.console_channels:
        for reason in settings.disabled_channels():
            log.warning("channel.disabled", reason=reason)
    sessions = make_session_factory(engine)
    if settings.alert_webhook is not None:  # alert events go to the outbox from now on
        alert_webhook.enable(sessions, settings.alert_webhook.url)
    return Runtime(settings, engine, sessions, channels)
