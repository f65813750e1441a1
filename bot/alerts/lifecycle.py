"""Raising, folding and acting on alerts, in the caller's transaction.

The rules (severity, folding, allowed transitions) live in `bot.alerts.rules`; this module applies
them to database rows and writes each step to the alert's timeline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, ScalarSelect, Select, bindparam, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from bot.alerts import events as alert_webhook
from bot.alerts import timeline
from bot.alerts.routing import intake_team_id
from bot.alerts.rules import Join, join_trigger, severity_for, transition
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
    sender_phone: str | None = None,
    now: datetime | None = None,
    known_case: KnownCase | None = None,
) -> tuple[Alert, bool]:
    """Raise an alert, or join the trigger to the tenant's (or unknown number's) active case.

    One case per tenant: while a tenant has an open or acknowledged alert, every trigger from
    them (any source but a landlord's concern, which keeps its own alert and status) joins it
    (`bot.alerts.rules.join_trigger`): severity only rises, and a rise, or a need-help or crisis
    after acknowledgement, restarts escalation at once (a `retriggered` event). An unknown
    number (``sender_phone``, no tenant) has at most one open alert the same way.

    Returns (alert, created). A new or retriggered alert is due for its first notification at
    once; the escalation job (or `bot.alerts.escalator.escalate_now`) picks it up.

    ``known_case``: the tenant's active case as already read in this transaction (an inbound
    SMS reads it with the sender, `active_case_id`), so it is not looked up again.
    """
    now = now or utcnow()
    sev = Severity(severity) if severity else severity_for(source, detail or {})
    if concern is not None:
        existing = None
    elif known_case is not None and tenant is not None:
        existing = (session.scalar(_active_case_sql(None), {"alert_id": known_case.alert_id})
                    if known_case.alert_id is not None else None)
    else:
        existing = _active_case(session, tenant, sender_phone)
    if existing is not None:
        _join(session, existing, Source(source), sev, summary, detail or {}, now)
        return existing, False
    owner = tenant.caseworker if tenant is not None else None
    if any(obj is not None and obj.id is None for obj in (tenant, home, concern, owner)):
        session.flush()  # added but not yet written: the alert refers to their ids
    # The tenant's home by its id: loading the row only to point at it cost a query.
    home_id = home.id if home is not None else tenant.home_id if tenant is not None else None
    org_id = alert_organisation(session, organisation_id, tenant, home)
    # No owner: the municipality's intake team takes it (without one, its admins; see routing).
    team_id = owner.team_id if owner is not None else intake_team_id(session, org_id)
    alert = timeline.insert_alert(session, {
        "source": str(source), "severity": str(sev), "state": AlertState.OPEN,
        "summary": summary[:500], "tenant_id": tenant.id if tenant is not None else None,
        "home_id": home_id, "concern_id": concern.id if concern is not None else None,
        "team_id": team_id, "organisation_id": org_id,
        "owner_id": owner.id if owner is not None else None, "trigger_count": 1,
        "steps_done": 0, "next_action_at": now, "acknowledged_at": None,
        "acknowledged_by_id": None, "last_reminder_at": None, "resolved_at": None,
        "resolved_by_id": None, "undelivered_at": None, "intake_at": None,
        "sender_phone": sender_phone if tenant is None else None, "created_at": now,
    }, {"tenant": tenant, "home": home, "concern": concern, "owner": owner},
        raised={"severity": str(sev), "summary": summary, **(detail or {})})
    log.info("alert.raised", alert_id=alert.id, source=str(source), severity=str(sev))
    return alert, True


ACTIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


@dataclass(frozen=True)
class KnownCase:
    """A tenant's active case as read in this transaction (`active_case_id`); None: none."""

    alert_id: int | None


def active_case_id(tenant_id: ColumnElement[int] | InstrumentedAttribute[int]
                   ) -> ScalarSelect[int]:
    """The id of a tenant's active case, the alert every trigger of theirs joins (their newest
    open or acknowledged alert that is not a landlord's concern), as a subquery: for a
    statement that reads the tenant anyway."""
    case = aliased(Alert)
    return (select(case.id)
            .where(case.tenant_id == tenant_id, case.concern_id.is_(None),
                   case.state.in_(ACTIVE_STATES))
            .order_by(case.id.desc()).limit(1).scalar_subquery())


@functools.cache
def _active_case_sql(by_tenant: bool | None) -> Select[Alert]:
    # Built once (every alert a tenant raises looks for their case first); bound per call.
    # None: the case whose id was read already (KnownCase).
    if by_tenant is None:
        return select(Alert).where(Alert.id == bindparam("alert_id"))
    if by_tenant:
        return select(Alert).where(
            Alert.id == active_case_id(bindparam("tenant_id", type_=Integer)))
    return (select(Alert).where(Alert.tenant_id.is_(None),
                                Alert.sender_phone == bindparam("phone"),
                                Alert.concern_id.is_(None), Alert.state.in_(ACTIVE_STATES))
            .order_by(Alert.id.desc()).limit(1))


def _active_case(session: Session, tenant: Tenant | None,
                 sender_phone: str | None) -> Alert | None:
    if tenant is not None:
        return session.scalar(_active_case_sql(True), {"tenant_id": tenant.id})
    if sender_phone:
        return session.scalar(_active_case_sql(False), {"phone": sender_phone})
    return None


def _join(session: Session, alert: Alert, source: Source, sev: Severity, summary: str,
          detail: dict[str, Any], now: datetime) -> None:
    how = join_trigger(alert.state, alert.severity, source, sev)
    changes: dict[str, Any] = {"trigger_count": alert.trigger_count + 1}
    event_detail = {"summary": summary, "source": str(source), "severity": str(sev), **detail}
    if how is Join.RETRIGGER:
        event_detail["from_severity"] = alert.severity
        event_detail["from_state"] = alert.state
        if sev.rank > Severity(alert.severity).rank:  # severity only rises
            changes.update(severity=str(sev), source=str(source), summary=summary[:500])
        # A new escalation: open again (a new cry for help needs a new acknowledgement), from
        # the first step (the owner), due now. The event starts the escalator's new epoch.
        changes.update(state=AlertState.OPEN, acknowledged_at=None, acknowledged_by_id=None,
                       last_reminder_at=None, steps_done=0, next_action_at=now)
    timeline.update_alert(session, alert, changes, event=(now, how.value, event_detail))
    if how is Join.RETRIGGER:
        log.info("alert.retriggered", alert_id=alert.id, source=str(source), severity=str(sev))


def alert_organisation(session: Session, given: int | None, tenant: Tenant | None,
                       home: Home | None) -> int | None:
    """The municipality an alert belongs to: as given, else the tenant's, else the home's, else
    the only municipality there is, else the oldest (the deployment's default municipality, see
    docs/routing.md). None only when no municipality exists at all."""
    for candidate in (given, tenant.organisation_id if tenant is not None else None,
                      home.organisation_id if home is not None else None):
        if candidate is not None:
            return candidate
    return session.scalar(select(Organisation.id).order_by(Organisation.id).limit(1))


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
    if action in (Action.ACKNOWLEDGE, Action.RESOLVE):
        alert.undelivered_at = None  # a person has it now
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
