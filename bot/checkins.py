"""Check-ins with the database: plan due ones, remind once, mark missed; pause, resume, cadence.

The time rules are in :mod:`bot.timing` (pure); this module applies them to rows, in batches, so
memory stays bounded however many tenants there are.

Status flow of a ``CheckIn``::

    SCHEDULED --(goes_at passes)--> SENT --(reminder_after)--> REMINDED --(missed_after)--> MISSED
        \\                            \\__ answer (bot.conversation / record_answer) __/--> ANSWERED
         \\__ paused / opted out / prompt cancelled or dead-lettered ____________________> SKIPPED

* The planner creates the row and enqueues the SMS in one transaction. ``sent_at`` is the moment
  the prompt is due to go: the slot (or the planner's run, if it runs a little late), deferred
  past the organisation's quiet hours. If that is now, the row starts as SENT; if the prompt waits
  for the morning it starts as SCHEDULED and the reminder job promotes it when ``sent_at`` passes.
  Reminder and miss wait while the prompt's outbox row is still unsent (a rate-limited backlog),
  so a tenant is never reminded about a text they have not had.
* Grace counts from ``sent_at``: one reminder after ``Organisation.reminder_after_hours``
  (deferred past quiet hours; ``reminded_at`` is when it goes), missed after
  ``missed_after_hours``. A miss increments ``Tenant.consecutive_misses`` and raises a
  ``missed`` alert with the severity from :func:`bot.timing.miss_severity`.
* Paused, opted-out (STOP), consent-withdrawn and invalid-number tenants get a SKIPPED row for
  the slot, never an SMS and never a miss. Inactive and erased tenants are left out entirely.
  An opted-out tenant's caseworker gets one low ``delivery_failed`` alert per opt-out (marked by
  an audit event ``checkins.opt_out_alert``), so the silence is visible without weekly noise.

Several workers: the planner holds a PostgreSQL advisory lock while it runs (a second planner
returns at once), and the unique (tenant_id, slot_at) plus the outbox's idempotency key make even
an unlocked second planner harmless. Reminder and miss batches are claimed with
``FOR UPDATE SKIP LOCKED``. SQLite has no such locks: run one worker there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from bot import audit, outbox
from bot.alerts import raise_alert
from bot.checkin_texts import missed_summary, opted_out_summary
from bot.escalation import Source
from bot.logs import get_logger
from bot.models import (
    AuditEvent,
    CheckIn,
    CheckInStatus,
    Consent,
    Organisation,
    OutboxItem,
    OutboxStatus,
    PhoneStatus,
    Tenant,
    utcnow,
)
from bot.phones import InvalidPhone, normalise_phone
from bot.texts import checkin_prompt, checkin_reminder
from bot.timing import (
    DEFAULT_MISS_THRESHOLDS,
    CheckinPolicy,
    checkin_action,
    defer_past_quiet_hours,
    miss_severity,
    next_slot,
    parse_weekdays,
    slots_between,
)

log = get_logger(__name__)

OPEN = (CheckInStatus.SCHEDULED, CheckInStatus.SENT, CheckInStatus.REMINDED)
TENANT_KINDS = ("checkin", "reminder")
# pg_try_advisory_lock key for the planner ("THCI" in ASCII): one planner at a time.
PLANNER_LOCK_KEY = 0x54484349
DEFAULT_BATCH = 500


# --------------------------------------------------------------------------- keys and rules


def _iso(slot: datetime) -> str:
    return slot.astimezone(UTC).isoformat()


def checkin_key(tenant_id: int, slot: datetime) -> str:
    """Outbox idempotency key of a check-in prompt: one per tenant per slot."""
    return f"checkin:{tenant_id}:{_iso(slot)}"


def reminder_key(tenant_id: int, slot: datetime) -> str:
    return f"reminder:{tenant_id}:{_iso(slot)}"


@dataclass(frozen=True)
class OrgRules:
    """What the jobs need of an organisation, read once per run (plain values, no session)."""

    id: int
    tz: ZoneInfo
    quiet_start: time
    quiet_end: time
    policy: CheckinPolicy

    @classmethod
    def of(cls, org: Organisation) -> OrgRules:
        return cls(org.id, ZoneInfo(org.tz_name), org.quiet_start, org.quiet_end,
                   CheckinPolicy(timedelta(hours=org.reminder_after_hours),
                                 timedelta(hours=org.missed_after_hours)))

    def goes_at(self, when: datetime) -> datetime:
        """When a tenant text due at ``when`` may go: after quiet hours."""
        return defer_past_quiet_hours(when, self.tz, self.quiet_start, self.quiet_end)

    def local_date(self, when: datetime) -> date:
        return when.astimezone(self.tz).date()


def _orgs(sessions: sessionmaker[Session]) -> list[OrgRules]:
    with sessions() as s:
        return [OrgRules.of(o) for o in s.scalars(select(Organisation).order_by(Organisation.id))]


def skip_reason(tenant: Tenant, day: date) -> str | None:
    """Why ``tenant`` gets no check-in on local ``day`` (None: send it)."""
    if not tenant.active or tenant.erased_at is not None:
        return "inactive"
    if tenant.opted_out:
        return "opted_out"
    if tenant.consent == Consent.WITHDRAWN:
        return "no_consent"
    if tenant.phone_status != PhoneStatus.OK:
        return "invalid_phone"
    if tenant.checkins_paused_until is not None and day <= tenant.checkins_paused_until:
        return "paused"
    return None


def _weekdays(tenant: Tenant) -> frozenset[int] | None:
    try:
        return parse_weekdays(tenant.checkin_weekdays)
    except ValueError as exc:  # bad data must not stop the planner for everyone else
        log.warning("checkins.bad_cadence", tenant_id=tenant.id, error=str(exc))
        return None


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


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
        for org in _orgs(sessions):
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
        _insert(s)(table).on_conflict_do_nothing(index_elements=["tenant_id", "slot_at"])
        .returning(table.c.tenant_id, table.c.slot_at), rows).all()
    messages: list[dict[str, Any]] = []
    for tenant_id, _slot in created:
        tenant, reason = by_id[tenant_id], reasons[tenant_id]
        if reason is not None:
            result.skipped += 1
            if reason == "opted_out":
                note_opt_out(s, tenant, now=now)
            continue
        messages.append(dict(channel="sms", recipient=tenant.phone,
                             body=checkin_prompt(tenant.language, tenant.name),
                             key=checkin_key(tenant.id, slot), kind="checkin",
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
                detail={"reason": "opted_out", "opted_out_at": _iso(tenant.opted_out_at)},
                now=now)
    audit.record(session, "system", "checkins.opt_out_alert", "tenant", tenant.id).at = now
    return True


# --------------------------------------------------------------------------- reminders / misses


@dataclass
class SweepResult:
    promoted: int = 0
    reminded: int = 0
    missed: int = 0
    skipped: int = 0
    alerts: int = 0
    waiting: int = 0  # the prompt is still in the outbox (rate-limited backlog)

    def __bool__(self) -> bool:
        return bool(self.promoted or self.reminded or self.missed or self.skipped)

    def __str__(self) -> str:
        parts = [f"{name} {value}" for name, value in vars(self).items() if value]
        return ", ".join(parts) or "nothing due"


def _open_batch(org: OrgRules, statuses: Iterable[str], sent_before: datetime, last_id: int,
                batch_size: int) -> Select[tuple[CheckIn, Tenant]]:
    # SKIP LOCKED: another worker's batch is left to it (rendered only on PostgreSQL).
    return (select(CheckIn, Tenant).join(Tenant, CheckIn.tenant_id == Tenant.id)
            .where(Tenant.organisation_id == org.id, CheckIn.status.in_(list(statuses)),
                   CheckIn.sent_at <= sent_before, CheckIn.id > last_id)
            .order_by(CheckIn.id).limit(batch_size)
            .with_for_update(skip_locked=True, of=CheckIn))


def _prompt_states(s: Session, rows: Sequence[tuple[CheckIn, Tenant]]) -> dict[str, str]:
    keys = [checkin_key(c.tenant_id, c.slot_at) for c, _ in rows]
    return dict(s.execute(select(OutboxItem.idempotency_key, OutboxItem.status)
                          .where(OutboxItem.idempotency_key.in_(keys))).all())


def _prompt_gate(c: CheckIn, states: Mapping[str, str]) -> str:
    """"go", "wait" (prompt not delivered yet) or "skip" (prompt cancelled / dead-lettered).

    No outbox row (a check-in made by other means) counts as delivered.
    """
    state = states.get(checkin_key(c.tenant_id, c.slot_at))
    if state in (OutboxStatus.CANCELLED, OutboxStatus.DEAD):
        return "skip"
    if state in (OutboxStatus.PENDING, OutboxStatus.SENDING):
        return "wait"
    return "go"


def promote_due(sessions: sessionmaker[Session], *, now: datetime | None = None) -> int:
    """SCHEDULED -> SENT for check-ins whose deferred prompt is due to go by now.

    Its own 5-second job (like the dispatcher), so an answer that arrives right after the
    morning's deferred prompt finds its check-in open (the SMS handler looks for SENT and
    REMINDED). One indexed UPDATE; normally it touches nothing.
    """
    now = now or utcnow()
    with sessions() as s, s.begin():
        return s.execute(
            update(CheckIn).where(CheckIn.status == CheckInStatus.SCHEDULED,
                                  CheckIn.sent_at <= now)
            .values(status=CheckInStatus.SENT)
            .execution_options(synchronize_session=False)).rowcount or 0


def send_reminders(
    sessions: sessionmaker[Session],
    *,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> SweepResult:
    """Promote SCHEDULED check-ins whose time came, and send the one reminder where due."""
    now = now or utcnow()
    result = SweepResult()
    result.promoted = promote_due(sessions, now=now)
    for org in _orgs(sessions):
        last_id = 0
        while True:
            with sessions() as s, s.begin():
                rows = s.execute(_open_batch(org, [CheckInStatus.SENT],
                                             now - org.policy.reminder_after, last_id,
                                             batch_size)).all()
                if not rows:
                    break
                last_id = rows[-1][0].id
                states = _prompt_states(s, rows)
                for c, tenant in rows:
                    _remind_one(s, org, c, tenant, states, now, result)
    if result:
        log.info("checkins.reminders", result=str(result))
    return result


def _remind_one(s: Session, org: OrgRules, c: CheckIn, tenant: Tenant, states: Mapping[str, str],
                now: datetime, result: SweepResult) -> None:
    gate = _prompt_gate(c, states)
    if gate == "wait":
        result.waiting += 1
        return
    if gate == "skip" or skip_reason(tenant, org.local_date(now)) is not None:
        c.status = CheckInStatus.SKIPPED
        result.skipped += 1
        return
    assert c.sent_at is not None
    if checkin_action(c.sent_at, c.reminded_at, c.answered_at, now, org.policy) != "remind":
        return  # overdue for a miss: mark_missed takes it
    goes_at = org.goes_at(now)
    outbox.enqueue(s, channel="sms", recipient=tenant.phone,
                   body=checkin_reminder(tenant.language, tenant.name),
                   key=reminder_key(tenant.id, c.slot_at), kind="reminder",
                   not_before=goes_at, tenant_id=tenant.id)
    c.status = CheckInStatus.REMINDED
    c.reminded_at = goes_at
    result.reminded += 1


def mark_missed(
    sessions: sessionmaker[Session],
    *,
    now: datetime | None = None,
    thresholds: Mapping[int, str] = DEFAULT_MISS_THRESHOLDS,
    batch_size: int = DEFAULT_BATCH,
) -> SweepResult:
    """Close unanswered check-ins past their grace as MISSED and alert on consecutive misses."""
    now = now or utcnow()
    result = SweepResult()
    for org in _orgs(sessions):
        last_id = 0
        while True:
            with sessions() as s, s.begin():
                rows = s.execute(_open_batch(org, [CheckInStatus.SENT, CheckInStatus.REMINDED],
                                             now - org.policy.missed_after, last_id,
                                             batch_size)).all()
                if not rows:
                    break
                last_id = rows[-1][0].id
                states = _prompt_states(s, rows)
                for c, tenant in rows:
                    _miss_one(s, org, c, tenant, states, now, thresholds, result)
    if result:
        log.info("checkins.missed", result=str(result))
    return result


def _miss_one(s: Session, org: OrgRules, c: CheckIn, tenant: Tenant, states: Mapping[str, str],
              now: datetime, thresholds: Mapping[int, str], result: SweepResult) -> None:
    gate = _prompt_gate(c, states)
    if gate == "wait":
        result.waiting += 1
        return
    assert c.sent_at is not None
    answered_later = s.scalar(select(exists().where(
        CheckIn.tenant_id == tenant.id, CheckIn.status == CheckInStatus.ANSWERED,
        CheckIn.answered_at >= c.sent_at)))
    # Paused or opted out since it was sent, or answered via a newer check-in: not a miss.
    if gate == "skip" or answered_later or skip_reason(tenant, org.local_date(now)) is not None:
        c.status = CheckInStatus.SKIPPED
        result.skipped += 1
        return
    c.status = CheckInStatus.MISSED
    c.missed_at = now
    # Atomic increment: two workers closing two check-ins of one tenant both count.
    misses = s.execute(update(Tenant).where(Tenant.id == tenant.id)
                       .values(consecutive_misses=Tenant.consecutive_misses + 1)
                       .returning(Tenant.consecutive_misses)
                       .execution_options(synchronize_session=False)).scalar_one()
    set_committed_value(tenant, "consecutive_misses", misses)
    result.missed += 1
    severity = miss_severity(misses, thresholds)
    if severity is None:
        return
    lang = tenant.caseworker.language if tenant.caseworker else None
    raise_alert(s, source=Source.MISSED, summary=missed_summary(lang, tenant.name, misses),
                tenant=tenant, severity=severity, detail={"missed": misses}, now=now)
    result.alerts += 1


# --------------------------------------------------------------------------- answers


def open_checkin(session: Session, tenant: Tenant, now: datetime) -> CheckIn | None:
    """The tenant's newest open check-in (a SCHEDULED one counts once its time has come)."""
    return session.scalar(
        select(CheckIn)
        .where(CheckIn.tenant_id == tenant.id,
               or_(CheckIn.status.in_([CheckInStatus.SENT, CheckInStatus.REMINDED]),
                   (CheckIn.status == CheckInStatus.SCHEDULED) & (CheckIn.sent_at <= now)))
        .order_by(CheckIn.slot_at.desc()).limit(1))


def record_answer(session: Session, tenant: Tenant, answer: int | None,
                  now: datetime) -> CheckIn | None:
    """Close the tenant's newest open check-in with ``answer`` (1, 2, 3) and reset the miss run.

    ``answer`` None: the tenant wrote words or asked for a call instead of a number. An answer
    after the reminder still counts. With no open check-in nothing changes (returns None): the
    missed ones stay missed, so a further miss still escalates as it should.
    """
    checkin = open_checkin(session, tenant, now)
    if checkin is None:
        return None
    checkin.status = CheckInStatus.ANSWERED
    checkin.answered_at = now
    checkin.answer = answer
    tenant.consecutive_misses = 0
    return checkin


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


def _close_open(session: Session, tenant: Tenant) -> tuple[int, int]:
    """Skip the tenant's open check-ins and cancel unsent check-in texts; (closed, cancelled)."""
    closed = session.execute(
        update(CheckIn).where(CheckIn.tenant_id == tenant.id, CheckIn.status.in_(list(OPEN)))
        .values(status=CheckInStatus.SKIPPED)
        .execution_options(synchronize_session=False)).rowcount or 0
    cancelled = session.execute(
        update(OutboxItem).where(OutboxItem.tenant_id == tenant.id,
                                 OutboxItem.kind.in_(TENANT_KINDS),
                                 OutboxItem.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, last_error="check-ins paused")
        .execution_options(synchronize_session=False)).rowcount or 0
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
    days = _weekdays(tenant)
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

