"""The programme report on a generated year (fixed seed), both databases: every figure equals a
direct count made here in Python from the rows, with the definitions of docs/report.md."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Alert, Caseworker, CheckIn, Concern, OutboxItem, Team, Tenant
from bot.reports import render
from bot.reports.figures import build_report
from bot.reports.model import METRICS, TOTAL, Kind, Report
from bot.reports.period import make_period
from tests.support.report_data import Generated, generate_year

CPH = ZoneInfo("Europe/Copenhagen")
SENT = {"sent", "reminded", "answered", "missed"}
KNOWN_CATEGORIES = {"noise", "arrears", "damage", "wellbeing", "no_sign_of_life", "other"}


@pytest.fixture
def year(sessions: sessionmaker[Session]) -> Generated:
    with sessions() as s:
        return generate_year(s, tenants=70, seed=2026)


def _month(ts: datetime | None, gen: Generated) -> str | None:
    if ts is None:
        return None
    local = ts.astimezone(CPH).date()
    return f"{local:%Y-%m}" if gen.first <= local <= gen.last else None


def _ends(gen: Generated) -> dict[str, datetime]:
    ends = {}
    for m in range(1, 13):
        nxt = date(gen.first.year + (m == 12), m % 12 + 1, 1)
        ends[f"{gen.first.year}-{m:02d}"] = datetime.combine(nxt, time(0), CPH).astimezone(UTC)
    ends[TOTAL] = ends[f"{gen.first.year}-12"]
    return ends


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def expected(session: Session, gen: Generated, team_of: Callable[[Any], bool]
             ) -> dict[str, dict[str, float | None]]:
    """column -> metric -> value, counted row by row. `team_of(team_id)` selects the scope."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    teams = {t.id: t.organisation_id for t in session.scalars(select(Team))}
    cw_team = {c.id: c.team_id for c in session.scalars(select(Caseworker))}
    tenants = {t.id: t for t in session.scalars(select(Tenant))}

    def tenant_team(t: Tenant) -> int | None:
        return cw_team.get(t.caseworker_id) if t.caseworker_id else None

    mine = {t.id: t for t in tenants.values()
            if t.organisation_id == gen.org_id and team_of(tenant_team(t))}
    for column, end in _ends(gen).items():
        for t in mine.values():
            present = t.created_at < end and (t.erased_at is None or t.erased_at >= end)
            out[column]["tenants.enrolled"] += present
            out[column]["tenants.opted_out"] += present and t.opted_out_at is not None \
                and t.opted_out_at < end
    for t in mine.values():
        if (m := _month(t.erased_at, gen)) is not None:
            out[m]["tenants.moved_out"] += 1
            out[TOTAL]["tenants.moved_out"] += 1
    active: dict[str, set[int]] = defaultdict(set)
    paused: dict[str, set[int]] = defaultdict(set)
    for c in session.scalars(select(CheckIn)):
        m = _month(c.slot_at, gen)
        if m is None or c.tenant_id not in mine:
            continue
        for col in (m, TOTAL):
            if c.status in SENT:
                active[col].add(c.tenant_id)
                out[col]["checkins.sent"] += 1
                out[col]["checkins.answered"] += c.status == "answered"
                out[col]["checkins.missed"] += c.status == "missed"
                if c.answer:
                    out[col][f"checkins.answer_{c.answer}"] += 1
            if c.status == "skipped" and mine[c.tenant_id].opted_out_at is None:
                paused[col].add(c.tenant_id)
    durations: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    concerns = {c.id: c for c in session.scalars(select(Concern))}
    for a in session.scalars(select(Alert)):
        if a.organisation_id != gen.org_id or not team_of(a.team_id):
            continue
        if (m := _month(a.created_at, gen)) is not None:
            for col in (m, TOTAL):
                out[col]["alerts.total"] += 1
                out[col][f"alerts.source.{a.source}"] += 1
                out[col][f"alerts.severity.{a.severity}"] += 1
                out[col][f"alerts.step.{min(a.steps_done, 3)}{'+' * (a.steps_done >= 3)}"] += 1
                if a.acknowledged_at:
                    durations[col]["alerts.ack"].append(
                        (a.acknowledged_at - a.created_at).total_seconds() / 60)
                if a.resolved_at:
                    durations[col]["alerts.resolve"].append(
                        (a.resolved_at - a.created_at).total_seconds() / 60)
        concern = concerns.get(a.concern_id) if a.concern_id else None
        if concern is not None and (m := _month(concern.created_at, gen)) is not None:
            category = concern.category if concern.category in KNOWN_CATEGORIES else "other"
            for col in (m, TOTAL):
                out[col]["concerns.total"] += 1
                out[col][f"concerns.category.{category}"] += 1
                out[col][f"concerns.urgency.{concern.urgency}"] += 1
                if a.resolved_at:
                    durations[col]["concerns.resolve"].append(
                        (a.resolved_at - concern.created_at).total_seconds() / 60)
    for o in session.scalars(select(OutboxItem).where(OutboxItem.status == "dead")):
        if o.tenant_id:
            t = tenants[o.tenant_id]
            org, team = t.organisation_id, tenant_team(t)
        elif o.caseworker_id:
            team = cw_team[o.caseworker_id]
            org = teams[team]
        else:
            continue
        if org == gen.org_id and team_of(team) and (m := _month(o.created_at, gen)):
            out[m]["delivery.undelivered"] += 1
            out[TOTAL]["delivery.undelivered"] += 1
    for col in out:
        out[col]["tenants.active"] = len(active[col])
        out[col]["tenants.paused"] = len(paused[col])
        sent = out[col]["checkins.sent"]
        out[col]["checkins.response_rate"] = out[col]["checkins.answered"] / sent if sent else None
        for prefix in ("alerts.ack", "alerts.resolve", "concerns.resolve"):
            values = durations[col][prefix]
            out[col][f"{prefix}_median"] = statistics.median(values) if values else None
            out[col][f"{prefix}_p90"] = _p90(values) if values else None
    return out


def _assert_equal(report_scope: Any, want: dict[str, dict[str, Any]], columns: list[str]) -> int:
    checked = 0
    for column in columns:
        for metric in METRICS:
            got = report_scope.cell(column, metric.key).value
            exp = want[column].get(metric.key, 0 if metric.kind == Kind.COUNT else None)
            if exp is None or got is None:
                assert got == exp, (column, metric.key, got, exp)
            else:
                assert got == pytest.approx(exp), (column, metric.key, got, exp)
            checked += 1
    return checked


def _report(session: Session, gen: Generated, team_id: int | None = None,
            shareable: bool = False) -> Report:
    return build_report(session, make_period(gen.first, gen.last), gen.org_id, team_id,
                        shareable=shareable)


def test_every_figure_equals_a_direct_count(session: Session, year: Generated) -> None:
    report = _report(session, year)
    assert [s.kind for s in report.scopes][:1] == ["municipality"]
    municipality = report.scopes[0]
    want = expected(session, year, lambda team: True)
    # The data is rich enough that the comparison means something.
    assert want[TOTAL]["checkins.sent"] > 1000 and want[TOTAL]["alerts.total"] > 50
    assert want[TOTAL]["concerns.total"] > 5 and want[TOTAL]["delivery.undelivered"] > 5
    assert want[TOTAL]["tenants.moved_out"] > 0 and want[TOTAL]["tenants.paused"] > 0
    checked = _assert_equal(municipality, want, report.columns)
    by_name = {s.name: s for s in report.scopes if s.kind == "team"}
    team_rows = {t.id: t.name for t in session.scalars(select(Team))}
    for team_id in year.team_ids:
        scope = by_name[team_rows[team_id]]
        checked += _assert_equal(scope, expected(session, year, lambda t, i=team_id: t == i),
                                 report.columns)
    # Rows without a team are in the municipality's figures and in their own "-" scope.
    checked += _assert_equal(by_name["-"], expected(session, year, lambda t: t is None),
                             report.columns)
    assert "Vejle Team" not in by_name  # the other municipality's team never shows
    assert checked == len(METRICS) * 13 * 5


def test_a_teams_report_is_that_teams_figures_only(session: Session, year: Generated) -> None:
    team_id = year.team_ids[1]
    report = _report(session, year, team_id)
    assert [s.kind for s in report.scopes] == ["team"]
    _assert_equal(report.scopes[0], expected(session, year, lambda t: t == team_id),
                  report.columns)


def test_shareable_copies_hide_counts_below_five(session: Session, year: Generated) -> None:
    report = _report(session, year, shareable=True)
    shown = json.loads(render.to_json(report))
    seen_small = seen_zero = 0
    for scope, data in zip(report.scopes, shown["scopes"], strict=True):
        for column in report.columns:
            for metric in METRICS:
                cell = scope.cell(column, metric.key)
                value = data["figures"][column][metric.key]
                if 0 < cell.base < 5:
                    assert value == "<5", (scope.name, column, metric.key)
                    seen_small += 1
                elif metric.kind == Kind.COUNT:
                    assert value == cell.value
                    seen_zero += cell.base == 0
    assert seen_small > 20 and seen_zero > 0
    # The unshared copy shows them.
    plain = json.loads(render.to_json(_report(session, year)))
    assert "<5" not in json.dumps(plain)


def test_exports_hold_no_names_phones_or_words(session: Session, year: Generated) -> None:
    report = _report(session, year)
    for text in (render.to_csv(report), render.to_json(report), render.to_html(report, "en")):
        assert "Navn" not in text and "+4520" not in text and "CW " not in text


def test_csv_opens_in_danish_excel(session: Session, year: Generated) -> None:
    report = _report(session, year)
    text = render.to_csv(report, "da")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0][-1] == "I alt" and rows[0][3] == "2025-01"
    assert all(len(r) == len(rows[0]) for r in rows)
    by_key = {(r[0], r[2]): r for r in rows[1:]}
    municipality = report.scopes[0]
    sent = by_key[("Odense Kommune", "checkins.sent")]
    assert sent[-1] == str(municipality.cell(TOTAL, "checkins.sent").value)
    rate = by_key[("Odense Kommune", "checkins.response_rate")][-1]
    assert "," in rate and "." not in rate  # Danish decimal comma, a percentage
    value = municipality.cell(TOTAL, "checkins.response_rate").value
    assert value is not None
    assert float(rate.replace(",", ".")) == pytest.approx(value * 100, abs=0.05)


def test_months_follow_local_time(session: Session, year: Generated) -> None:
    """A check-in at 23:30 UTC on 31 January is 1 February in Copenhagen."""
    tenant = session.scalar(select(Tenant).where(Tenant.organisation_id == year.org_id,
                                                 Tenant.caseworker_id.is_not(None)))
    assert tenant is not None
    before = _report(session, year).scopes[0]
    slot = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)
    session.add(CheckIn(tenant_id=tenant.id, slot_at=slot, sent_at=slot, status="missed"))
    session.commit()
    after = _report(session, year).scopes[0]
    assert after.cell("2025-02", "checkins.missed").value == \
        before.cell("2025-02", "checkins.missed").value + 1  # type: ignore[operator]
    assert after.cell("2025-01", "checkins.missed").value == \
        before.cell("2025-01", "checkins.missed").value


def test_period_edges(session: Session, year: Generated) -> None:
    """A period cut mid-month counts only its own days."""
    period = make_period(date(2025, 3, 10), date(2025, 4, 20))
    report = build_report(session, period, year.org_id)
    assert report.months == ["2025-03", "2025-04"]
    lo = datetime.combine(date(2025, 3, 10), time(0), CPH)
    hi = datetime.combine(date(2025, 4, 21), time(0), CPH)
    team_of = {c.id: c.team_id for c in session.scalars(select(Caseworker))}
    org_tenants = {t.id for t in session.scalars(select(Tenant).where(
        Tenant.organisation_id == year.org_id))}
    direct = sum(1 for c in session.scalars(select(CheckIn))
                 if c.tenant_id in org_tenants and lo <= c.slot_at < hi and c.status in SENT)
    assert report.scopes[0].cell(TOTAL, "checkins.sent").value == direct
    assert team_of  # caseworkers exist


def test_periods_refuse_nonsense() -> None:
    from bot.reports.period import PeriodError

    with pytest.raises(PeriodError):
        make_period(date(2025, 2, 1), date(2025, 1, 1))
    with pytest.raises(PeriodError):
        make_period(date(2020, 1, 1), date(2025, 1, 1))
    assert len(make_period(date(2025, 1, 1), date(2025, 12, 31)).months) == 12
    assert make_period(date(2025, 3, 30), date(2025, 3, 30)).months[0].end - \
        make_period(date(2025, 3, 30), date(2025, 3, 30)).months[0].start == timedelta(hours=23)
