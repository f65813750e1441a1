"""The admins' warning banners: no worker has run lately, so nothing is being sent; a polling
Telegram bot that ran has gone quiet, so Telegram updates are not being received."""

from __future__ import annotations

from datetime import datetime

from flask_login import current_user

from bot.models import utcnow
from bot.ops.heartbeat import ProcessHealth, bot_health, worker_health
from webhooks.context import db
from webhooks.dashboard.common import _, bp


def _minutes(now: datetime, health: ProcessHealth) -> int:
    age = health.age(now)
    return 0 if age is None else int(age.total_seconds() // 60)


def _worker(now: datetime) -> str | None:
    health = worker_health(db(), now)
    if health.running:
        return None
    if health.last_seen is None:
        return _("No worker has run yet: check-ins, alerts and messages are not being sent. "
                 "Start the worker.")
    return _("No worker has run for {minutes} minutes: check-ins, alerts and messages are not "
             "being sent. Start or restart the worker.", minutes=_minutes(now, health))


def _bot(now: datetime) -> str | None:
    health = bot_health(db(), now)
    if health.running or health.last_seen is None:
        return None  # never polled: the webhook (in the web processes) or no Telegram at all
    return _("The Telegram bot (polling) has not run for {minutes} minutes: landlords' reports "
             "and caseworkers' Telegram buttons are not being received. Start or restart "
             "trygthjem bot.", minutes=_minutes(now, health))


@bp.context_processor
def _banners() -> dict[str, str | None]:
    if not (current_user.is_authenticated and current_user.role == "admin"):
        return {"worker_banner": None, "bot_banner": None}
    now = utcnow()
    return {"worker_banner": _worker(now), "bot_banner": _bot(now)}
