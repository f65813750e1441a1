"""A generated programme year (fixed seed) for the report's tests and bench.

Two municipalities (the second must never show in the first's report), three teams and a
team-less corner in the first, tenants joining, pausing, opting out and leaving, weekly check-ins
with every outcome, alerts of every source and severity at every escalation step, landlord
concerns, and dead letters. Rows go in with bulk inserts and explicit ids, so 10,000 tenants
(half a million check-ins) load in reasonable time for the bench.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.models import (
    Alert,
    Caseworker,
    CheckIn,
    CheckInStatus,
    Concern,
    Home,
    Landlord,
    Organisation,
    OutboxItem,
    OutboxStatus,
    Team,
    Tenant,
)
from bot.models.enums import Severity, Source

CATEGORIES = ("noise", "arrears", "damage", "wellbeing", "no_sign_of_life", "other", "leak")
URGENCIES = ("can_wait", "this_week", "urgent_today")


@dataclass(frozen=True)
class Generated:
    org_id: int
    other_org_id: int
    team_ids: list[int]
    first: date
    last: date


def _at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))


def generate_year(session: Session, *, tenants: int = 60, seed: int = 2026,
                  first: date = date(2025, 1, 1), chunk: int = 20000) -> Generated:
    rng = random.Random(seed)
    last = date(first.year, 12, 31)
    # Data from a month before to a month after the period: edges must be cut exactly.
    lo = datetime.combine(first, time(0), UTC) - timedelta(days=31)
    hi = datetime.combine(last, time(0), UTC) + timedelta(days=31)
    orgs = [Organisation(name="Odense Kommune"), Organisation(name="Vejle Kommune")]
    session.add_all(orgs)
    session.flush()
    teams = [Team(organisation=orgs[0], name=n) for n in ("Øst", "Vest", "Nord")]
    teams.append(Team(organisation=orgs[1], name="Vejle Team"))
    session.add_all(teams)
    session.flush()
    workers = [Caseworker(team=t, email=f"cw{i}-{t.id}@x.example", name=f"CW {i}")
               for t in teams for i in range(3)]
    landlord = Landlord(email="udlejer@x.example", name="Udlejer")
    session.add_all([*workers, landlord])
    session.flush()
    homes = [dict(id=i + 1, reference=f"H-{i}", address=f"Vej {i}", postcode="5000",
                  city="Odense", landlord_id=landlord.id, organisation_id=orgs[0].id)
             for i in range(max(1, tenants // 4))]
    _bulk(session, Home, homes, chunk)

    tenant_rows: list[dict[str, Any]] = []
    checkins: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    concerns: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    for tid in range(1, tenants + 1):
        org = orgs[0] if rng.random() < 0.8 else orgs[1]
        choices = [w for w in workers if w.team.organisation_id == org.id]
        cw = None if rng.random() < 0.06 else rng.choice(choices)
        created = _at(rng, lo - timedelta(days=200), hi - timedelta(days=60))
        erased = _at(rng, created, hi) if rng.random() < 0.08 else None
        opted = _at(rng, created, hi) if rng.random() < 0.1 else None
        tenant_rows.append(dict(id=tid, organisation_id=org.id, name=f"Navn{tid}",
                                phone=f"+4520{tid:06d}", caseworker_id=cw.id if cw else None,
                                home_id=rng.choice(homes)["id"], created_at=created,
                                erased_at=erased, opted_out_at=opted,
                                active=erased is None))
        slot = created + timedelta(days=rng.randrange(7))
        stop = min(erased or hi, hi)
        while slot < stop:
            roll = rng.random()
            status = (CheckInStatus.ANSWERED if roll < 0.68 else CheckInStatus.MISSED
                      if roll < 0.83 else CheckInStatus.SKIPPED if roll < 0.93
                      else CheckInStatus.REMINDED if roll < 0.96 else CheckInStatus.SENT
                      if roll < 0.98 else CheckInStatus.SCHEDULED)
            answered = status == CheckInStatus.ANSWERED
            checkins.append(dict(
                tenant_id=tid, slot_at=slot, status=status, created_at=slot,
                sent_at=None if status in (CheckInStatus.SKIPPED, CheckInStatus.SCHEDULED)
                else slot,
                answered_at=slot + timedelta(hours=rng.randrange(1, 40)) if answered else None,
                answer=rng.choice((1, 1, 2, 3, None)) if answered else None))
            slot += timedelta(days=7)
        for _ in range(rng.randrange(0, 7)):
            alerts.append(_alert(rng, len(alerts) + 1, tid, cw, lo, hi, concerns, landlord.id,
                                 org.id))
        for n in range(rng.randrange(0, 3)):
            staff = rng.random() < 0.3 and cw is not None
            outbox.append(dict(
                idempotency_key=f"gen:{tid}:{n}", channel="sms", recipient="+45",
                status=rng.choice((OutboxStatus.DEAD, OutboxStatus.DEAD, OutboxStatus.SENT,
                                   OutboxStatus.PENDING)),
                tenant_id=None if staff else tid, caseworker_id=cw.id if staff and cw else None,
                landlord_id=None,
                created_at=_at(rng, lo, hi), next_attempt_at=lo, attempts=1, payload={},
                kind="reply", body=""))
    # Staff-only alerts (no tenant) and a dead letter to a landlord (belongs to no municipality).
    for team in teams:
        alerts.append(_alert(rng, len(alerts) + 1, None, workers[teams.index(team) * 3], lo, hi,
                             concerns, landlord.id, team.organisation_id))
    # An alert of the first municipality that belongs to no team (its intake route).
    alerts.append(_alert(rng, len(alerts) + 1, None, None, lo, hi, concerns, landlord.id,
                         orgs[0].id))
    outbox.append(dict(idempotency_key="gen:landlord", channel="telegram", recipient="1",
                       status=OutboxStatus.DEAD, landlord_id=landlord.id, tenant_id=None,
                       caseworker_id=None,
                       created_at=_at(rng, lo, hi), next_attempt_at=lo, payload={}, kind="reply",
                       body="", attempts=1))
    _bulk(session, Tenant, tenant_rows, chunk)
    _bulk(session, Concern, concerns, chunk)
    _bulk(session, Alert, alerts, chunk)
    _bulk(session, CheckIn, checkins, chunk)
    _bulk(session, OutboxItem, outbox, chunk)
    session.commit()
    return Generated(orgs[0].id, orgs[1].id, [t.id for t in teams[:3]], first, last)


def _alert(rng: random.Random, aid: int, tid: int | None, cw: Caseworker | None,
           lo: datetime, hi: datetime, concerns: list[dict[str, Any]],
           landlord_id: int, organisation_id: int) -> dict[str, Any]:
    created = _at(rng, lo, hi)
    source = rng.choice(list(Source)) if tid is not None else Source.DELIVERY_FAILED
    acked = created + timedelta(minutes=rng.randrange(1, 600)) if rng.random() < 0.75 else None
    resolved = (acked or created) + timedelta(minutes=rng.randrange(5, 5000)) \
        if rng.random() < 0.6 else None
    concern_id = None
    if source == Source.CONCERN:
        concern_id = len(concerns) + 1
        concerns.append(dict(id=concern_id, reference=f"C-{concern_id}", landlord_id=landlord_id,
                             home_id=1, category=rng.choice(CATEGORIES),
                             urgency=rng.choice(URGENCIES), created_at=created,
                             status="resolved" if resolved else "received"))
    return dict(id=aid, source=source, severity=rng.choice(list(Severity)),
                state="resolved" if resolved else "acknowledged" if acked else "open",
                tenant_id=tid, team_id=cw.team_id if cw else None, concern_id=concern_id,
                organisation_id=organisation_id,
                steps_done=rng.randrange(0, 6), created_at=created, acknowledged_at=acked,
                resolved_at=resolved)


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]], chunk: int) -> None:
    for i in range(0, len(rows), chunk):
        session.execute(model.__table__.insert(), rows[i:i + chunk])
