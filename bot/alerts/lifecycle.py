"""Raising, folding and acting on alerts, in the caller's transaction.

The rules (severity, folding, allowed transitions) live in `bot.alerts.rules`; this module applies
them to database rows and writes each step to the alert's timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import events as alert_webhook
from bot.alerts.rules import severity_for, should_fold, transition
from bot.core.logs import get_logger
from bot.models import (
    Alert,
    AlertEvent,
    AlertState,
    Caseworker,
    Concern,
    Home,
    Organisation,
    Tenant,
    utcnow,
)
from bot.models.enums import Action, Severity, Source

log = get_logger(__name__)

# Another domain's reaction to an alert's change of state, in the same transaction (the
# landlords package keeps a concern's status and its landlord in step). A hook rather than an
# import, so alerts do not depend on the domains that raise them.
StateListener = Callable[[Session, Alert, datetime], None]
_state_listeners: list[StateListener] = []


def on_state_change(listener: StateListener) -> StateListener:
    """Register ``listener`` to run after every acknowledge, resolve or reopen."""
    if listener not in _state_listeners:
        _state_listeners.append(listener)
    return listener


def raise_alert(
    session: Session,
    *,
    source: Source | str,
    summary: str,
    tenant: Tenant | None = None,
    home: Home | None = None,
    concern: Concern | None = None,
    organisation_id: int | None = None,
    severity: Severity | str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[Alert, bool]:
    """Raise an alert, or fold the trigger into the open one for the same tenant and cause.

    Returns (alert, created). A new alert is due for its first notification at once; the
    escalation job picks it up from `next_action_at`.
    """
    now = now or utcnow()
    sev = Severity(severity) if severity else severity_for(source, detail or {})
    if tenant is not None:
        existing = session.scalar(
            select(Alert)
            .where(Alert.tenant_id == tenant.id, Alert.source == str(source),
                   Alert.state.in_([AlertState.OPEN, AlertState.ACKNOWLEDGED]))
            .order_by(Alert.id.desc()).limit(1))
        if existing is not None and should_fold(existing.state, existing_severity=existing.severity,
                                                incoming_severity=sev):
            existing.trigger_count += 1
            session.add(AlertEvent(alert=existing, at=now, kind="folded",
                                   detail={"summary": summary, **(detail or {})}))
            return existing, False
    owner = tenant.caseworker if tenant is not None else None
    if home is None and tenant is not None:
        home = tenant.home
    alert = Alert(source=str(source), severity=str(sev), summary=summary[:500], tenant=tenant,
                  home=home, concern=concern, owner=owner,
                  team_id=owner.team_id if owner is not None else None,
                  organisation_id=alert_organisation(session, organisation_id, tenant, home),
                  state=AlertState.OPEN, next_action_at=now, created_at=now)
    session.add(alert)
    raised = AlertEvent(alert=alert, at=now, kind="raised",
                        detail={"severity": str(sev), "summary": summary, **(detail or {})})
    session.add(raised)
    session.flush()
    alert_webhook.emit(session, alert, raised)  # outgoing webhook hook (no-op unless enabled)
    log.info("alert.raised", alert_id=alert.id, source=str(source), severity=str(sev))
    return alert, True


def alert_organisation(session: Session, given: int | None, tenant: Tenant | None,
                       home: Home | None) -> int | None:
    """The municipality an alert belongs to: as given, else the tenant's, else the home's, else
    the only municipality there is (a one-municipality deployment)."""
    for candidate in (given, tenant.organisation_id if tenant is not None else None,
                      home.organisation_id if home is not None else None):
        if candidate is not None:
            return candidate
    ids = session.scalars(select(Organisation.id).limit(2)).all()
    return ids[0] if len(ids) == 1 else None


def act(session: Session, alert: Alert, action: Action | str, *, actor: Caseworker | None,
        via: str, now: datetime | None = None) -> bool:
    """Acknowledge, resolve or reopen; returns False when the alert was already in that state.

    Raises `bot.alerts.rules.InvalidTransition` for a transition that makes no sense (e.g.
    acknowledging a resolved alert), with a message fit to show the caseworker.
    """
    now = now or utcnow()
    action = Action(action)
    before = AlertState(alert.state)
    after = transition(before, action)
    if after == before:
        return False
    alert.state = str(after)
    if action == Action.ACKNOWLEDGE or (action == Action.RESOLVE and
                                        alert.acknowledged_at is None):
        alert.acknowledged_at = now
        alert.acknowledged_by_id = actor.id if actor else None
    if action == Action.RESOLVE:
        alert.resolved_at = now
        alert.resolved_by_id = actor.id if actor else None
        alert.next_action_at = None
    if action == Action.REOPEN:
        alert.resolved_at = alert.resolved_by_id = None
        alert.acknowledged_at = alert.acknowledged_by_id = None
        alert.steps_done = 0
        alert.next_action_at = now
    acted = AlertEvent(alert=alert, at=now, kind=str(after) if action != Action.REOPEN
                       else "reopened",
                       actor=f"caseworker:{actor.id}" if actor else "system",
                       detail={"via": via})
    session.add(acted)
    alert_webhook.emit(session, alert, acted)  # outgoing webhook hook (no-op unless enabled)
    log.info("alert.action", alert_id=alert.id, action=str(action), via=via)
    for listener in _state_listeners:
        listener(session, alert, now)
    return True
