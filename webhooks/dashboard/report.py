"""The programme report page (/dashboard/report) and its CSV/JSON downloads."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, abort, render_template, request
from flask_login import current_user
from markupsafe import Markup

from bot.casework.queries import actor
from bot.core import audit
from bot.models import Organisation
from bot.reports import render
from bot.reports.figures import build_report
from bot.reports.period import PeriodError, make_period
from bot.reports.scope import ReportNotAllowed, report_team, visible_teams
from webhooks.context import db
from webhooks.dashboard.common import _, bp, lang
from webhooks.login import login_required
from webhooks.security import CSP_INLINE_STYLES

FORMATS = ("html", "csv", "json")


def _date(raw: str | None, default: date) -> tuple[date, bool]:
    if not raw:
        return default, True
    try:
        return date.fromisoformat(raw.strip()[:10]), True
    except ValueError:
        return default, False


def _team_arg() -> int | None:
    raw = request.args.get("team", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


@bp.get("/report")
@login_required
def report() -> str | Response | tuple[str, int]:
    s = db()
    viewer = current_user.viewer
    org = s.get(Organisation, viewer.organisation_id)
    tz_name = org.tz_name if org is not None else "Europe/Copenhagen"
    try:
        team_id = report_team(s, viewer, _team_arg())
    except ReportNotAllowed:
        abort(404)
    today = date.today()
    first, ok_first = _date(request.args.get("from"), (today.replace(day=1) - timedelta(
        days=330)).replace(day=1))
    last, ok_last = _date(request.args.get("to"), today)
    error = None if ok_first and ok_last else _("Give dates like 2026-01-31.")
    try:
        period = make_period(first, last, tz_name)
    except PeriodError:
        error = _("The period must start before it ends and span at most 36 months.")
        first, last = (today.replace(day=1) - timedelta(days=330)).replace(day=1), today
        period = make_period(first, last, tz_name)
    shareable = request.args.get("shareable") == "1"
    fmt = request.args.get("format", "html")
    fmt = fmt if fmt in FORMATS else "html"
    data = build_report(s, period, viewer.organisation_id, team_id, shareable=shareable)
    audit.record(s, actor(viewer), "report", "report", None, format=fmt, team_id=team_id,
                 first=first.isoformat(), last=last.isoformat(), shareable=shareable)
    s.commit()
    if fmt != "html":
        body = render.to_csv(data, lang()) if fmt == "csv" else render.to_json(data)
        mime = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        name = f"trygthjem-report-{first.isoformat()}-{last.isoformat()}.{fmt}"
        return Response(body, 200, {"Content-Type": mime,
                                    "Content-Disposition": f'attachment; filename="{name}"'})
    page = render_template("dashboard/report.html", body=render.report_body(data, lang()),
                           css=Markup(render.stylesheet()), teams=visible_teams(s, viewer),
                           team_id=team_id, first=first, last=last, shareable=shareable,
                           error=error, whole=viewer.role == "admin")
    # Inline SVG charts carry inline styles (see webhooks.security); still no inline script.
    return Response(page, 200 if error is None else 400,
                    {"Content-Security-Policy": CSP_INLINE_STYLES})
