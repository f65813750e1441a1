"""The planner: finds the check-ins that are due and enqueues their prompts, in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import raise_alert
from bot.alerts.staff_texts import opted_out_summary
from bot.checkins.rows import (
    DEFAULT_BATCH,
    OrgRules,
    all_org_rules,
    checkin_key,
    skip_reason,
    slot_iso,
)
from bot.checkins.texts import checkin_prompt
from bot.core import audit, outbox
from bot.core.db import insert_for
from bot.core.logs import get_logger
from bot.core.time_text import parse_weekdays
from bot.core.timing import slots_between
from bot.models import (
    AuditEvent,
    CheckIn,
    CheckInStatus,
    Tenant,
    utcnow,
)
from bot.models.enums import Channel, OutboxKind, Source

log = get_logger(__name__)

# pg_try_advisory_lock key for the planner ("THCI" in ASCII): one planner at a time.
PLANNER_LOCK_KEY = 0x54484349

# --------------------------------------------------------------------------- planner


@dataclass
class PlanResult:
    planned: int = 0
    skipped: int = 0
    batches: int = 0
    largest_batch: int = 0
    # Most ORM objects one batch's session held: the bounded-memory guarantee, checked in tests.
    peak_loaded: int = 0
    lock_busy: bool = False

    def __bool__(self) -> bool:
        return bool(self.planned or self.skipped or self.lock_busy)

    def __str__(self) -> str:
        if self.lock_busy:
            return "another worker is planning"
        return f"planned {self.planned}, skipped {self.skipped} ({self.batches} batches)"


@contextmanager
def planner_lock(sessions: sessionmaker[Session], *, enabled: bool = True) -> Iterator[bool]:
    """Hold the planner's PostgreSQL advisory lock; yields False if another worker has it.

    Session-level lock on its own connection, so it spans the planner's many batch
    transactions and is released by PostgreSQL if the worker dies. SQLite: always True.
    """
    bind = sessions.kw.get("bind")
    if not enabled or not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        yield True
        return
    with bind.connect() as conn:
        got = bool(conn.execute(select(func.pg_try_advisory_lock(PLANNER_LOCK_KEY))).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(select(func.pg_advisory_unlock(PLANNER_LOCK_KEY)))
                conn.commit()


def due_slot(weekdays: str, at: time, org: OrgRules, now: datetime) -> datetime | None:
    """The latest slot of a cadence at or before ``now`` that is still worth sending.

    A slot older than the reminder delay is stale (the worker was down): it is dropped and the
    next slot comes as usual. ``None`` also for a cadence that cannot be parsed (logged).
    """
    try:
        days = parse_weekdays(weekdays)
    except ValueError as exc:  # bad data must not stop the planner for everyone else
        log.warning("checkins.bad_cadence", organisation_id=org.id, weekdays=weekdays,
                    error=str(exc))
        return None
    slots = list(slots_between(days, at, org.tz, now - org.policy.reminder_after,
                               now + timedelta(microseconds=1)))
    return slots[-1] if slots else None


def plan_checkins(
    sessions: sessionmaker[Session],
    *,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
    use_lock: bool = True,
) -> PlanResult:
    """Create the check-ins that are due and enqueue their SMS, batch by batch.

    Tenants are read with keyset pagination (id > last id, LIMIT batch_size) and each batch is
    its own transaction and session, so memory does not grow with the number of tenants.
    """
    now = now or utcnow()
    result = PlanResult()
    with planner_lock(sessions, enabled=use_lock) as got:
        if not got:
            result.lock_busy = True
            return result
        for org in all_org_rules(sessions):
            _plan_org(sessions, org, now, batch_size, result)
    if result.planned or result.skipped:
        log.info("checkins.planned", planned=result.planned, skipped=result.skipped,
                 batches=result.batches)
    return result


def _plan_org(sessions: sessionmaker[Session], org: OrgRules, now: datetime, batch_size: int,
              result: PlanResult) -> None:
    """Plan per distinct cadence: one due slot each, then only tenants still without it.

    The anti-join on the unique (tenant_id, slot_at) index makes a re-run that finds nothing
    new cheap, however many tenants share the slot.
    """
    day, last_day = org.local_date(now - org.policy.reminder_after), org.local_date(now)
    weekdays: set[int] = set()
    while day <= last_day:
        weekdays.add(day.isoweekday())
        day += timedelta(days=1)
    # Cadences are ISO digits ("2", "1,4"): a cheap SQL pre-filter to today's possible tenants.
    base = (Tenant.organisation_id == org.id, Tenant.active.is_(True),
            Tenant.erased_at.is_(None),
            or_(*[Tenant.checkin_weekdays.contains(str(d)) for d in sorted(weekdays)]))
    with sessions() as s:
        cadences = s.execute(select(Tenant.checkin_weekdays, Tenant.checkin_time)
                             .where(*base).distinct()).all()
    for weekdays_spec, at in cadences:
        slot = due_slot(weekdays_spec, at, org, now)
        if slot is None:
            continue
        last_id = 0
        while True:
            with sessions() as s, s.begin():
                tenants = list(s.scalars(
                    select(Tenant)
                    .where(*base, Tenant.checkin_weekdays == weekdays_spec,
                           Tenant.checkin_time == at, Tenant.id > last_id,
                           Tenant.created_at <= slot,  # never a slot from before registration
                           ~exists().where(CheckIn.tenant_id == Tenant.id,
                                           CheckIn.slot_at == slot))
                    .order_by(Tenant.id).limit(batch_size)))
                if not tenants:
                    break
                last_id = tenants[-1].id
                result.batches += 1
                result.largest_batch = max(result.largest_batch, len(tenants))
                _plan_batch(s, org, tenants, slot, now, result)
                result.peak_loaded = max(result.peak_loaded, len(s.identity_map))


def _plan_batch(s: Session, org: OrgRules, tenants: Sequence[Tenant], slot: datetime,
                now: datetime, result: PlanResult) -> None:
    goes_at = org.goes_at(now)
    reasons = {t.id: skip_reason(t, org.local_date(slot)) for t in tenants}
    by_id = {t.id: t for t in tenants}
    rows = [dict(tenant_id=t.id, slot_at=slot, created_at=now,
                 sent_at=goes_at if reasons[t.id] is None else None,
                 status=CheckInStatus.SKIPPED if reasons[t.id] is not None
                 else CheckInStatus.SENT if goes_at <= now else CheckInStatus.SCHEDULED)
            for t in tenants]
    # ON CONFLICT DO NOTHING: a second planner that got here first wins, quietly.
    table = CheckIn.__table__
    created = s.execute(
        insert_for(s)(table).on_conflict_do_nothing(index_elements=["tenant_id", "slot_at"])
        .returning(table.c.tenant_id, table.c.slot_at), rows).all()
    messages: list[dict[str, Any]] = []
    for tenant_id, _slot in created:
        tenant, reason = by_id[tenant_id], reasons[tenant_id]
        if reason is not None:
            result.skipped += 1
            if reason == "opted_out":
                note_opt_out(s, tenant, now=now)
            continue
        messages.append(dict(channel=Channel.SMS, recipient=tenant.phone,
                             body=checkin_prompt(tenant.language, tenant.name),
                             key=checkin_key(tenant.id, slot), kind=OutboxKind.CHECKIN,
                             not_before=goes_at, tenant_id=tenant.id))
    outbox.enqueue_many(s, messages)
    result.planned += len(messages)


def note_opt_out(session: Session, tenant: Tenant, *, now: datetime | None = None) -> bool:
    """Tell the caseworker once per opt-out that check-ins have stopped (a low alert).

    Returns True if the alert was raised now. The audit event is the "already told" marker.
    """
    now = now or utcnow()
    if tenant.opted_out_at is None:
        return False
    told = session.scalar(select(exists().where(
        AuditEvent.subject_type == "tenant", AuditEvent.subject_id == str(tenant.id),
        AuditEvent.action == "checkins.opt_out_alert", AuditEvent.at >= tenant.opted_out_at)))
    if told:
        return False
    lang = tenant.caseworker.language if tenant.caseworker else None
    raise_alert(session, source=Source.DELIVERY_FAILED, severity="low",
                summary=opted_out_summary(lang, tenant.name), tenant=tenant,
                detail={"reason": "opted_out", "opted_out_at": slot_iso(tenant.opted_out_at)},
                now=now)
    audit.record(session, "system", "checkins.opt_out_alert", "tenant", tenant.id).at = now
    return True
