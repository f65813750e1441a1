"""A caseworker's SMS reply to an alert ("42 OK", "LØST 42"): act on the alert, answer clearly.

Who may act on an alert by SMS (the same rule the dashboard should use):

* the alert's owner (the tenant's assigned caseworker),
* any active caseworker of the alert's team - colleagues cover for each other, and the team and
  its lead are exactly who the escalation policy notifies,
* an admin of the same municipality (alerts without a team, e.g. crisis words from an
  unregistered number, are theirs).

Anyone else is told the alert belongs to another team; nothing changes. Answers are in the
caseworker's language. Every action lands on the alert's timeline via :func:`bot.alerts.act`
(actor and ``via="sms"``) and in the audit log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.alerts import staff_texts as sms_staff_texts
from bot.alerts.lifecycle import act
from bot.alerts.rules import InvalidTransition
from bot.casework.reply_codes import parse_reply_code
from bot.core import audit
from bot.models import Alert, AlertState, Caseworker, Role, utcnow


def may_act(caseworker: Caseworker, alert: Alert) -> bool:
    """The rule in the module docstring."""
    if not caseworker.active:
        return False
    if alert.owner_id == caseworker.id:
        return True
    if alert.team_id is not None and alert.team_id == caseworker.team_id:
        return True
    if caseworker.role == Role.ADMIN:
        org = _organisation_id(alert)
        return org is None or org == caseworker.team.organisation_id
    return False


def _organisation_id(alert: Alert) -> int | None:
    if alert.tenant is not None:
        return alert.tenant.organisation_id
    if alert.owner is not None:
        return alert.owner.team.organisation_id
    return None


def handle_caseworker_sms(session: Session, caseworker: Caseworker, body: str | None, *,
                          now: datetime | None = None) -> str:
    """Apply a reply code from ``caseworker``; returns the answer to text back."""
    now = now or utcnow()
    lang = caseworker.language
    code = parse_reply_code(body or "")
    if code is None:
        return sms_staff_texts.unknown_code(lang)
    alert = session.get(Alert, code.alert_id)
    if alert is None:
        return sms_staff_texts.not_found(lang, code.alert_id)
    if not may_act(caseworker, alert):
        audit.record(session, f"caseworker:{caseworker.id}", "refused", "alert", alert.id,
                     via="sms", wanted=code.action)
        return sms_staff_texts.not_yours(lang, alert.id)
    before = alert.state
    try:
        changed = act(session, alert, code.action, actor=caseworker, via="sms", now=now)
    except InvalidTransition:
        # The only refusal reachable by SMS: acknowledging an alert that is already closed.
        return sms_staff_texts.already_closed(lang, alert.id)
    if not changed:
        if before == AlertState.RESOLVED:
            return sms_staff_texts.already_closed(lang, alert.id)
        by = session.get(Caseworker, alert.acknowledged_by_id) if alert.acknowledged_by_id \
            else None
        return sms_staff_texts.already_acknowledged(lang, alert.id, by.name if by else "-")
    audit.record(session, f"caseworker:{caseworker.id}", code.action, "alert", alert.id,
                 via="sms")
    if code.action == "resolve":
        return sms_staff_texts.resolved(lang, alert.id)
    return sms_staff_texts.acknowledged(lang, alert.id)
