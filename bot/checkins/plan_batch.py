"""One batch of the planner as one statement: the check-ins it creates and what their prompts
need (see `bot.checkins.planner`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BigInteger,
    Integer,
    Table,
    bindparam,
    case,
    exists,
    literal,
    null,
    select,
    true,
)
from sqlalchemy.orm import Session

from bot.checkins.rows import OrgRules
from bot.core.db import insert_for_dialect
from bot.models import CheckIn, CheckInStatus, Consent, PhoneStatus, Tenant

LAST_ID = 2**63 - 1  # `until_id` with no upper bound


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
class BatchStatement:
    """One slot's batch as one statement, built once and run per batch with `after_id`.

    Creates the check-ins for `slot` of the next `batch_size` tenants with an id in
    (`after_id`, `until_id`] that have none yet (INSERT .. SELECT .. ON CONFLICT DO NOTHING: a
    second planner that got there first wins, quietly). PostgreSQL does it in one round trip:
    the INSERT in a CTE, joined back to the chosen tenants for what the prompts need.
    """

    statement: Any
    postgres: bool
    size: int

    @classmethod
    def of(cls, dialect: str, org: OrgRules, slot: datetime, now: datetime, batch_size: int,
           where: tuple[Any, ...]) -> BatchStatement:
        # Rendered into the SQL text, so each batch gets a plan for its own key (a prepared
        # statement's generic plan, PostgreSQL's choice after five runs, can turn the bounded
        # anti-join into a nested loop over the whole key range: quadratic again).
        after_id = bindparam("after_id", type_=Integer(), literal_execute=True)
        until_id = bindparam("until_id", type_=BigInteger(), literal_execute=True)
        goes_at = org.goes_at(now)
        table = cast(Table, CheckIn.__table__)
        chosen_q = (
            select(Tenant.id.label("tenant_id"),
                   _skip_reason_sql(org.local_date(slot)).label("reason"),
                   Tenant.phone, Tenant.language, Tenant.name)
            .where(*where, Tenant.id > after_id, Tenant.id <= until_id,
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
        insert = insert_for_dialect("postgresql" if postgres else "sqlite")
        stmt = (insert(table)
                .from_select(["tenant_id", "slot_at", "created_at", "sent_at", "status"], rows)
                .on_conflict_do_nothing(index_elements=["tenant_id", "slot_at"])
                .returning(table.c.tenant_id, table.c.status))
        if not postgres:
            return cls(stmt, postgres, batch_size)
        made = stmt.cte("made")
        return cls(select(made.c.tenant_id, made.c.status, chosen.c.phone, chosen.c.language,
                          chosen.c.name)
                   .join_from(made, chosen, chosen.c.tenant_id == made.c.tenant_id), postgres,
                   batch_size)

    def run(self, s: Session, *, after_id: int, until_id: int = LAST_ID) -> list[Created]:
        """The check-ins this call created."""
        found = s.execute(self.statement, {"after_id": after_id, "until_id": until_id}).all()
        if self.postgres:
            return [Created(*row) for row in found]
        # SQLite has no INSERT in a CTE: a second query for the prompts' values.
        people = {tid: (phone, language, name) for tid, phone, language, name in s.execute(
            select(Tenant.id, Tenant.phone, Tenant.language, Tenant.name)
            .where(Tenant.id.in_([tid for tid, _status in found])))}
        return [Created(tid, status, *people[tid]) for tid, status in found]
