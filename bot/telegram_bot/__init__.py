"""The Telegram bot (python-telegram-bot 22): one Application for landlords and caseworkers.

This package is the adapter: it imports ``telegram``; the rules it applies live in bot/
(landlord_flow, invites, alert_buttons, concerns, landlord_texts).
"""

from bot.telegram_bot.app import BotRunner, build_application, builder_for, configure

__all__ = ["BotRunner", "build_application", "builder_for", "configure"]
