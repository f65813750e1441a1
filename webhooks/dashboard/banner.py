"""The admins' warning banner: no worker has run lately, so nothing is being sent."""

from __future__ import annotations

from flask_login import current_user

from bot.models import utcnow
from bot.ops.heartbeat import worker_health
from webhooks.context import db
from webhooks.dashboard.common import _, bp


@bp.context_processor
def _worker_banner() -> dict[str, str | None]:
    if not (current_user.is_authenticated and current_user.role == "admin"):
        return {"worker_banner": None}
    now = utcnow()
    health = worker_health(db(), now)
    if health.running:
        return {"worker_banner": None}
    if health.last_seen is None:
        return {"worker_banner": _("No worker has run yet: check-ins, alerts and messages are "
                                   "not being sent. Start the worker.")}
    minutes = int((now - health.last_seen).total_seconds() // 60)
    return {"worker_banner": _("No worker has run for {minutes} minutes: check-ins, alerts and "
                               "messages are not being sent. Start or restart the worker.",
                               minutes=minutes)}
