"""Raising, folding and acting on alerts, in the caller's transaction.

The rules (severity, folding, allowed transitions) live in `bot.alerts.rules`; this module applies
them to database rows and writes each step to the alert's timeline.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

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
    case_locked: bool = False,
) -> tuple[Alert, bool]:
    """Raise an alert, or join the trigger to the tenant's (or unknown number's) active case.

    One case per tenant: while a tenant has an open or acknowledged alert, every trigger from
    them (any source but a landlord's concern, which keeps its own alert and status) joins it
    (`bot.alerts.rules.join_trigger`): severity only rises, and a rise, or a cry (need-help,
    crisis, violence, call request) on a case that is acknowledged or whose escalation has
    ended, restarts escalation at once (a `retriggered` event). An unknown
    number (``sender_phone``, no tenant) has at most one open alert the same way.

    Returns (alert, created). A new or retriggered alert is due for its first notification at
    once; the escalation job (or `bot.alerts.escalator.escalate_now`) picks it up.

    ``case_locked``: this transaction holds the case's lock already (`lock_case`; an inbound
    SMS takes it with its claim), so it is not taken again.
    """
    now = now or utcnow()
    sev = Severity(severity) if severity else severity_for(source, detail or {})
    existing = None
    if concern is None:
        if not case_locked:
            lock_case(session, tenant, sender_phone)
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


@functools.cache
def _active_case_sql(by_tenant: bool) -> Select[Alert]:
    # Built once (every alert a tenant raises looks for their case first); bound per call.
    match = (Alert.tenant_id == bindparam("tenant_id") if by_tenant
             else Alert.tenant_id.is_(None) & (Alert.sender_phone == bindparam("phone")))
    return (select(Alert).where(match, Alert.concern_id.is_(None),
                                Alert.state.in_([AlertState.OPEN, AlertState.ACKNOWLEDGED]))
            .order_by(Alert.id.desc()).limit(1))


# pg_advisory_xact_lock namespaces ("THA1", "THA2" in ASCII): a tenant's case, an unknown
# number's case. The second key is the tenant id or a hash of the number (a collision only makes
# two raisers take turns).
CASE_LOCK_TENANT = 0x54484131
CASE_LOCK_PHONE = 0x54484132
_LOCK_CASE_PG = text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), CAST(:key AS integer))")
# SQLite has one writer at a time: any write takes the database's lock until commit. An UPDATE
# that touches no row is enough to hold it.
_LOCK_CASE_SQLITE = text("UPDATE alerts SET id = id WHERE 0")


def tenant_case_lock(tenant_id: ColumnElement[int] | InstrumentedAttribute[int]
                     ) -> ColumnElement[Any]:
    """`lock_case` for a tenant on PostgreSQL, as an expression: for a statement that reads
    the tenant anyway (bot.tenants.inbound), so raise_alert need not (``case_locked``)."""
    # The key lock_case uses: the tenant id (an integer column: below 2**31 already).
    return func.pg_advisory_xact_lock(literal(CASE_LOCK_TENANT, Integer), tenant_id)


def lock_case(session: Session, tenant: Tenant | None, sender_phone: str | None) -> None:
    """Take turns with any other transaction raising for the same tenant (or number) until
    commit, so two triggers at the same instant cannot both find no case and open two: the
    second one waits, then finds the first one's case and joins it. Without this, PostgreSQL's
    READ COMMITTED lets both look before either commits."""
    if (tenant.id is None) if tenant is not None else not sender_phone:
        return  # a tenant not yet flushed is this transaction's alone: nobody else can raise
    if session.get_bind().dialect.name != "postgresql":
        session.execute(_LOCK_CASE_SQLITE)
        return
    ns, key = ((CASE_LOCK_TENANT, tenant.id) if tenant is not None
               else (CASE_LOCK_PHONE, zlib.crc32(str(sender_phone).encode())))
    session.execute(_LOCK_CASE_PG, {"ns": ns, "key": key % 2**31})


def _active_case(session: Session, tenant: Tenant | None,
                 sender_phone: str | None) -> Alert | None:
    if tenant is not None:
        return session.scalar(_active_case_sql(True), {"tenant_id": tenant.id})
    if sender_phone:
        return session.scalar(_active_case_sql(False), {"phone": sender_phone})
    return None


def _join(session: Session, alert: Alert, source: Source, sev: Severity, summary: str,
          detail: dict[str, Any], now: datetime) -> None:
    # A case flagged undelivered is escalating in name only: its route died, and its next
    # try may be minutes away. A cry on it restarts at once, as on a dormant case.
    how = join_trigger(alert.state, alert.severity, source, sev,
                       escalating=alert.next_action_at is not None
                       and alert.undelivered_at is None)
    changes: dict[str, Any] = {"trigger_count": alert.trigger_count + 1}
    event_detail = {"summary": summary, "source": str(source), "severity": str(sev), **detail}
    if how is Join.RETRIGGER:
        event_detail["from_severity"] = alert.severity
        event_detail["from_state"] = alert.state
        if sev.rank > Severity(alert.severity).rank:  # severity only rises
            changes["severity"] = str(sev)
        # The new escalation's messages name this trigger (a call request on an acknowledged
        # crisis asks for a call), not the cause its holder already acknowledged.
        changes.update(source=str(source), summary=summary[:500])
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


def reminded_people(session: Session, alert: Alert) -> list[Caseworker]:
    """Who an acknowledged alert's reminders go to (nobody when they are inactive): whoever
    acknowledged it, unless it was handed over since (leave, illness), then its owner: the
    caseworker who holds it now."""
    last = session.scalar(select(AlertEvent.kind).where(
        AlertEvent.alert_id == alert.id, AlertEvent.kind.in_(("acknowledged", "reassigned")))
        .order_by(AlertEvent.id.desc()).limit(1))
    person = alert.owner_id if last == "reassigned" or alert.acknowledged_by_id is None \
        else alert.acknowledged_by_id
    holder = session.get(Caseworker, person) if person is not None else None
    return [holder] if holder is not None and holder.active else []
