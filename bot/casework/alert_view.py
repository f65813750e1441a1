"""What a caseworker needs to see about an alert: its triggers in full, its summary in the
viewer's language, and the actions its state allows.

Summaries are rendered when shown (from the alert's cause and its first trigger's detail), not
read from ``Alert.summary``, which is stored once in the language of whoever owned the alert
when it was raised. The stored text is the fallback for causes without a template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import staff_texts
from bot.alerts.rules import InvalidTransition, transition
from bot.core.i18n import N_, gettext
from bot.models import Alert, AlertEvent, Concern, Direction, Message
from bot.models.enums import Action, Source

# AlertEvent kinds that are a trigger (the first raise and every trigger folded in later).
TRIGGER_KINDS = ("raised", "folded", "retriggered")
CONCERN_SUMMARY = N_("Landlord concern {reference}: {category}, {urgency}")


# (group, stored value) -> words, for a concern's category and urgency. Passed in by the caller:
# the landlords package owns those words and itself depends on casework.
Words = Callable[[str, str], str]


def render_summary(alert: Alert, detail: Mapping[str, Any], lang: str, words: Words) -> str:
    """The alert's one-line summary in ``lang``."""
    name = alert.tenant.name if alert.tenant is not None and alert.tenant.name else ""
    source = alert.source
    if source == Source.CONCERN and alert.concern is not None:
        c = alert.concern
        return gettext(lang, CONCERN_SUMMARY, reference=c.reference,
                       category=words("category", c.category),
                       urgency=words("urgency", c.urgency))
    if source == Source.CRISIS and not name and detail.get("phone"):
        return staff_texts.summary_unknown_crisis(lang, str(detail["phone"]))
    if not name:
        return alert.summary
    if source == Source.NEED_HELP:
        return staff_texts.summary_need_help(lang, name)
    if source == Source.CALL_ME:
        return staff_texts.summary_call_me(lang, name)
    if source == Source.CRISIS:
        return staff_texts.summary_crisis(lang, name)
    if source == Source.MESSAGE:
        if detail.get("pictures") and not detail.get("text"):
            return staff_texts.summary_picture(lang, name)
        return staff_texts.summary_message(lang, name)
    if source == Source.MISSED and detail.get("missed"):
        return staff_texts.missed_summary(lang, name, int(detail["missed"]))
    if source == Source.DELIVERY_FAILED and detail.get("reason") == "opted_out":
        return staff_texts.opted_out_summary(lang, name)
    if source == Source.DELIVERY_FAILED and detail.get("code"):
        return staff_texts.summary_delivery_failed(lang, name, str(detail["code"]))
    return alert.summary


def first_details(session: Session, alert_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """alert id -> the detail of its "raised" event, in one query (for the queue)."""
    ids = list(alert_ids)
    if not ids:
        return {}
    rows = session.execute(select(AlertEvent.alert_id, AlertEvent.detail)
                           .where(AlertEvent.alert_id.in_(ids), AlertEvent.kind == "raised"))
    return {alert_id: dict(detail or {}) for alert_id, detail in rows}


def allowed_actions(state: str) -> list[Action]:
    """Actions that change something in this state (no "Acknowledge" on a resolved alert)."""
    allowed = []
    for action in Action:
        try:
            if transition(state, action) != state:
                allowed.append(action)
        except InvalidTransition:
            continue
    return allowed


@dataclass
class Trigger:
    """One reason the alert was raised or raised again, with everything the caseworker needs."""

    at: datetime
    kind: str  # raised, folded, retriggered
    words: str | None = None  # the tenant's own words, as they wrote them
    answer: int | None = None  # a check-in answer 1/2/3
    question: str | None = None  # the check-in question they answered
    pictures: int = 0
    missed: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConcernView:
    reference: str
    category: str
    urgency: str
    description: str
    has_photo: bool
    landlord_name: str
    landlord_company: str
    landlord_phone: str | None
    created_at: datetime


def triggers(session: Session, alert: Alert) -> list[Trigger]:
    """Every trigger of the alert, oldest first, with the words of the message behind it."""
    events = [e for e in alert.events if e.kind in TRIGGER_KINDS]
    message_ids = [int(e.detail["message_id"]) for e in events
                   if str(e.detail.get("message_id", "")).isdigit()]
    bodies = dict(session.execute(select(Message.id, Message.body)
                                  .where(Message.id.in_(message_ids))).all()) if message_ids \
        else {}
    found = []
    for e in events:
        d = dict(e.detail or {})
        mid = d.get("message_id")
        words = bodies.get(int(str(mid))) if str(mid or "").isdigit() else None
        answer = d.get("answer")
        found.append(Trigger(
            at=e.at, kind=e.kind, words=words or d.get("text") or None,
            answer=int(str(answer)) if str(answer or "").isdigit() else None,
            question=_question(session, alert, e.at) if answer is not None else None,
            pictures=int(d.get("pictures") or 0),
            missed=int(d["missed"]) if str(d.get("missed", "")).isdigit() else None, detail=d))
    return found


def _question(session: Session, alert: Alert, at: datetime) -> str | None:
    """The last check-in question (or reminder) sent to the tenant before ``at``."""
    if alert.tenant_id is None:
        return None
    body: str | None = session.scalar(
        select(Message.body).where(Message.tenant_id == alert.tenant_id,
                                   Message.direction == Direction.OUT,
                                   Message.intent.in_(("checkin", "reminder")),
                                   Message.created_at <= at)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1))
    return body


def concern_view(concern: Concern | None) -> ConcernView | None:
    """The landlord's concern as the caseworker sees it (the landlord sees none of the tenant)."""
    if concern is None:
        return None
    landlord = concern.landlord
    return ConcernView(reference=concern.reference, category=concern.category,
                       urgency=concern.urgency, description=concern.description,
                       has_photo=bool(concern.photo_file_id), landlord_name=landlord.name,
                       landlord_company=landlord.company or "",
                       landlord_phone=getattr(landlord, "phone", None) or None,
                       created_at=concern.created_at)
