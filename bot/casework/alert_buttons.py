"""Caseworkers' Acknowledge / Resolve buttons under Telegram alert messages (domain side).

Button data is ``alert:<id>:ack`` or ``alert:<id>:resolve``. Only a linked, active caseworker of
the alert may act (the one rule of `bot.casework.access.can_act_on_alert`, as for SMS codes and the
dashboard); everything else is refused with a reason the bot can show, and audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from bot.alerts.lifecycle import act
from bot.alerts.rules import InvalidTransition
from bot.casework.queries import MAX_ID, caseworker_by_chat, may_act_on_alert, viewer_for
from bot.core import audit
from bot.models import Alert, Caseworker
from bot.models.enums import Action

_DATA = re.compile(r"^alert:(\d{1,12}):(ack|resolve)$")
_ACTIONS = {"ack": Action.ACKNOWLEDGE, "resolve": Action.RESOLVE}


class ButtonOutcome(StrEnum):
    DONE = "done"
    ALREADY = "already"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    INVALID = "invalid"


@dataclass(frozen=True)
class ButtonResult:
    outcome: ButtonOutcome
    action: str = ""
    caseworker: Caseworker | None = None
    reason: str = ""


def buttons(alert_id: int, ack_label: str, resolve_label: str) -> list[list[dict[str, str]]]:
    """The payload["buttons"] for an alert notification (outbox channel "telegram")."""
    return [[{"text": ack_label, "data": f"alert:{alert_id}:ack"},
             {"text": resolve_label, "data": f"alert:{alert_id}:resolve"}]]


def press(session: Session, chat_id: int, data: str) -> ButtonResult:
    match = _DATA.match(data)
    if match is None:
        return ButtonResult(ButtonOutcome.INVALID)
    caseworker = caseworker_by_chat(session, chat_id)
    if caseworker is None:
        return ButtonResult(ButtonOutcome.NOT_ALLOWED)
    alert_id = int(match.group(1))
    # Ids beyond 32 bits cannot exist (and overflow PostgreSQL's integer column).
    alert = session.get(Alert, alert_id) if 0 < alert_id <= MAX_ID else None
    if alert is None or alert.organisation_id != caseworker.team.organisation_id:
        # Another municipality's alert does not exist as far as this caseworker can tell.
        return ButtonResult(ButtonOutcome.NOT_FOUND, caseworker=caseworker)
    if not may_act_on_alert(viewer_for(caseworker), alert):
        audit.record(session, f"caseworker:{caseworker.id}", "refused", "alert", alert.id,
                     via="telegram", wanted=match.group(2))
        return ButtonResult(ButtonOutcome.NOT_ALLOWED, caseworker=caseworker)
    action = match.group(2)
    try:
        changed = act(session, alert, _ACTIONS[action], actor=caseworker, via="telegram")
    except InvalidTransition as exc:
        return ButtonResult(ButtonOutcome.ALREADY, action, caseworker, str(exc))
    return ButtonResult(ButtonOutcome.DONE if changed else ButtonOutcome.ALREADY, action,
                        caseworker)
