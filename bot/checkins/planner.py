"""The planner: finds the check-ins that are due and enqueues their prompts, in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Engine,
    Integer,
    Table,
    bindparam,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import raise_alert
from bot.alerts.staff_texts import opted_out_summary
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
    CheckIn,
    CheckInStatus,
    Consent,
    PhoneStatus,
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
        batch = _BatchStatement.of(
            _dialect(sessions), org, slot, now, batch_size,
            (*base, Tenant.checkin_weekdays == weekdays_spec, Tenant.checkin_time == at))
        with _one_connection(sessions) as batch_sessions:
            last_id = 0
            while True:
                with batch_sessions() as s, s.begin():
                    created = batch.run(s, after_id=last_id)
                    if not created:
                        break
                    last_id = max(c.tenant_id for c in created)
                    result.batches += 1
                    result.largest_batch = max(result.largest_batch, len(created))
                    _enqueue_prompts(s, created, slot, org.goes_at(now), now, result)
                    result.peak_loaded = max(result.peak_loaded, len(s.identity_map))


def _dialect(sessions: sessionmaker[Session]) -> str:
    with sessions() as s:
        return s.get_bind().dialect.name


@contextmanager
def _one_connection(sessions: sessionmaker[Session]) -> Iterator[Callable[[], Session]]:
    """Sessions (one per batch transaction) that all use one pooled connection: one checkout
    and one pre-ping for a slot's batches instead of one per batch."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        yield sessions
        return
    with bind.connect() as conn:
        yield lambda: sessions(bind=conn)


class Created(NamedTuple):
    """A check-in this planner created, with what its prompt needs (plain values, no ORM)."""

    tenant_id: int
    status: str
    phone: str
    language: str
    name: str


def _skip_reason_sql(day: date) -> Any:
    """`bot.checkins.rows.skip_reason` as SQL, for tenants already known active (see `base`)."""
    return case(
        (Tenant.opted_out_at.is_not(None), "opted_out"),
        (Tenant.consent == Consent.WITHDRAWN, "no_consent"),
        (Tenant.phone_status != PhoneStatus.OK, "invalid_phone"),
        (Tenant.checkins_paused_until >= day, "paused"),
        else_=null())


@dataclass(frozen=True)
class _BatchStatement:
    """One slot's batch as one statement, built once and run per batch with `after_id`.

    Creates the check-ins for `slot` of the next `batch_size` tenants after `after_id` that
    have none yet (INSERT .. SELECT .. ON CONFLICT DO NOTHING: a second planner that got there
    first wins, quietly). PostgreSQL does it in one round trip: the INSERT in a CTE, joined
    back to the chosen tenants for what the prompts need.
    """

    statement: Any
    postgres: bool

    @classmethod
    def of(cls, dialect: str, org: OrgRules, slot: datetime, now: datetime, batch_size: int,
           where: tuple[Any, ...]) -> _BatchStatement:
        # Rendered into the SQL text, so each batch gets a plan for its own key (a prepared
        # statement's generic plan, PostgreSQL's choice after five runs, can turn the bounded
        # anti-join into a nested loop over the whole key range: quadratic again).
        after_id = bindparam("after_id", type_=Integer(), literal_execute=True)
        goes_at = org.goes_at(now)
        table = cast(Table, CheckIn.__table__)
        chosen_q = (
            select(Tenant.id.label("tenant_id"),
                   _skip_reason_sql(org.local_date(slot)).label("reason"),
                   Tenant.phone, Tenant.language, Tenant.name)
            .where(*where, Tenant.id > after_id,
                   Tenant.created_at <= slot,  # never a slot from before registration
                   # `tenant_id > after_id` bounds the anti-join to this batch's key range:
                   # without it PostgreSQL merge-joins every check-in of the slot made so
                   # far, once per batch (quadratic in the number of tenants).
                   ~exists().where(CheckIn.tenant_id == Tenant.id, CheckIn.slot_at == slot,
                                   CheckIn.tenant_id > after_id))
            .order_by(Tenant.id).limit(batch_size))
        postgres = dialect == "postgresql"
        chosen = chosen_q.cte("chosen") if postgres else chosen_q.subquery()
        sending = CheckInStatus.SENT if goes_at <= now else CheckInStatus.SCHEDULED
        rows = select(
            chosen.c.tenant_id,
            literal(slot, table.c.slot_at.type),
            literal(now, table.c.created_at.type),
            case((chosen.c.reason.is_(None), literal(goes_at, table.c.sent_at.type)),
                 else_=null()),
            case((chosen.c.reason.is_(None), literal(str(sending), table.c.status.type)),
                 else_=literal(str(CheckInStatus.SKIPPED), table.c.status.type)),
        ).where(true())  # SQLite: an upsert's SELECT needs a WHERE to parse
        insert = postgresql.insert if postgres else sqlite.insert
        stmt = (insert(table)
                .from_select(["tenant_id", "slot_at", "created_at", "sent_at", "status"], rows)
                .on_conflict_do_nothing(index_elements=["tenant_id", "slot_at"])
                .returning(table.c.tenant_id, table.c.status))
        if not postgres:
            return cls(stmt, postgres)
        made = stmt.cte("made")
        return cls(select(made.c.tenant_id, made.c.status, chosen.c.phone, chosen.c.language,
                          chosen.c.name)
                   .join_from(made, chosen, chosen.c.tenant_id == made.c.tenant_id), postgres)

    def run(self, s: Session, *, after_id: int) -> list[Created]:
        """The check-ins this call created."""
        found = s.execute(self.statement, {"after_id": after_id}).all()
        if self.postgres:
            return [Created(*row) for row in found]
        # SQLite has no INSERT in a CTE: a second query for the prompts' values.
        people = {tid: (phone, language, name) for tid, phone, language, name in s.execute(
            select(Tenant.id, Tenant.phone, Tenant.language, Tenant.name)
            .where(Tenant.id.in_([tid for tid, _status in found])))}
        return [Created(tid, status, *people[tid]) for tid, status in found]


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
