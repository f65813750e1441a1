"""Alert events for the outgoing webhook (municipal case systems), enqueued in the outbox.

`emit` is called in the same transaction as the change it reports (raise, notify, acknowledge,
resolve, reopen, a retrigger, reaching nobody and reaching someone again), so an event is sent
exactly when the change is committed. It is a no-op unless the webhook was switched on for the
session factory with `enable` (the runtime does this when ALERT_WEBHOOK_URL and
ALERT_WEBHOOK_SECRET are set): the domain functions need no settings.

The JSON carries ids, states and times only: never names, message text or health details. The
receiver looks the tenant up in its own system if it is allowed to.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.core import outbox
from bot.models import Alert, AlertEvent
from bot.models.enums import Channel, OutboxKind

__all__ = ["EVENTS", "emit", "enable", "enabled", "event_body"]

INFO_KEY = "alert_webhook_url"
# Timeline kinds that are reported, and the event names receivers see.
EVENTS = {
    "raised": OutboxKind.ALERT_RAISED,
    "notified": OutboxKind.ALERT_NOTIFIED,
    "acknowledged": OutboxKind.ALERT_ACKNOWLEDGED,
    "resolved": OutboxKind.ALERT_RESOLVED,
    "reopened": OutboxKind.ALERT_REOPENED,
    "retriggered": OutboxKind.ALERT_RETRIGGERED,
    "undelivered": OutboxKind.ALERT_UNDELIVERED,
    "delivered": OutboxKind.ALERT_DELIVERED,
}
# Detail keys a receiver gets: ids, states and times. The rest (the tenant's words, summaries,
# an unknown sender's number) stays here.
DETAIL_KEYS = frozenset({"via", "step", "target", "channel", "caseworker_id", "reminder",
                         "source", "severity", "from_state", "from_severity", "retry_at"})


def enable(sessions: sessionmaker[Session], url: str) -> None:
    """Send alert events to `url` from every session this factory makes."""
    info = dict(sessions.kw.get("info") or {})
    info[INFO_KEY] = url
    sessions.configure(info=info)


def enabled(session: Session) -> bool:
    """Whether this session's alert events go to the webhook."""
    return bool(session.info.get(INFO_KEY))


def event_body(alert: Alert, event: AlertEvent) -> dict[str, Any]:
    detail = {k: v for k, v in (event.detail or {}).items() if k in DETAIL_KEYS}
    return {
        "event": EVENTS[event.kind],
        "event_id": event.id,
        "at": _iso(event.at),
        "actor": event.actor,
        "detail": detail,
        "alert": {
            "id": alert.id,
            "source": alert.source,
            "severity": alert.severity,
            "state": alert.state,
            "tenant_id": alert.tenant_id,
            "home_id": alert.home_id,
            "team_id": alert.team_id,
            "owner_id": alert.owner_id,
            "trigger_count": alert.trigger_count,
            "raised_at": _iso(alert.created_at),
            "undelivered_since": _iso(alert.undelivered_at),
        },
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def emit(session: Session, alert: Alert, event: AlertEvent) -> None:
    """Enqueue `event` for the webhook if it is on and the kind is reported."""
    url = session.info.get(INFO_KEY)
    if not url or event.kind not in EVENTS:
        return
    session.flush()  # ids for the body and the idempotency key
    body = json.dumps(event_body(alert, event), ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True)
    outbox.enqueue(session, channel=Channel.WEBHOOK, recipient=url, body=body,
                   key=f"webhook:alert-event:{event.id}", kind=EVENTS[event.kind])
