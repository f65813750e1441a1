"""Caseworkers' Acknowledge / Resolve buttons under Telegram alert messages (domain side).

Button data is ``alert:<id>:e<epoch>:ack`` or ``...:resolve`` (`bot.alerts.texts.button_data`).
Only a linked, active caseworker of the alert may act (the one rule of
`bot.casework.access.can_act_on_alert`, as for SMS codes and the dashboard); everything else is
refused with a reason the bot can show, and audited.

One case per tenant: a case id lives for weeks and a new cry reopens the same id. So a button acts
only on the escalation its message was about: the epoch it carries must still be the alert's
(`bot.alerts.told.escalation_epoch`); a button from an earlier escalation changes nothing and is
answered STALE (the case has news since). Buttons sent before they carried an epoch
(``alert:<id>:ack``) act only when the case has had no new escalation since their message was
sent: none at all, or their message is one of the current escalation's (found through its
outbox row by Telegram's message id); when that cannot be told, they are STALE too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import act
from bot.alerts.rules import InvalidTransition
from bot.alerts.texts import button_data
from bot.alerts.told import escalation_epoch
from bot.casework.queries import MAX_ID, caseworker_by_chat, may_act_on_alert, viewer_for
from bot.core import audit
from bot.models import Alert, AlertEvent, Caseworker, OutboxItem
from bot.models.enums import Action

_DATA = re.compile(r"^alert:(\d{1,12})(?::e(\d{1,12}))?:(ack|resolve)$")
_ACTIONS = {"ack": Action.ACKNOWLEDGE, "resolve": Action.RESOLVE}


class ButtonOutcome(StrEnum):
    DONE = "done"
    ALREADY = "already"
    STALE = "stale"  # from an earlier escalation of the case: nothing changed
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    INVALID = "invalid"


@dataclass(frozen=True)
class ButtonResult:
    outcome: ButtonOutcome
    action: str = ""
    caseworker: Caseworker | None = None
    reason: str = ""
    alert_id: int | None = None  # the alert pressed on, once found (STALE: for its link)


def buttons(alert_id: int, epoch: int, ack_label: str,
            resolve_label: str) -> list[list[dict[str, str]]]:
    """The payload["buttons"] for an alert notification (outbox channel "telegram")."""
    return [[{"text": ack_label, "data": button_data(alert_id, epoch, "ack")},
             {"text": resolve_label, "data": button_data(alert_id, epoch, "resolve")}]]


def press(session: Session, chat_id: int, data: str, *,
          message_id: int | None = None) -> ButtonResult:
    """``message_id``: Telegram's id of the message the button is under (tells which escalation
    an old button without an epoch belongs to)."""
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
    action = match.group(3)
    if not may_act_on_alert(viewer_for(caseworker), alert):
        audit.record(session, f"caseworker:{caseworker.id}", "refused", "alert", alert.id,
                     via="telegram", wanted=action)
        return ButtonResult(ButtonOutcome.NOT_ALLOWED, caseworker=caseworker)
    epoch = int(match.group(2)) if match.group(2) is not None else None
    if not _of_current_escalation(session, alert, epoch, f"{chat_id}:{message_id}"
                                  if message_id is not None else None):
        audit.record(session, f"caseworker:{caseworker.id}", "refused", "alert", alert.id,
                     via="telegram", wanted=action, reason="stale")
        return ButtonResult(ButtonOutcome.STALE, action, caseworker, alert_id=alert.id)
    try:
        changed = act(session, alert, _ACTIONS[action], actor=caseworker, via="telegram")
    except InvalidTransition as exc:
        return ButtonResult(ButtonOutcome.ALREADY, action, caseworker, str(exc), alert.id)
    return ButtonResult(ButtonOutcome.DONE if changed else ButtonOutcome.ALREADY, action,
                        caseworker, alert_id=alert.id)


def _of_current_escalation(session: Session, alert: Alert, epoch: int | None,
                           sent_as: str | None) -> bool:
    """Whether a button (its ``epoch``; None: an old button without one) belongs to the alert's
    current escalation. ``sent_as``: its message as the Telegram channel names a sent one
    (``<chat>:<message id>``, the outbox row's provider_id), None when unknown."""
    current = escalation_epoch(session, alert)[1]
    if epoch is not None:
        return epoch == current
    if current == 0:  # never reopened nor retriggered: every button is of this escalation
        return True
    if sent_as is None:
        return False
    # The message's outbox row among the current escalation's Telegram notifications (by their
    # keys); an old row purged by retention is not found, and the button refused.
    keys = select(AlertEvent.detail["key"].as_string()).where(
        AlertEvent.alert_id == alert.id, AlertEvent.id > current, AlertEvent.kind == "notified",
        AlertEvent.detail["channel"].as_string() == "telegram")
    return session.scalar(select(exists().where(
        OutboxItem.idempotency_key.in_(keys),
        OutboxItem.provider_id == sent_as))) is True
