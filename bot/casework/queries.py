"""Caseworker-side reads and writes for the dashboard and the JSON API.

Every query is scoped by `bot.casework.access` (the same rules as its pure predicates), and
every read of a tenant's personal data is written to the audit log here, so no adapter can
forget it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, case, false, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.alerts.escalator import notify_new_owner
from bot.alerts.routing import Delivery
from bot.casework.access import (
    AlertRef,
    Role,
    TenantRef,
    Viewer,
    can_act_on_alert,
    can_reassign_to,
    can_view_alert,
)
from bot.casework.access import can_view_tenant as _can_view_tenant
from bot.checkins import schedule
from bot.core import audit
from bot.core.config import Settings
from bot.core.storable import storable
from bot.core.tokens import hash_token, new_token
from bot.models import (
    Alert,
    AlertEvent,
    AlertState,
    AuditEvent,
    CaseNote,
    Caseworker,
    CheckIn,
    Message,
    Team,
    Tenant,
    utcnow,
)
from bot.models.enums import Severity

# Login throttling: this many failures for one e-mail within the window locks it for the window.
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW = timedelta(minutes=15)
ACTIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


def actor(cw: Caseworker | Viewer) -> str:
    return f"caseworker:{cw.id}"


def viewer_for(cw: Caseworker) -> Viewer:
    org = cw.team.organisation
    return Viewer(id=cw.id, role=cw.role, team_id=cw.team_id, organisation_id=org.id,
                  active=cw.active, intake=org.intake_team_id == cw.team_id)


def tenant_ref(tenant: Tenant) -> TenantRef:
    cw = tenant.caseworker
    return TenantRef(organisation_id=tenant.organisation_id,
                     caseworker_id=cw.id if cw else None,
                     caseworker_team_id=cw.team_id if cw else None)


def alert_ref(alert: Alert) -> AlertRef:
    return AlertRef(organisation_id=alert.organisation_id, team_id=alert.team_id,
                    owner_id=alert.owner_id, on_intake=alert.intake_at is not None)


def may_act_on_alert(viewer: Viewer, alert: Alert) -> bool:
    """The one rule for every door: dashboard, API, SMS reply codes, Telegram buttons."""
    return can_act_on_alert(viewer, alert_ref(alert))


def can_view_tenant(viewer: Viewer, tenant: Tenant) -> bool:
    return _can_view_tenant(viewer, tenant_ref(tenant))


# --------------------------------------------------------------------------- scoping as SQL


def _tenant_filter(viewer: Viewer) -> ColumnElement[bool]:
    if not viewer.active:
        return false()
    if viewer.role == Role.ADMIN:
        return Tenant.organisation_id == viewer.organisation_id
    if viewer.role == Role.TEAM_LEAD:
        team_members = select(Caseworker.id).where(Caseworker.team_id == viewer.team_id)
        return (Tenant.organisation_id == viewer.organisation_id) & \
            Tenant.caseworker_id.in_(team_members)
    if viewer.role == Role.CASEWORKER:
        return Tenant.caseworker_id == viewer.id
    return false()


def _alert_filter(viewer: Viewer) -> ColumnElement[bool]:
    """`access.can_view_alert` as SQL (tests/casework check that the two agree)."""
    if not viewer.active:
        return false()
    same_org = Alert.organisation_id == viewer.organisation_id
    if viewer.role == Role.ADMIN:
        return same_org
    if viewer.role in (Role.TEAM_LEAD, Role.CASEWORKER):
        mine = or_(Alert.team_id == viewer.team_id, Alert.owner_id == viewer.id)
        if viewer.intake:
            mine = or_(mine, Alert.team_id.is_(None), Alert.intake_at.is_not(None))
        return same_org & mine
    return false()


def sort_key(alert: Alert) -> tuple[int, int, datetime, int]:
    """Queue order: alerts that reached nobody (undelivered) first, then the most severe (by
    rank, never by string), then the nearest deadline."""
    far = datetime.max.replace(tzinfo=utcnow().tzinfo)
    return (0 if alert.undelivered_at is not None else 1, -Severity(alert.severity).rank,
            alert.next_action_at or far, alert.id)


def _rank_sql() -> ColumnElement[int]:
    """Severity rank as SQL (from Severity.rank), so LIMIT keeps the most urgent alerts."""
    return case(*((Alert.severity == str(sev), sev.rank) for sev in Severity), else_=-1)


def alert_queue(session: Session, viewer: Viewer, states: tuple[str, ...] = ACTIVE_STATES,
                limit: int = 500) -> list[Alert]:
    q = (select(Alert).where(_alert_filter(viewer), Alert.state.in_(states))
         .options(selectinload(Alert.tenant).selectinload(Tenant.caseworker),
                  selectinload(Alert.home), selectinload(Alert.owner)))  # no query per row
    return in_queue_order(session, q, resolved=states == (AlertState.RESOLVED,), limit=limit)


def in_queue_order(session: Session, q: Select[Alert], *, resolved: bool,
                   limit: int) -> list[Alert]:
    """The first `limit` alerts of `q` in queue order (`sort_key`), the LIMIT applied in SQL in
    the same order, so an alert that reached nobody is never cut off below a full page."""
    if resolved:  # newest first is the useful order for closed alerts
        return list(session.scalars(q.order_by(Alert.id.desc()).limit(limit)))
    q = q.order_by(Alert.undelivered_at.is_(None), _rank_sql().desc(),
                   Alert.next_action_at.is_(None), Alert.next_action_at, Alert.id)
    return sorted(session.scalars(q.limit(limit)), key=sort_key)


def visible_tenants(session: Session, viewer: Viewer) -> list[Tenant]:
    return list(session.scalars(select(Tenant).where(_tenant_filter(viewer),
                                                     Tenant.erased_at.is_(None))
                                .order_by(Tenant.name)))


# Ids beyond a 32-bit integer cannot exist; asking PostgreSQL for one would be an error, not None.
MAX_ID = 2**31 - 1


def get_alert(session: Session, viewer: Viewer, alert_id: int) -> Alert | None:
    """The alert if it exists and the viewer may see it (None either way: no existence leak)."""
    if not 0 < alert_id <= MAX_ID:
        return None
    alert = session.get(Alert, alert_id)
    if alert is None or not can_view_alert(viewer, alert_ref(alert)):
        return None
    return alert


def get_tenant(session: Session, viewer: Viewer, tenant_id: int) -> Tenant | None:
    if not 0 < tenant_id <= MAX_ID:
        return None
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or not can_view_tenant(viewer, tenant):
        return None
    return tenant


# --------------------------------------------------------------------------- reading, audited


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # message_in, message_out, checkin, alert, note
    text: str
    ref: int | None = None


@dataclass
class TenantFile:
    tenant: Tenant
    timeline: list[TimelineEntry]
    checkins: list[CheckIn]
    alerts: list[Alert]
    notes: list[CaseNote]


def read_tenant(session: Session, viewer: Viewer, tenant: Tenant, *, via: str) -> TenantFile:
    """Everything about one tenant for their page; writes the audit record of the read."""
    messages = session.scalars(select(Message).where(Message.tenant_id == tenant.id)
                               .order_by(Message.created_at.desc(), Message.id.desc())
                               .limit(200)).all()
    checkins = session.scalars(select(CheckIn).where(CheckIn.tenant_id == tenant.id)
                               .order_by(CheckIn.slot_at.desc()).limit(100)).all()
    alerts = session.scalars(select(Alert).where(Alert.tenant_id == tenant.id)
                             .order_by(Alert.id.desc()).limit(100)).all()
    notes = session.scalars(select(CaseNote).where(CaseNote.tenant_id == tenant.id)
                            .order_by(CaseNote.id.desc())).all()
    timeline = [TimelineEntry(m.created_at, f"message_{m.direction}", m.body) for m in messages]
    timeline += [TimelineEntry(c.answered_at or c.sent_at or c.slot_at, "checkin",
                               str(c.answer) if c.answer is not None else c.status, c.id)
                 for c in checkins]
    timeline += [TimelineEntry(a.created_at, "alert", a.summary, a.id) for a in alerts]
    timeline += [TimelineEntry(n.created_at, "note", n.body, n.id) for n in notes]
    timeline.sort(key=lambda e: e.at, reverse=True)
    audit.record(session, actor(viewer), "view", "tenant", tenant.id, via=via)
    return TenantFile(tenant, timeline, list(checkins), list(alerts), list(notes))


def read_alert(session: Session, viewer: Viewer, alert: Alert, *, via: str) -> list[CaseNote]:
    """The alert's notes; the read is audited against the tenant it is about."""
    notes = session.scalars(select(CaseNote).where(CaseNote.alert_id == alert.id)
                            .order_by(CaseNote.id)).all()
    if alert.tenant_id is not None:
        audit.record(session, actor(viewer), "view_alert", "tenant", alert.tenant_id,
                     alert_id=alert.id, via=via)
    return list(notes)


# --------------------------------------------------------------------------- writing


class NotAllowed(Exception):
    """The viewer may not do this; the message says why (fit to show)."""


NOTE_MAX = 5000


class NoteTooLong(ValueError):
    """Refused rather than cut: a caseworker's note is kept whole or not at all."""


def add_note(session: Session, viewer: Viewer, tenant: Tenant, body: str,
             alert: Alert | None = None) -> CaseNote:
    body = storable(body).strip()
    if not body:
        raise ValueError("empty note")
    if len(body) > NOTE_MAX:
        raise NoteTooLong(f"a note has at most {NOTE_MAX} characters, this one {len(body)}")
    note = CaseNote(tenant_id=tenant.id, alert_id=alert.id if alert else None,
                    author_id=viewer.id, body=body)
    session.add(note)
    if alert is not None:
        session.add(AlertEvent(alert=alert, kind="note", actor=actor(viewer), detail={}))
    session.flush()
    audit.record(session, actor(viewer), "add_note", "tenant", tenant.id, note_id=note.id)
    return note


def reassignable_to(session: Session, viewer: Viewer) -> list[Caseworker]:
    """Colleagues an alert can be handed to by this viewer."""
    q = select(Caseworker).join(Team).where(Caseworker.active.is_(True))
    q = q.where(Team.organisation_id == viewer.organisation_id) if viewer.role == Role.ADMIN \
        else q.where(Caseworker.team_id == viewer.team_id)
    return list(session.scalars(q.order_by(Caseworker.name)))


def reassign(session: Session, viewer: Viewer, alert: Alert, new_owner: Caseworker,
             now: datetime | None = None) -> AlertEvent | None:
    """Hand an alert to another caseworker (and their team); returns the `reassigned` timeline
    event, None when nothing changed."""
    if not can_reassign_to(viewer, viewer_for(new_owner)):
        raise NotAllowed("cannot hand the alert to that caseworker")
    if alert.owner_id == new_owner.id:
        return None
    before = alert.owner_id
    alert.owner_id = new_owner.id
    alert.team_id = new_owner.team_id
    event = AlertEvent(alert=alert, at=now or utcnow(), kind="reassigned",
                       actor=actor(viewer), detail={"from": before, "to": new_owner.id})
    session.add(event)
    audit.record(session, actor(viewer), "reassign", "alert", alert.id, to=new_owner.id)
    return event


def pause_checkins(session: Session, viewer: Viewer, tenant: Tenant, until: date | None) -> None:
    """Pause check-ins until (and including) a local date; None resumes them.

    Goes through `bot.checkins`, which checks the date against the municipality's local day and
    closes open check-ins, so nothing the pause covers counts as missed. Raises ValueError for a
    date in the past.
    """
    if until is None:
        schedule.resume(session, tenant, actor=actor(viewer))
    else:
        schedule.pause(session, tenant, until, actor=actor(viewer))


def new_telegram_link(session: Session, cw: Caseworker) -> str:
    """A one-time token for `/start cw-<token>`; only its hash is kept (shown once)."""
    token = new_token()
    cw.telegram_link_code_hash = hash_token(token)
    audit.record(session, actor(cw), "telegram_link_code", "caseworker", cw.id)
    return token


# --------------------------------------------------------------------------- login throttling


def login_locked(session: Session, email: str, now: datetime | None = None) -> bool:
    """Too many failed logins for this e-mail lately (kept in the audit log: works across
    processes, survives restarts, and leaves a trail)."""
    now = now or utcnow()
    email = email.strip().lower()
    last_ok = session.scalar(select(AuditEvent.at).where(
        AuditEvent.action == "login", AuditEvent.subject_type == "login",
        AuditEvent.subject_id == email[:64]).order_by(AuditEvent.at.desc()).limit(1))
    since = max(now - LOGIN_WINDOW, last_ok) if last_ok else now - LOGIN_WINDOW
    failures = session.scalars(select(AuditEvent.id).where(
        AuditEvent.action == "login_failed", AuditEvent.subject_type == "login",
        AuditEvent.subject_id == email[:64], AuditEvent.at > since)).all()
    return len(failures) >= LOGIN_MAX_FAILURES


def record_login(session: Session, email: str, who: Caseworker | None, remote: str | None) -> None:
    """A successful (who given) or failed login; the subject is the e-mail typed."""
    audit.record(session, actor(who) if who else "anonymous",
                 "login" if who else "login_failed", "login", email.strip().lower()[:64],
                 remote=remote)


def audit_log(session: Session, viewer: Viewer, subject_type: str | None = None,
              subject_id: str | None = None, limit: int = 200, *, action: str | None = None,
              actor_id: int | None = None, offset: int = 0) -> list[AuditEvent]:
    """The viewer's municipality's events, newest first, filtered; the read itself is audited
    (once per page, not per filter)."""
    q = select(AuditEvent).where(AuditEvent.organisation_id == viewer.organisation_id)
    if subject_type:
        q = q.where(AuditEvent.subject_type == subject_type[:32])
    if subject_id:
        q = q.where(AuditEvent.subject_id == subject_id[:64])
    if action:
        q = q.where(AuditEvent.action == action[:64])
    if actor_id is not None:
        q = q.where(AuditEvent.actor == f"caseworker:{actor_id}")
    audit.record(session, actor(viewer), "view", "audit_log", None)
    return list(session.scalars(q.order_by(AuditEvent.id.desc()).offset(max(0, offset))
                                .limit(limit)))


def caseworker_by_chat(session: Session, chat_id: int) -> Caseworker | None:
    return session.scalar(select(Caseworker).where(Caseworker.telegram_chat_id == chat_id,
                                                   Caseworker.active.is_(True)))


@dataclass(frozen=True)
class Handover:
    changed: bool  # the owner changed
    told: bool = False  # the new owner was reached on at least one channel
    # Their message is queued, but no worker has been sending for minutes: not told yet.
    no_sender: bool = False


def reassign_and_tell(session: Session, viewer: Viewer, alert: Alert, new_owner: Caseworker,
                      settings: Settings, channels: Collection[str] | None, *,
                      delivery: Delivery | None = None) -> Handover:
    """:func:`reassign`, and the new owner is told at once on their channels (the timeline
    shows the handover, whether it reached them, and each message). Whoever handed it over may
    only be told "they have been told" when ``told``: otherwise nobody knows it changed hands.
    ``delivery``: the process's, to check as a tenant's reply does that a sender is running."""
    event = reassign(session, viewer, alert, new_owner)
    if event is None:
        return Handover(changed=False)
    session.flush()
    told = notify_new_owner(session, alert, new_owner, settings, channels=channels,
                            handover_id=event.id) > 0
    no_sender = bool(told and delivery is not None
                     and not delivery.queued_goes_out(session, utcnow()))
    event.detail = {**event.detail, "told": told and not no_sender}
    return Handover(changed=True, told=told and not no_sender, no_sender=no_sender)
