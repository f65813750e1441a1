"""A tenant's check-in schedule as caseworkers change it: pause, resume, cadence, upcoming."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.checkins.rows import (
    OPEN,
    TENANT_KINDS,
    OrgRules,
    skip_reason,
    tenant_weekdays,
)
from bot.core import audit
from bot.core.db import affected_rows
from bot.core.logs import get_logger
from bot.core.phones import InvalidPhone, normalise_phone
from bot.core.timing import next_slot
from bot.models import (
    CheckIn,
    CheckInStatus,
    Organisation,
    OutboxItem,
    OutboxStatus,
    Tenant,
    utcnow,
)

log = get_logger(__name__)

# --------------------------------------------------------------------------- caseworker actions


def find_tenant(session: Session, ref: str) -> Tenant | None:
    """A tenant by id ("42") or phone ("20 12 34 56", "+4520123456")."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit() and len(ref) <= 7:  # isdigit() alone accepts "²"
        return session.get(Tenant, int(ref))
    try:
        phone = normalise_phone(ref)
    except InvalidPhone:
        return None
    return session.scalar(select(Tenant).where(Tenant.phone == phone))


def _org_rules(session: Session, tenant: Tenant) -> OrgRules:
    org = session.get(Organisation, tenant.organisation_id)
    assert org is not None
    return OrgRules.of(org)


def local_today(session: Session, tenant: Tenant, now: datetime | None = None) -> date:
    """Today in the tenant's municipality (the first day a pause may end on)."""
    return _org_rules(session, tenant).local_date(now or utcnow())


def _close_open(session: Session, tenant: Tenant) -> tuple[int, int]:
    """Skip the tenant's open check-ins and cancel unsent check-in texts; (closed, cancelled)."""
    closed = affected_rows(session.execute(
        update(CheckIn).where(CheckIn.tenant_id == tenant.id, CheckIn.status.in_(list(OPEN)))
        .values(status=CheckInStatus.SKIPPED)
        .execution_options(synchronize_session=False)))
    cancelled = affected_rows(session.execute(
        update(OutboxItem).where(OutboxItem.tenant_id == tenant.id,
                                 OutboxItem.kind.in_(TENANT_KINDS),
                                 OutboxItem.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, last_error="check-ins paused")
        .execution_options(synchronize_session=False)))
    return closed, cancelled


def pause(session: Session, tenant: Tenant, until: date, *, actor: str,
          now: datetime | None = None) -> None:
    """Pause check-ins up to and including local date ``until`` (hospital stay, holiday).

    Open check-ins are closed as SKIPPED and unsent check-in texts cancelled, so nothing the
    pause covers can later count as missed.
    """
    now = now or utcnow()
    today = _org_rules(session, tenant).local_date(now)
    if until < today:
        raise ValueError(f"the pause end {until.isoformat()} is in the past (today is "
                         f"{today.isoformat()})")
    before = tenant.checkins_paused_until
    tenant.checkins_paused_until = until
    closed, cancelled = _close_open(session, tenant)
    audit.record(session, actor, "checkins.pause", "tenant", tenant.id, until=until.isoformat(),
                 before=before.isoformat() if before else None, closed=closed,
                 cancelled=cancelled).at = now


def resume(session: Session, tenant: Tenant, *, actor: str, now: datetime | None = None) -> bool:
    """End a pause now; the next slot is sent as usual. False if the tenant was not paused."""
    now = now or utcnow()
    before = tenant.checkins_paused_until
    tenant.checkins_paused_until = None
    audit.record(session, actor, "checkins.resume", "tenant", tenant.id,
                 before=before.isoformat() if before else None).at = now
    return before is not None and before >= _org_rules(session, tenant).local_date(now)


def change_cadence(session: Session, tenant: Tenant, *, weekdays: Iterable[int], at: time,
                   actor: str, now: datetime | None = None) -> None:
    """Set the check-in weekdays (ISO 1-7) and local time, with an audit record."""
    days = sorted(set(weekdays))
    if not days or any(not 1 <= d <= 7 for d in days):
        raise ValueError(f"weekdays must be ISO numbers 1-7, got {days}")
    if at.tzinfo is not None:
        raise ValueError("the check-in time is a local wall time, without a zone")
    before = {"weekdays": tenant.checkin_weekdays, "time": tenant.checkin_time.strftime("%H:%M")}
    tenant.checkin_weekdays = ",".join(str(d) for d in days)
    tenant.checkin_time = at.replace(second=0, microsecond=0)
    audit.record(session, actor, "checkins.cadence", "tenant", tenant.id, before=before,
                 after={"weekdays": tenant.checkin_weekdays,
                        "time": tenant.checkin_time.strftime("%H:%M")}).at = now or utcnow()


@dataclass(frozen=True)
class UpcomingSend:
    slot: datetime
    goes_at: datetime  # the slot, or the end of quiet hours
    skip: str | None  # why it will not be sent ("paused", "opted_out", ...)


def upcoming(session: Session, tenant: Tenant, *, now: datetime | None = None,
             count: int = 5) -> list[UpcomingSend]:
    """The tenant's next ``count`` slots as the planner will treat them (for `schedule show`)."""
    now = now or utcnow()
    org = _org_rules(session, tenant)
    days = tenant_weekdays(tenant)
    if days is None:
        return []
    sends: list[UpcomingSend] = []
    after = now
    for _ in range(count):
        slot = next_slot(days, tenant.checkin_time, org.tz, after)
        sends.append(UpcomingSend(slot, org.goes_at(slot),
                                  skip_reason(tenant, org.local_date(slot))))
        after = slot
    return sends
