"""GDPR tooling for tenants' data: export, erasure, consent and retention.

- Export (right of access, art. 15): everything held about one tenant as JSON, including the
  audit trail of who read it.
- Erasure (art. 17): the tenant row stays (other rows point at it, and anonymous counts such as
  "check-ins answered" stay meaningful) but every personal field is blanked: name, phone (replaced
  by a unique placeholder), home link, message bodies and addresses, notes, alert summaries and
  the tenant's words in timeline details, concern texts about them; unsent outbox rows are
  cancelled. Refused while one of the tenant's alerts is open or acknowledged: a cry for help
  with its person blanked out is one nobody can act on, so it is resolved first.
- Consent: given/withdrawn with a timestamp. Withdrawn consent also sets `opted_out_at`, which
  the dispatcher already honours, so no check-in goes out; giving consent again clears it.
- Retention: message bodies, audit details and finished outbox rows' texts older than
  RETENTION_DAYS are blanked, and so are the tenant's words on the timelines of alerts resolved
  longer ago and the descriptions of concerns resolved longer ago (never an open or
  acknowledged alert's); sent outbox rows older than 30 days are deleted (`retention_purge`, a
  daily worker job).
Every operation writes an audit record in the same transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import lock_case
from bot.core import audit
from bot.core.db import affected_rows
from bot.core.phones import InvalidPhone, normalise_phone
from bot.models import (
    Alert,
    AlertEvent,
    AlertState,
    AuditEvent,
    CaseNote,
    CheckIn,
    Concern,
    ConcernStatus,
    Consent,
    Message,
    OutboxItem,
    OutboxStatus,
    Tenant,
    utcnow,
)

OUTBOX_SENT_KEEP = timedelta(days=30)
ERASED_NAME = ""
# Timeline detail that names staff, channels and escalation steps, never the tenant: erasure
# keeps it, so a message that dies later still matches its "notified" event (bot.alerts.told)
# and the timeline still shows who was told. Every other key (text, matched, summary, phone,
# answer, missed, ...) is the tenant's and is dropped, including keys added later.
STAFF_DETAIL_KEYS = frozenset({
    "caseworker_id", "channel", "step", "target", "reminder", "fallback", "why", "via", "from",
    "to", "told", "reason", "retry_at", "intake_people", "severity", "source", "from_severity",
    "from_state", "key", "cause", "joined", "retry_of"})


class TenantNotFound(LookupError):
    pass


class AlertStillActive(Exception):
    """Erasure refused: the tenant has alerts that are open or acknowledged (their ids)."""

    def __init__(self, tenant_id: int, alert_ids: list[int]) -> None:
        self.alert_ids = alert_ids
        listed = ", ".join(f"#{i}" for i in alert_ids)
        super().__init__(f"tenant {tenant_id} has alert {listed} not yet resolved: resolve it "
                         "first (dashboard), then erase")


def find_tenant(session: Session, phone: str) -> Tenant:
    """The tenant with this phone number (any common notation); TenantNotFound otherwise."""
    try:
        e164 = normalise_phone(phone)
    except InvalidPhone as exc:
        raise TenantNotFound(f"{phone!r} is not a phone number: {exc}") from None
    tenant = session.scalar(select(Tenant).where(Tenant.phone == e164))
    if tenant is None:
        raise TenantNotFound(f"no tenant with phone {e164}")
    return tenant


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_tenant(session: Session, tenant: Tenant, *, actor: str) -> dict[str, Any]:
    """Everything held about the tenant, JSON-ready; the export itself is audited."""
    audit.record(session, actor, "export", "tenant", tenant.id)
    session.flush()
    messages = session.scalars(select(Message).where(Message.tenant_id == tenant.id)
                               .order_by(Message.id)).all()
    checkins = session.scalars(select(CheckIn).where(CheckIn.tenant_id == tenant.id)
                               .order_by(CheckIn.slot_at)).all()
    alerts = session.scalars(select(Alert).where(Alert.tenant_id == tenant.id)
                             .order_by(Alert.id)).all()
    notes = session.scalars(select(CaseNote).where(CaseNote.tenant_id == tenant.id)
                            .order_by(CaseNote.id)).all()
    trail = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "tenant",
                                                     AuditEvent.subject_id == str(tenant.id))
                            .order_by(AuditEvent.id)).all()
    home = tenant.home
    return {
        "exported_at": utcnow().isoformat(),
        "profile": {
            "id": tenant.id, "name": tenant.name, "phone": tenant.phone,
            "language": tenant.language,
            "home": {"reference": home.reference, "address": home.address,
                     "postcode": home.postcode, "city": home.city} if home else None,
            "caseworker": tenant.caseworker.name if tenant.caseworker else None,
            "checkin_weekdays": tenant.checkin_weekdays,
            "checkin_time": tenant.checkin_time.isoformat(),
            "checkins_paused_until": _iso(tenant.checkins_paused_until),
            "consent": tenant.consent, "consent_at": _iso(tenant.consent_at),
            "opted_out_at": _iso(tenant.opted_out_at), "created_at": _iso(tenant.created_at),
            "erased_at": _iso(tenant.erased_at),
        },
        "messages": [{"at": _iso(m.created_at), "direction": m.direction, "channel": m.channel,
                      "body": m.body, "status": m.status} for m in messages],
        "checkins": [{"slot_at": _iso(c.slot_at), "status": c.status,
                      "sent_at": _iso(c.sent_at), "answered_at": _iso(c.answered_at),
                      "answer": c.answer} for c in checkins],
        "alerts": [{"id": a.id, "source": a.source, "severity": a.severity, "state": a.state,
                    "summary": a.summary, "created_at": _iso(a.created_at),
                    "resolved_at": _iso(a.resolved_at),
                    "timeline": [{"at": _iso(e.at), "kind": e.kind, "actor": e.actor}
                                 for e in a.events]} for a in alerts],
        "notes": [{"at": _iso(n.created_at), "author": n.author.name, "body": n.body}
                  for n in notes],
        "access_log": [{"at": _iso(e.at), "actor": e.actor, "action": e.action}
                       for e in trail],
    }


@dataclass
class ErasureReport:
    tenant_id: int
    messages_blanked: int
    notes_deleted: int
    outbox_cancelled: int
    alerts_blanked: int
    checkins_kept: int


def erase_tenant(session: Session, tenant: Tenant, *, actor: str,
                 now: datetime | None = None) -> ErasureReport:
    """Blank every personal field about the tenant; idempotent. Raises AlertStillActive,
    changing nothing, while an alert about them is open or acknowledged."""
    now = now or utcnow()
    phone, tid = tenant.phone, tenant.id
    # Take turns with a trigger raised at this moment (as the tenant and as their number,
    # before they were registered), so none can open a case past the check below.
    lock_case(session, tenant, None)
    lock_case(session, None, phone)
    # Their alerts, and those raised from their number before it was registered.
    theirs = or_(Alert.tenant_id == tid,
                 and_(Alert.tenant_id.is_(None), Alert.sender_phone == phone))
    active = session.scalars(select(Alert.id).where(
        theirs, Alert.state.in_([AlertState.OPEN, AlertState.ACKNOWLEDGED]))
        .order_by(Alert.id)).all()
    if active:
        raise AlertStillActive(tid, list(active))
    about_tenant = or_(Message.tenant_id == tid, Message.sender == phone,
                       Message.recipient == phone)
    blanked = affected_rows(session.execute(update(Message).where(about_tenant).values(
        body="", reply=None, sender="", recipient="")
        .execution_options(synchronize_session=False)))
    outbox_rows = session.scalars(select(OutboxItem).where(
        or_(OutboxItem.tenant_id == tid, OutboxItem.recipient == phone))).all()
    cancelled = 0
    for row in outbox_rows:
        if row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            row.status = OutboxStatus.CANCELLED
            row.last_error = "tenant erased"
            cancelled += 1
        row.body, row.payload, row.recipient = "", {}, "erased"
    notes = affected_rows(session.execute(delete(CaseNote).where(CaseNote.tenant_id == tid)
                            .execution_options(synchronize_session=False)))
    alerts = session.scalars(select(Alert).where(theirs)).all()
    for alert in alerts:
        alert.summary = ""
        if alert.tenant_id is None:
            alert.sender_phone = None
        for event in alert.events:
            event.detail = {k: v for k, v in (event.detail or {}).items()
                            if k in STAFF_DETAIL_KEYS}
        if alert.concern is not None:
            alert.concern.description = ""
            alert.concern.photo_file_id = None
    checkins = len(session.scalars(select(CheckIn.id).where(CheckIn.tenant_id == tid)).all())
    tenant.name = ERASED_NAME
    tenant.phone = f"erased-{tid}"  # unique, and never a number the dispatcher could text
    tenant.home_id = None
    tenant.active = False
    tenant.consent = Consent.WITHDRAWN
    tenant.consent_at = tenant.consent_at or now
    tenant.opted_out_at = tenant.opted_out_at or now
    tenant.checkins_paused_until = None
    tenant.erased_at = tenant.erased_at or now
    report = ErasureReport(tid, blanked, notes, cancelled, len(alerts), checkins)
    audit.record(session, actor, "erase", "tenant", tid, **asdict(report))
    session.flush()
    return report


def record_consent(session: Session, tenant: Tenant, given: bool, *, actor: str,
                   now: datetime | None = None) -> None:
    """Consent given or withdrawn, with its time; withdrawn stops all check-ins."""
    now = now or utcnow()
    tenant.consent = Consent.GIVEN if given else Consent.WITHDRAWN
    tenant.consent_at = now
    if given:
        tenant.opted_out_at = None
    else:
        tenant.opted_out_at = tenant.opted_out_at or now
        # Nothing already queued for them goes out either (replies to STOP etc. are theirs).
        for row in session.scalars(select(OutboxItem).where(
                OutboxItem.tenant_id == tenant.id, OutboxItem.status == OutboxStatus.PENDING)):
            row.status = OutboxStatus.CANCELLED
            row.last_error = "consent withdrawn"
    audit.record(session, actor, "consent_given" if given else "consent_withdrawn", "tenant",
                 tenant.id)


@dataclass
class PurgeReport:
    messages_blanked: int
    audit_details_blanked: int
    outbox_deleted: int
    alert_details_blanked: int = 0
    concerns_blanked: int = 0
    outbox_blanked: int = 0

    def __bool__(self) -> bool:
        return any(asdict(self).values())


# Timeline detail kept past retention: routing (STAFF_DETAIL_KEYS) and the facts about a
# trigger that the alert's summary, the queue and the statistics are rendered from (a count of
# misses, an answer digit, a carrier's error code, a concern's category...). Every other key,
# the tenant's words ("text", "matched") first among them, is dropped, including keys added
# later.
RETAINED_DETAIL_KEYS = STAFF_DETAIL_KEYS | frozenset({
    "summary", "missed", "answer", "pictures", "code", "opted_out_at", "urgency", "category",
    "phone", "message_id", "outbox_id", "goes_at", "key", "error", "retrying"})
# Outbox rows that will not be sent (again): their texts go with the messages'.
_FINISHED = (OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.CANCELLED)
_PURGE_BATCH = 500


def retention_purge(session: Session, *, retention_days: int,
                    now: datetime | None = None) -> PurgeReport:
    """Blank what people wrote once it is older than the retention: message bodies, audit
    details, the words on the timelines of alerts resolved before the cut-off, the
    descriptions of concerns resolved before it, finished outbox rows' texts; delete old sent
    outbox rows. An open or acknowledged alert keeps everything: someone is acting on it."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    messages = affected_rows(session.execute(update(Message).where(
        Message.created_at < cutoff, or_(Message.body != "", Message.reply.is_not(None)))
        .values(body="", reply=None).execution_options(synchronize_session=False)))
    # JSON has no portable equality; its text form is '{}' when empty on both backends.
    details = affected_rows(session.execute(update(AuditEvent).where(
        AuditEvent.at < cutoff, cast(AuditEvent.detail, String) != "{}")
        .values(detail={}).execution_options(synchronize_session=False)))
    outbox = affected_rows(session.execute(delete(OutboxItem).where(
        OutboxItem.status == OutboxStatus.SENT,
        OutboxItem.sent_at < now - OUTBOX_SENT_KEEP)
        .execution_options(synchronize_session=False)))
    texts = affected_rows(session.execute(update(OutboxItem).where(
        OutboxItem.status.in_(_FINISHED), OutboxItem.created_at < cutoff,
        or_(OutboxItem.body != "", cast(OutboxItem.payload, String) != "{}"))
        .values(body="", payload={}).execution_options(synchronize_session=False)))
    report = PurgeReport(messages, details, outbox, _purge_timelines(session, cutoff),
                         _purge_concerns(session, cutoff), texts)
    if report:
        audit.record(session, "system", "retention_purge", "database", None,
                     retention_days=retention_days, **asdict(report))
    return report



def _has_key_besides(column: Any, keys: frozenset[str], dialect: str) -> ColumnElement[bool]:
    """Whether the JSON object in ``column`` has a key not in ``keys``, asked of the database
    (only the rows that need it come back, however long the history)."""
    if dialect == "postgresql":
        # json_object_keys refuses anything but an object: give it {} instead.
        obj = case((func.json_typeof(column) == "object", column), else_=literal({}, JSON))
        key: Any = func.json_object_keys(obj).column_valued("key")
    else:
        key = func.json_each(column).table_valued("key").c.key
    return exists(select(key).where(key.not_in(sorted(keys))))


def _purge_timelines(session: Session, cutoff: datetime) -> int:
    """Drop the tenant's words from the timelines of alerts resolved before ``cutoff``."""
    dialect = session.get_bind().dialect.name
    old = (select(AlertEvent.id, AlertEvent.detail).join(Alert, Alert.id == AlertEvent.alert_id)
           .where(Alert.state == AlertState.RESOLVED, Alert.resolved_at < cutoff,
                  _has_key_besides(AlertEvent.detail, RETAINED_DETAIL_KEYS, dialect),
                  AlertEvent.id > bindparam("after"))
           .order_by(AlertEvent.id).limit(_PURGE_BATCH))
    write = (update(AlertEvent).where(AlertEvent.id == bindparam("event_id"))
             .values(detail=bindparam("kept", type_=JSON))
             .execution_options(synchronize_session=False))
    blanked = after = 0
    while rows := session.execute(old, {"after": after}).all():
        session.connection().execute(write, [
            {"event_id": event_id, "kept": {k: v for k, v in detail.items()
                                            if k in RETAINED_DETAIL_KEYS}
             if isinstance(detail, dict) else {}}
            for event_id, detail in rows])
        blanked, after = blanked + len(rows), rows[-1][0]
    return blanked


def _purge_concerns(session: Session, cutoff: datetime) -> int:
    """Blank the landlord's words (and photo) on concerns resolved before ``cutoff``; the
    reference, category, urgency, status and dates stay for the statistics."""
    resolved_before = (select(Alert.concern_id)
                       .where(Alert.concern_id.is_not(None),
                              Alert.state == AlertState.RESOLVED, Alert.resolved_at < cutoff))
    return affected_rows(session.execute(
        update(Concern).where(Concern.id.in_(resolved_before),
                              Concern.status == ConcernStatus.RESOLVED,
                              or_(Concern.description != "", Concern.photo_file_id.is_not(None)))
        # updated_at as it was: the landlord's list shows it, and a purge is no news to them.
        .values(description="", photo_file_id=None, updated_at=Concern.updated_at)
        .execution_options(synchronize_session=False)))
