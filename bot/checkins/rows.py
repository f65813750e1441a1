"""Check-in rows: keys, per-organisation rules, skip reasons, and recording an answer."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    Table,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from bot.core.checkin_rules import CheckinPolicy
from bot.core.logs import get_logger
from bot.core.time_text import parse_weekdays
from bot.core.timing import defer_past_quiet_hours
from bot.models import (
    CheckIn,
    CheckInStatus,
    Consent,
    Organisation,
    PhoneStatus,
    Tenant,
)

log = get_logger(__name__)

OPEN = (CheckInStatus.SCHEDULED, CheckInStatus.SENT, CheckInStatus.REMINDED)
TENANT_KINDS = ("checkin", "reminder")
DEFAULT_BATCH = 500



# --------------------------------------------------------------------------- keys and rules


@functools.lru_cache(maxsize=256)  # the planner keys thousands of prompts by one slot
def slot_iso(slot: datetime) -> str:
    return slot.astimezone(UTC).isoformat()


def checkin_key(tenant_id: int, slot: datetime) -> str:
    """Outbox idempotency key of a check-in prompt: one per tenant per slot."""
    return f"checkin:{tenant_id}:{slot_iso(slot)}"


def reminder_key(tenant_id: int, slot: datetime) -> str:
    return f"reminder:{tenant_id}:{slot_iso(slot)}"


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


def all_org_rules(sessions: sessionmaker[Session]) -> list[OrgRules]:
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


def tenant_weekdays(tenant: Tenant) -> frozenset[int] | None:
    try:
        return parse_weekdays(tenant.checkin_weekdays)
    except ValueError as exc:  # bad data must not stop the planner for everyone else
        log.warning("checkins.bad_cadence", tenant_id=tenant.id, error=str(exc))
        return None


# --------------------------------------------------------------------------- answers


def newest_open_checkin_id(tenant_id: ColumnElement[int] | InstrumentedAttribute[int]
                           ) -> ScalarSelect[int]:
    """The id of a tenant's newest open check-in (a SCHEDULED one counts once its time, the
    bound ``now``, has come), as a subquery: for a statement that reads the tenant anyway."""
    checkin = aliased(CheckIn)
    return (select(checkin.id)
            .where(checkin.tenant_id == tenant_id,
                   or_(checkin.status.in_([CheckInStatus.SENT, CheckInStatus.REMINDED]),
                       (checkin.status == CheckInStatus.SCHEDULED)
                       & (checkin.sent_at <= bindparam("now"))))
            .order_by(checkin.slot_at.desc()).limit(1).scalar_subquery())


@functools.cache
def _open_checkin_sql() -> Select[CheckIn]:
    # Built once (every tenant SMS runs it); bound per call.
    return select(CheckIn).where(
        CheckIn.id == newest_open_checkin_id(bindparam("tenant_id", type_=Integer)))


def open_checkin(session: Session, tenant: Tenant, now: datetime) -> CheckIn | None:
    """The tenant's newest open check-in (a SCHEDULED one counts once its time has come)."""
    return session.scalar(_open_checkin_sql(), {"tenant_id": tenant.id, "now": now})


@dataclass(frozen=True)
class Looked:
    """The tenant's open check-in, already read (with the tenant, in one statement)."""

    checkin: CheckIn | None


def record_answer(session: Session, tenant: Tenant, answer: int | None,
                  now: datetime, looked: Looked | None = None) -> CheckIn | None:
    """Close the tenant's newest open check-in with ``answer`` (1, 2, 3) and reset the miss run.

    ``answer`` None: the tenant wrote words or asked for a call instead of a number. An answer
    after the reminder still counts. With no open check-in nothing changes (returns None): the
    missed ones stay missed, so a further miss still escalates as it should. ``looked``: the
    open check-in as read at ``now`` in this transaction, so it is not read again.
    """
    checkin = looked.checkin if looked is not None else open_checkin(session, tenant, now)
    if checkin is None:
        return None
    # Prebuilt statements, the objects kept in step: a flush of them was ~900 Python calls of
    # the most common message there is, an answer to a check-in.
    conn = session.connection()
    conn.execute(_ANSWERED, {"checkin_id": checkin.id, "at": now, "given": answer})
    for name, value in (("status", CheckInStatus.ANSWERED), ("answered_at", now),
                        ("answer", answer)):
        set_committed_value(checkin, name, value)
    if tenant.consecutive_misses:
        conn.execute(_MISSES_RESET, {"tenant_id": tenant.id})
        set_committed_value(tenant, "consecutive_misses", 0)
    return checkin


_CHECKINS = cast(Table, CheckIn.__table__)
_TENANTS = cast(Table, Tenant.__table__)
_ANSWERED = (update(_CHECKINS).where(_CHECKINS.c.id == bindparam("checkin_id"))
             .values(status=CheckInStatus.ANSWERED, answered_at=bindparam("at"),
                     answer=bindparam("given")))
_MISSES_RESET = (update(_TENANTS).where(_TENANTS.c.id == bindparam("tenant_id"))
                 .values(consecutive_misses=0))
