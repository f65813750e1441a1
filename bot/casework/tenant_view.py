"""A tenant's page beyond the timeline: the wellbeing trend, and changing their contact person.

The trend is one row per week for the last ``WEEKS`` weeks (local weeks, Monday first): the
check-in answers given (1 good, 2 so-so, 3 needs help), the check-ins missed and the alerts
raised. It is data only; the dashboard draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.access import Role, Viewer
from bot.casework.queries import NotAllowed, actor
from bot.core import audit
from bot.models import Alert, Caseworker, CheckIn, Organisation, Tenant, utcnow

WEEKS = 26


@dataclass
class Week:
    start: date  # the Monday
    answers: list[int] = field(default_factory=list)
    missed: int = 0
    alerts: int = 0

    @property
    def mean(self) -> float | None:
        """Average answer (1 good .. 3 needs help), None without answers."""
        return sum(self.answers) / len(self.answers) if self.answers else None


def wellbeing(session: Session, tenant: Tenant, *, now: datetime | None = None,
              weeks: int = WEEKS) -> list[Week]:
    """``weeks`` weeks, oldest first, ending with the current one."""
    now = now or utcnow()
    org = session.get(Organisation, tenant.organisation_id)
    tz = ZoneInfo(org.tz_name if org is not None else "Europe/Copenhagen")
    today = now.astimezone(tz).date()
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    rows = [Week(first + timedelta(weeks=i)) for i in range(weeks)]
    since = datetime.combine(first, datetime.min.time(), tz)

    def slot(at: datetime | None) -> Week | None:
        if at is None:
            return None
        i = (at.astimezone(tz).date() - first).days // 7
        return rows[i] if 0 <= i < weeks else None

    for answered_at, answer in session.execute(
            select(CheckIn.answered_at, CheckIn.answer)
            .where(CheckIn.tenant_id == tenant.id, CheckIn.answered_at >= since,
                   CheckIn.answer.is_not(None))):
        week = slot(answered_at)
        if week is not None and answer in (1, 2, 3):
            week.answers.append(int(answer))
    for (missed_at,) in session.execute(
            select(CheckIn.missed_at).where(CheckIn.tenant_id == tenant.id,
                                            CheckIn.missed_at >= since)):
        week = slot(missed_at)
        if week is not None:
            week.missed += 1
    for (created_at,) in session.execute(
            select(Alert.created_at).where(Alert.tenant_id == tenant.id,
                                           Alert.created_at >= since)):
        week = slot(created_at)
        if week is not None:
            week.alerts += 1
    return rows


def contact_candidates(session: Session, viewer: Viewer) -> list[Caseworker]:
    """Who a team lead (or admin) may make a tenant's contact person; nobody for others."""
    if viewer.role not in (Role.TEAM_LEAD, Role.ADMIN) or not viewer.active:
        return []
    q = select(Caseworker).where(Caseworker.active.is_(True))
    if viewer.role == Role.TEAM_LEAD:
        q = q.where(Caseworker.team_id == viewer.team_id)
    cws = [c for c in session.scalars(q.order_by(Caseworker.name))
           if c.team.organisation_id == viewer.organisation_id]
    return cws


def change_contact_person(session: Session, viewer: Viewer, tenant: Tenant,
                          new: Caseworker) -> bool:
    """Make ``new`` the tenant's contact person (team lead of the team, or admin); False when
    nothing changed. Open alerts stay with their owner: handing them over is a separate act."""
    if new not in contact_candidates(session, viewer):
        raise NotAllowed("cannot make that caseworker the contact person")
    if tenant.caseworker_id == new.id:
        return False
    before = tenant.caseworker_id
    tenant.caseworker_id = new.id
    tenant.caseworker = new
    audit.record(session, actor(viewer), "change_caseworker", "tenant", tenant.id,
                 before=before, after=new.id)
    return True
