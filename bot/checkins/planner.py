"""The planner: finds the check-ins that are due and enqueues their prompts, in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import Engine, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import raise_alert
from bot.alerts.staff_texts import opted_out_summary
from bot.checkins.plan_batch import LAST_ID, BatchStatement, Created
from bot.checkins.rows import (
    DEFAULT_BATCH,
    OrgRules,
    all_org_rules,
    checkin_key,
    slot_iso,
)
from bot.checkins.texts import CHECKIN_PROMPT
from bot.core import audit, outbox
from bot.core.i18n import sms_filler
from bot.core.logs import get_logger
from bot.core.time_text import parse_weekdays
from bot.core.timing import slots_between
from bot.models import (
    AuditEvent,
    CheckInStatus,
    Tenant,
    utcnow,
)
from bot.models.enums import Channel, OutboxKind, Source

log = get_logger(__name__)

# pg_try_advisory_lock key for the planner ("THCI" in ASCII): one planner at a time. Advisory
# locks are database-wide, so the second key is the schema: deployments (and test runs) in
# other schemas of the same database do not keep each other from planning.
PLANNER_LOCK_KEY = 0x54484349
SCHEMA_LOCK_KEY = func.hashtext(func.current_schema())
# Threads planning a big slot side by side on PostgreSQL, each on its own connection: the
# server's part (two inserts with eight index entries and two foreign-key checks per tenant)
# is most of the work, and two backends do it at once while Python prepares the next batch.
PLANNER_THREADS = 2

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
    threads: int = 1  # most threads that planned one slot side by side

    def add(self, share: PlanResult) -> None:
        self.planned += share.planned
        self.skipped += share.skipped
        self.batches += share.batches
        self.largest_batch = max(self.largest_batch, share.largest_batch)
        self.peak_loaded = max(self.peak_loaded, share.peak_loaded)

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
        got = bool(conn.execute(select(func.pg_try_advisory_lock(
            PLANNER_LOCK_KEY, SCHEMA_LOCK_KEY))).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(select(func.pg_advisory_unlock(PLANNER_LOCK_KEY, SCHEMA_LOCK_KEY)))
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
    threads: int | None = None,
) -> PlanResult:
    """Create the check-ins that are due and enqueue their SMS, batch by batch.

    Tenants are read with keyset pagination (id > last id, LIMIT batch_size) and each batch is
    its own transaction and session, so memory does not grow with the number of tenants.
    On PostgreSQL a slot with more than one batch is planned by `threads` threads (default
    PLANNER_THREADS), each a contiguous share of the tenant ids on a connection of its own;
    SQLite (one writer at a time) plans with one.
    """
    now = now or utcnow()
    result = PlanResult()
    postgres = _dialect(sessions) == "postgresql"
    threads = (threads or PLANNER_THREADS) if postgres else 1
    with planner_lock(sessions, enabled=use_lock) as got:
        if not got:
            result.lock_busy = True
            return result
        with ThreadPoolExecutor(threads, thread_name_prefix="planner") as pool:
            for org in all_org_rules(sessions):
                _plan_org(sessions, org, now, batch_size, result, pool, threads)
    if result.planned or result.skipped:
        log.info("checkins.planned", planned=result.planned, skipped=result.skipped,
                 batches=result.batches, threads=result.threads)
    return result


def _plan_org(sessions: sessionmaker[Session], org: OrgRules, now: datetime, batch_size: int,
              result: PlanResult, pool: ThreadPoolExecutor, threads: int) -> None:
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
        dialect = s.get_bind().dialect.name
    for weekdays_spec, at in cadences:
        slot = due_slot(weekdays_spec, at, org, now)
        if slot is None:
            continue
        where = (*base, Tenant.checkin_weekdays == weekdays_spec, Tenant.checkin_time == at)
        plan = _SlotPlan(sessions, BatchStatement.of(dialect, org, slot, now, batch_size, where),
                         slot, org.goes_at(now), now)
        after = plan.batches(0, LAST_ID, result, limit=1 if threads > 1 else None)
        if after is None:
            continue  # all planned (or nothing new)
        with sessions() as s:
            top = s.scalar(select(func.max(Tenant.id)).where(*where)) or after
        if top <= after:
            continue
        # Contiguous shares of the ids still to plan: each thread's tenants, check-ins and
        # index entries stay apart from the others'. Tenants registered meanwhile (id > top)
        # are the next run's.
        step = -(-(top - after) // threads)
        bounds = [(lo, min(lo + step, top)) for lo in range(after, top, step)]
        shares = [PlanResult() for _ in bounds]
        for future in [pool.submit(plan.batches, lo, hi, share)
                       for (lo, hi), share in zip(bounds, shares, strict=True)]:
            future.result()
        for share in shares:
            result.add(share)
        result.threads = max(result.threads, len(bounds))


def _dialect(sessions: sessionmaker[Session]) -> str:
    with sessions() as s:
        return s.get_bind().dialect.name


@dataclass(frozen=True)
class _SlotPlan:
    sessions: sessionmaker[Session]
    batch: BatchStatement
    slot: datetime
    goes_at: datetime
    now: datetime

    def batches(self, after_id: int, until_id: int, result: PlanResult, *,
                limit: int | None = None) -> int | None:
        """Plan the tenants with an id in (after_id, until_id], batch by batch, on one pooled
        connection (one checkout and pre-ping, not one per batch). Stopped by `limit` after a
        full batch it returns the last id planned, for the rest to be shared out; else None."""
        done = 0
        with _one_connection(self.sessions) as batch_sessions:
            while True:
                with batch_sessions() as s, s.begin():
                    created = self.batch.run(s, after_id=after_id, until_id=until_id)
                    if not created:
                        return None
                    after_id = max(c.tenant_id for c in created)
                    result.batches += 1
                    result.largest_batch = max(result.largest_batch, len(created))
                    _enqueue_prompts(s, created, self.slot, self.goes_at, self.now, result)
                    result.peak_loaded = max(result.peak_loaded, len(s.identity_map))
                done += 1
                if limit is not None and done >= limit:
                    return after_id if len(created) == self.batch.size else None


@contextmanager
def _one_connection(sessions: sessionmaker[Session]) -> Iterator[Callable[[], Session]]:
    """Sessions (one per batch transaction) that all use one pooled connection."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        yield sessions
        return
    with bind.connect() as conn:
        yield lambda: sessions(bind=conn)


def _enqueue_prompts(s: Session, created: Sequence[Created], slot: datetime,
                     goes_at: datetime, now: datetime, result: PlanResult) -> None:
    """Queue the prompt of each created check-in that is not skipped (plain rows, no ORM)."""
    skipped = [c.tenant_id for c in created if c.status == CheckInStatus.SKIPPED]
    result.skipped += len(skipped)
    if skipped:  # rare: tell caseworkers about opt-outs (needs the ORM tenant and its alert)
        for tenant in s.scalars(select(Tenant).where(Tenant.id.in_(skipped),
                                                     Tenant.opted_out_at.is_not(None))):
            note_opt_out(s, tenant, now=now)
    # `checkin_prompt(language, name)`, translated once per language instead of per tenant.
    prompts: dict[str, Callable[[str], str]] = {}
    messages = []
    for c in created:
        if c.status == CheckInStatus.SKIPPED:
            continue
        prompt = prompts.get(c.language) or prompts.setdefault(
            c.language, sms_filler(c.language, CHECKIN_PROMPT, "name"))
        messages.append(dict(channel=Channel.SMS, recipient=c.phone, body=prompt(c.name),
                             key=checkin_key(c.tenant_id, slot), kind=OutboxKind.CHECKIN,
                             not_before=goes_at, tenant_id=c.tenant_id))
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
