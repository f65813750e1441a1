"""Builds the channels this deployment can use, from its settings."""

from __future__ import annotations

from bot.channels.base import Channel
from bot.channels.console import ConsoleChannel
from bot.config import Settings

ALL_CHANNELS = ("sms", "telegram", "email", "webhook")


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Console stand-ins in demo mode; otherwise each provider whose credentials are present."""
    if settings.console_channels:
        return {name: ConsoleChannel(name) for name in ALL_CHANNELS}
    channels: dict[str, Channel] = {}
    if settings.telegram is not None:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings.telegram.bot_token,
                                               settings.telegram.api_url)
    return channels
