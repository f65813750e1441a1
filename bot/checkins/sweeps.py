"""The sweeps over open check-ins: promote scheduled prompts, remind once, mark missed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, exists, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from bot.alerts.lifecycle import raise_alert
from bot.alerts.staff_texts import missed_summary
from bot.checkins.rows import (
    DEFAULT_BATCH,
    OrgRules,
    all_org_rules,
    checkin_key,
    reminder_key,
    skip_reason,
)
from bot.checkins.texts import checkin_reminder
from bot.core import outbox
from bot.core.checkin_rules import DEFAULT_MISS_THRESHOLDS, checkin_action, miss_severity
from bot.core.db import affected_rows
from bot.core.logs import get_logger
from bot.models import (
    CheckIn,
    CheckInStatus,
    OutboxItem,
    OutboxStatus,
    Tenant,
    utcnow,
)
from bot.models.enums import Channel, OutboxKind, Source

log = get_logger(__name__)

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
                batch_size: int) -> Select[CheckIn, Tenant]:
    # SKIP LOCKED: another worker's batch is left to it (rendered only on PostgreSQL).
    return (select(CheckIn, Tenant).join(Tenant, CheckIn.tenant_id == Tenant.id)
            .where(Tenant.organisation_id == org.id, CheckIn.status.in_(list(statuses)),
                   CheckIn.sent_at <= sent_before, CheckIn.id > last_id)
            .order_by(CheckIn.id).limit(batch_size)
            .with_for_update(skip_locked=True, of=CheckIn))


def _prompt_states(s: Session, rows: Sequence[Row[CheckIn, Tenant]]) -> dict[str, str]:
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
        return affected_rows(s.execute(
            update(CheckIn).where(CheckIn.status == CheckInStatus.SCHEDULED,
                                  CheckIn.sent_at <= now)
            .values(status=CheckInStatus.SENT)
            .execution_options(synchronize_session=False)))


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
    for org in all_org_rules(sessions):
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
    outbox.enqueue(s, channel=Channel.SMS, recipient=tenant.phone,
                   body=checkin_reminder(tenant.language, tenant.name),
                   key=reminder_key(tenant.id, c.slot_at), kind=OutboxKind.REMINDER,
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
    for org in all_org_rules(sessions):
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
