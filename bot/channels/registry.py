"""Builds the channels this deployment can use, from its settings."""

from __future__ import annotations

from bot.channels.base import Channel
from bot.channels.console import ConsoleChannel
from bot.core.config import Settings
from bot.models import enums

ALL_CHANNELS = tuple(c.value for c in enums.Channel)


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Console stand-ins in demo mode; otherwise each provider whose credentials are present."""
    if settings.console_channels:
        return {name: ConsoleChannel(name) for name in ALL_CHANNELS}
    channels: dict[str, Channel] = {}
    # --- escalation: e-mail and the outgoing alert webhook ---
    if settings.smtp is not None:
        from bot.channels.email import EmailChannel

        channels["email"] = EmailChannel(settings.smtp)
    if settings.alert_webhook is not None:
        from bot.channels.webhook import WebhookChannel

        channels["webhook"] = WebhookChannel(settings.alert_webhook.secret)
    if settings.twilio is not None:
        from bot.channels.twilio.sms import TwilioSmsChannel

        channels["sms"] = TwilioSmsChannel(settings.twilio,
                                           public_base_url=settings.public_base_url,
                                           connections=settings.dispatch_concurrency)
    if settings.telegram is not None:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings.telegram.bot_token,
                                               settings.telegram.api_url)
    return channels
