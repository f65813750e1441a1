"""The Telegram bot's settings, deep links and webhook."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.common import main, settings_from_env
from bot.core.config import Settings


def require_telegram(settings: Settings) -> Any:
    if settings.telegram is None:
        raise click.ClickException("TELEGRAM_BOT_TOKEN is not set: the Telegram bot is off")
    return settings.telegram


def bot_username(settings: Settings) -> str:
    """TELEGRAM_BOT_USERNAME, or the bot's getMe answer."""
    telegram = require_telegram(settings)
    if telegram.bot_username:
        return str(telegram.bot_username)
    from bot.channels.telegram import bot_api

    try:
        me = bot_api(telegram.bot_token, telegram.api_url, "getMe")
    except RuntimeError as exc:
        raise click.ClickException(f"{exc}. Set TELEGRAM_BOT_USERNAME to skip this.") from None
    return str(me["username"])



@main.group()
def telegram() -> None:
    """Telegram bot setup."""


@telegram.command("set-webhook")
@click.option("--url", help="Webhook URL (default: PUBLIC_BASE_URL + /webhooks/telegram).")
def telegram_set_webhook(url: str | None) -> None:
    """Tell Telegram to POST updates to this service (needs TELEGRAM_WEBHOOK_SECRET)."""
    from bot.channels.telegram import bot_api

    settings = settings_from_env()
    telegram_settings = require_telegram(settings)
    if not telegram_settings.webhook_secret:
        raise click.ClickException("TELEGRAM_WEBHOOK_SECRET is not set: without it the webhook "
                                   "refuses every update")
    if url is None:
        if not settings.public_base_url:
            raise click.ClickException("set PUBLIC_BASE_URL or pass --url")
        url = f"{settings.public_base_url}/webhooks/telegram"
    try:
        bot_api(telegram_settings.bot_token, telegram_settings.api_url, "setWebhook", {
            "url": url, "secret_token": telegram_settings.webhook_secret,
            "allowed_updates": ["message", "callback_query"]})
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Webhook set: {url}")
