"""The report's figures, counted in the database: one grouped query per subject.

Every query is scoped to one municipality (and optionally one of its teams) and grouped by
(team, month), so the municipality's figure is the sum of its teams' (each tenant, alert and
check-in belongs to one team key, "no team" included). Figures that are not sums (distinct
tenants over the whole period, medians) get their own query or are computed from the grouped
durations. Only numbers leave this module: no name, phone or text is ever selected.

Definitions (docs/report.md says the same for readers):
- a tenant's team is their caseworker's team; an alert's is `Alert.team_id` (its municipality
  `Alert.organisation_id`); a concern's the team
  of the alert it raised; an undelivered message's the team of the tenant or caseworker it was for;
- months are the municipality's local calendar months; a check-in counts in its slot's month, an
  alert or concern in the month it was raised, a dead letter in the month it was written.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from bot.landlords.texts import CATEGORY_LABELS
from bot.models import (
    Alert,
    Caseworker,
    CheckIn,
    CheckInStatus,
    Concern,
    Organisation,
    OutboxItem,
    OutboxStatus,
    Team,
    Tenant,
    utcnow,
)
from bot.reports.model import METRICS, STEP_BUCKETS, TOTAL, Cell, Kind, Report, ScopeFigures
from bot.reports.period import Period

SENT = (CheckInStatus.SENT, CheckInStatus.REMINDED, CheckInStatus.ANSWERED, CheckInStatus.MISSED)
NO_TEAM = -1  # the team key of rows without a team

Counts = dict[int, dict[str, dict[str, float]]]  # team key -> column -> metric -> value
Durations = dict[int, dict[str, dict[str, list[float]]]]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list: always a value that occurred."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def build_report(session: Session, period: Period, organisation_id: int,
                 team_id: int | None = None, *, shareable: bool = False,
                 now: datetime | None = None) -> Report:
    """The report for one municipality, or one of its teams when `team_id` is given."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise LookupError(f"no organisation {organisation_id}")
    q = _Queries(session, period, organisation_id, team_id)
    counts: Counts = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
    durations: Durations = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    q.tenants(counts)
    q.checkins(counts)
    q.alerts(counts, durations)
    q.concerns(counts, durations)
    q.undelivered(counts)

    teams = session.execute(select(Team.id, Team.name).where(
        Team.organisation_id == organisation_id, *([Team.id == team_id] if team_id else []))
        .order_by(Team.name)).all()
    keys = [t.id for t in teams]
    if team_id is None and NO_TEAM in set(counts) | set(durations):
        keys.append(NO_TEAM)
    names = {t.id: t.name for t in teams} | {NO_TEAM: "-"}
    columns = [*(m.label for m in period.months), TOTAL]
    scopes = [] if team_id is not None else [
        _scope(org.name, "municipality", keys, counts, durations, columns)]
    scopes += [_scope(names[k], "team", [k], counts, durations, columns) for k in keys]
    return Report(org.name, period.first, period.last, [m.label for m in period.months],
                  scopes, now or utcnow(), shareable, org.tz_name)


def _scope(name: str, kind: str, keys: Iterable[int], counts: Counts, durations: Durations,
           columns: list[str]) -> ScopeFigures:
    keys = list(keys)
    scope = ScopeFigures(name, kind)
    for column in columns:
        cells: dict[str, Cell] = {}
        for metric in METRICS:
            if metric.kind == Kind.COUNT:
                total = sum(counts[k][column].get(metric.key, 0) for k in keys)
                cells[metric.key] = Cell(int(total), int(total))
        sent = cells["checkins.sent"].base
        answered = cells["checkins.answered"].base
        cells["checkins.response_rate"] = Cell(answered / sent if sent else None, sent)
        for prefix in ("alerts.ack", "alerts.resolve", "concerns.resolve"):
            values = [v for k in keys for v in durations[k][column].get(prefix, [])]
            if values:
                cells[f"{prefix}_median"] = Cell(statistics.median(values), len(values))
                cells[f"{prefix}_p90"] = Cell(percentile(values, 0.9), len(values))
            else:
                cells[f"{prefix}_median"] = cells[f"{prefix}_p90"] = Cell(None, 0)
        scope.columns[column] = cells
    return scope


class _Queries:
    def __init__(self, session: Session, period: Period, organisation_id: int,
                 team_id: int | None) -> None:
        self.s = session
        self.period = period
        self.org = organisation_id
        self.team = team_id
        self.labels = [m.label for m in period.months]

    # ----------------------------------------------------------------- helpers

    def _month(self, column: Any) -> ColumnElement[Any]:
        """The month index of a timestamp inside the period (None outside it)."""
        return case(*((column < m.end, i) for i, m in enumerate(self.period.months)),
                    else_=None)

    def _in_period(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.period.start, column < self.period.end)

    def _scoped(self, team_key: Any) -> list[ColumnElement[bool]]:
        return [team_key == self.team] if self.team is not None else []

    def _add(self, counts: Counts, rows: Iterable[Any], metric_of: Any) -> None:
        """Rows of (team, month index or None for the total, key, count) into `counts`."""
        for team, month, key, n in rows:
            column = TOTAL if month is None else self.labels[month]
            counts[NO_TEAM if team is None else team][column][metric_of(key)] += n

    def _grouped(self, counts: Counts, team_key: Any, when: Any, key: Any,
                 base: Select[Any], metric_of: Any, *, distinct: Any = None,
                 total_by_sum: bool = True) -> None:
        """Count per (team, month, key); `key` is an expression or a fixed string. The total
        column is the months' sum, or (distinct counts) its own count over the whole period.

        The expressions are computed in a subquery and grouped by its plain columns: PostgreSQL
        would not match a CASE in GROUP BY with the same CASE in SELECT (separate parameters).
        """
        fixed = key if isinstance(key, str) else None
        cols = [team_key.label("team"), self._month(when).label("month"),
                (literal_column("''") if fixed is not None else key).label("key")]
        if distinct is not None:
            cols.append(distinct.label("member"))
        inner = base.add_columns(*cols).where(self._in_period(when),
                                              *self._scoped(team_key)).subquery()
        count = func.count(inner.c.member.distinct()) if distinct is not None else func.count()
        by_month = [inner.c.team, inner.c.month, inner.c.key]
        rows = [tuple(r) for r in self.s.execute(select(*by_month, count).group_by(*by_month))]
        name = (lambda k: metric_of(fixed)) if fixed is not None else metric_of
        self._add(counts, rows, name)
        if total_by_sum:
            self._add(counts, ((r[0], None, r[2], r[3]) for r in rows), name)
        else:
            by_all = [inner.c.team, inner.c.key]
            self._add(counts, ((r[0], None, r[1], r[2]) for r in self.s.execute(
                select(*by_all, count).group_by(*by_all))), name)

    # ----------------------------------------------------------------- subjects

    def tenants(self, counts: Counts) -> None:
        team = Caseworker.team_id
        base = (select().select_from(Tenant)
                .outerjoin(Caseworker, Tenant.caseworker_id == Caseworker.id)
                .where(Tenant.organisation_id == self.org))
        # Snapshots at each month's end (the total: at the period's end).
        ends = [(m.label, m.end) for m in self.period.months]
        ends.append((TOTAL, self.period.end))
        snapshot_cols = []
        for _label, end in ends:
            present = and_(Tenant.created_at < end,
                           or_(Tenant.erased_at.is_(None), Tenant.erased_at >= end))
            snapshot_cols.append(func.sum(case((present, 1), else_=0)))
            snapshot_cols.append(func.sum(case((and_(present, Tenant.opted_out_at < end), 1),
                                               else_=0)))
        for row in self.s.execute(base.add_columns(team, *snapshot_cols)
                                  .where(*self._scoped(team)).group_by(team)):
            key = NO_TEAM if row[0] is None else row[0]
            for i, (label, _end) in enumerate(ends):
                counts[key][label]["tenants.enrolled"] += row[1 + 2 * i] or 0
                counts[key][label]["tenants.opted_out"] += row[2 + 2 * i] or 0
        self._grouped(counts, team, Tenant.erased_at, "moved_out", base,
                      lambda k: f"tenants.{k}")
        checkin_base = base.join(CheckIn, CheckIn.tenant_id == Tenant.id)
        self._grouped(counts, team, CheckIn.slot_at, "active",
                      checkin_base.where(CheckIn.status.in_(SENT)), lambda k: f"tenants.{k}",
                      distinct=Tenant.id, total_by_sum=False)
        self._grouped(counts, team, CheckIn.slot_at, "paused",
                      checkin_base.where(CheckIn.status == CheckInStatus.SKIPPED,
                                         Tenant.opted_out_at.is_(None)),
                      lambda k: f"tenants.{k}", distinct=Tenant.id, total_by_sum=False)

    def checkins(self, counts: Counts) -> None:
        team = Caseworker.team_id
        base = (select().select_from(CheckIn).join(Tenant, CheckIn.tenant_id == Tenant.id)
                .outerjoin(Caseworker, Tenant.caseworker_id == Caseworker.id)
                .where(Tenant.organisation_id == self.org, CheckIn.status.in_(SENT)))
        key = case((CheckIn.status == CheckInStatus.MISSED, "missed"),
                   (CheckIn.status == CheckInStatus.ANSWERED, "answered"), else_="open")
        self._grouped(counts, team, CheckIn.slot_at, key, base, lambda k: f"checkins.{k}")
        self._grouped(counts, team, CheckIn.slot_at, CheckIn.answer,
                      base.where(CheckIn.answer.in_((1, 2, 3))),
                      lambda k: f"checkins.answer_{k}")
        # Every prompt that went out: answered, missed and those still open.
        for per_team in counts.values():
            for cells in per_team.values():
                cells["checkins.sent"] = (cells.get("checkins.answered", 0)
                                          + cells.get("checkins.missed", 0)
                                          + cells.pop("checkins.open", 0))

    def _alert_base(self) -> tuple[Select[Any], Any]:
        # Every alert stores its municipality (bot.casework.access: nothing crosses one).
        base = select().select_from(Alert).where(Alert.organisation_id == self.org)
        return base, Alert.team_id

    def alerts(self, counts: Counts, durations: Durations) -> None:
        base, team = self._alert_base()
        self._grouped(counts, team, Alert.created_at, Alert.source, base,
                      lambda k: f"alerts.source.{k}")
        self._grouped(counts, team, Alert.created_at, Alert.severity, base,
                      lambda k: f"alerts.severity.{k}")
        self._grouped(counts, team, Alert.created_at, "total", base,
                      lambda k: f"alerts.{k}")
        step = case(*((Alert.steps_done == int(b), b) for b in STEP_BUCKETS[:-1]),
                    else_=STEP_BUCKETS[-1])
        self._grouped(counts, team, Alert.created_at, step, base, lambda k: f"alerts.step.{k}")
        self._durations(durations, base, team, Alert.created_at,
                        {"alerts.ack": Alert.acknowledged_at, "alerts.resolve": Alert.resolved_at})

    def concerns(self, counts: Counts, durations: Durations) -> None:
        alert_base, team = self._alert_base()
        base = alert_base.join(Concern, Alert.concern_id == Concern.id)
        known = list(CATEGORY_LABELS)
        category = case((Concern.category.in_(known), Concern.category), else_="other")
        self._grouped(counts, team, Concern.created_at, category, base,
                      lambda k: f"concerns.category.{k}")
        self._grouped(counts, team, Concern.created_at, Concern.urgency, base,
                      lambda k: f"concerns.urgency.{k}")
        self._grouped(counts, team, Concern.created_at, "total", base,
                      lambda k: f"concerns.{k}")
        self._durations(durations, base, team, Concern.created_at,
                        {"concerns.resolve": Alert.resolved_at})

    def _durations(self, durations: Durations, base: Select[Any], team: Any, start: Any,
                   ends: dict[str, Any]) -> None:
        """Minutes from `start` to each end, per (team, month): two timestamps a row."""
        month = self._month(start)
        stmt = base.add_columns(team, month, start, *ends.values()).where(
            self._in_period(start), *self._scoped(team))
        for row in self.s.execute(stmt):
            key = NO_TEAM if row[0] is None else row[0]
            for name, end in zip(ends, row[3:], strict=True):
                if end is not None:
                    minutes = (end - row[2]).total_seconds() / 60
                    durations[key][self.labels[row[1]]][name].append(minutes)
                    durations[key][TOTAL][name].append(minutes)

    def undelivered(self, counts: Counts) -> None:
        tenant_cw = aliased(Caseworker)
        staff = aliased(Caseworker)
        staff_team = aliased(Team)
        team = func.coalesce(tenant_cw.team_id, staff.team_id)
        base = (select().select_from(OutboxItem)
                .outerjoin(Tenant, OutboxItem.tenant_id == Tenant.id)
                .outerjoin(tenant_cw, Tenant.caseworker_id == tenant_cw.id)
                .outerjoin(staff, OutboxItem.caseworker_id == staff.id)
                .outerjoin(staff_team, staff.team_id == staff_team.id)
                .where(OutboxItem.status == OutboxStatus.DEAD,
                       func.coalesce(Tenant.organisation_id, staff_team.organisation_id)
                       == self.org))
        self._grouped(counts, team, OutboxItem.created_at, "undelivered", base,
                      lambda k: f"delivery.{k}")
