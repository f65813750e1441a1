"""Dashboard pages for tenants: the list (with search), one tenant, and what can be changed."""

from __future__ import annotations

import json
import uuid
from datetime import date, time

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from bot.casework.access import can_erase, can_export
from bot.casework.queries import (
    NOTE_MAX,
    NotAllowed,
    NoteTooLong,
    actor,
    add_note,
    get_tenant,
    pause_checkins,
    read_tenant,
)
from bot.casework.queue import search_tenants
from bot.casework.tenant_messages import conversation, ready_answers
from bot.casework.tenant_view import change_contact_person, contact_candidates, wellbeing
from bot.checkins import schedule
from bot.checkins.rows import tenant_weekdays
from bot.models import Caseworker, Tenant
from bot.tenants import privacy
from webhooks.context import db
from webhooks.dashboard.charts import summary as chart_summary
from webhooks.dashboard.charts import wellbeing_svg
from webhooks.dashboard.common import _, bp, lang
from webhooks.dashboard.messaging import send_from_form
from webhooks.dashboard.views import names
from webhooks.login import login_required
from webhooks.security import CSP_INLINE_STYLES


def _tenant_or_404(tenant_id: int) -> Tenant:
    tenant = get_tenant(db(), current_user.viewer, tenant_id)
    if tenant is None or tenant.erased_at is not None:
        abort(404)
    return tenant


def _back(tenant_id: int) -> Response:
    return redirect(url_for("dashboard.tenant", tenant_id=tenant_id))


@bp.get("/tenants")
@login_required
def tenants() -> str:
    q = request.args.get("q", "")
    return render_template("dashboard/tenants.html", q=q,
                           tenants=search_tenants(db(), current_user.viewer, q))


@bp.get("/tenants/<int:tenant_id>")
@login_required
def tenant(tenant_id: int) -> str:
    s = db()
    t = _tenant_or_404(tenant_id)
    file = read_tenant(s, current_user.viewer, t, via="dashboard")
    s.commit()
    weeks = wellbeing(s, t)
    return render_template(
        "dashboard/tenant.html", t=t, file=file, names=names(),
        may_export=can_export(current_user.viewer), may_erase=can_erase(current_user.viewer),
        today=schedule.local_today(s, t).isoformat(), upcoming=schedule.upcoming(s, t, count=3),
        weekdays=sorted(tenant_weekdays(t) or ()), weeks=weeks,
        chart_alt=chart_summary(weeks, lang()), lines=conversation(s, t.id),
        ready=ready_answers(t.language), request_key=uuid.uuid4().hex,
        candidates=contact_candidates(s, current_user.viewer))


@bp.get("/tenants/<int:tenant_id>/wellbeing.svg")
@login_required
def tenant_chart(tenant_id: int) -> Response:
    s = db()
    t = _tenant_or_404(tenant_id)
    narrow = request.args.get("narrow") == "1"
    return FlaskResponse(wellbeing_svg(wellbeing(s, t), lang(), narrow=narrow),
                    mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, no-store",
                             # Its own document: styles inside the SVG (pygal's), no script.
                             "Content-Security-Policy": CSP_INLINE_STYLES})


@bp.post("/tenants/<int:tenant_id>/message")
@login_required
def tenant_message(tenant_id: int) -> Response:
    send_from_form(_tenant_or_404(tenant_id))
    return redirect(url_for("dashboard.tenant", tenant_id=tenant_id) + "#conversation")


@bp.post("/tenants/<int:tenant_id>/notes")
@login_required
def tenant_note(tenant_id: int) -> Response:
    s = db()
    t = _tenant_or_404(tenant_id)
    try:
        add_note(s, current_user.viewer, t, request.form.get("body", ""))
    except NoteTooLong:
        flash(_("The note is too long: at most {max} characters.", max=NOTE_MAX), "error")
        return _back(tenant_id)
    except ValueError:
        flash(_("The note is empty."), "error")
        return _back(tenant_id)
    s.commit()
    flash(_("Note saved."))
    return _back(tenant_id)


@bp.post("/tenants/<int:tenant_id>/pause")
@login_required
def tenant_pause(tenant_id: int) -> Response:
    s = db()
    t = _tenant_or_404(tenant_id)
    raw = "" if request.form.get("resume") else request.form.get("until", "").strip()
    try:
        until = date.fromisoformat(raw) if raw else None
    except ValueError:
        flash(_("Give a date like 2026-12-24."), "error")
        return _back(tenant_id)
    try:
        pause_checkins(s, current_user.viewer, t, until)
    except ValueError:  # before the municipality's local today
        flash(_("The date has passed."), "error")
        return _back(tenant_id)
    s.commit()
    flash(_("Check-ins paused until {date}.", date=until.isoformat()) if until
          else _("Check-ins resumed."))
    return _back(tenant_id)


@bp.post("/tenants/<int:tenant_id>/cadence")
@login_required
def tenant_cadence(tenant_id: int) -> Response:
    s = db()
    t = _tenant_or_404(tenant_id)
    days = [int(d) for d in request.form.getlist("weekday") if d in "1234567" and len(d) == 1]
    try:
        at = time.fromisoformat(request.form.get("time", "").strip()[:5])
        schedule.change_cadence(s, t, weekdays=days, at=at, actor=actor(current_user.viewer))
    except ValueError:
        flash(_("Choose at least one weekday and a time like 10:00."), "error")
        return _back(tenant_id)
    s.commit()
    flash(_("Check-in times changed."))
    return _back(tenant_id)


@bp.post("/tenants/<int:tenant_id>/contact")
@login_required
def tenant_contact(tenant_id: int) -> Response:
    s = db()
    t = _tenant_or_404(tenant_id)
    raw = request.form.get("caseworker_id", "")
    new = s.get(Caseworker, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 10 \
        else None
    try:
        if new is None:
            raise NotAllowed("no such caseworker")
        changed = change_contact_person(s, current_user.viewer, t, new)
    except NotAllowed:
        flash(_("You cannot make that caseworker the contact person."), "error")
        return _back(tenant_id)
    s.commit()
    if changed:
        flash(_("{name} is now the contact person.", name=new.name))
    # A team lead who moved the tenant to another team may no longer see them.
    if get_tenant(s, current_user.viewer, tenant_id) is None:
        return redirect(url_for("dashboard.tenants"))
    return _back(tenant_id)


@bp.post("/tenants/<int:tenant_id>/consent")
@login_required
def tenant_consent(tenant_id: int) -> Response:
    s = db()
    t = _tenant_or_404(tenant_id)
    given = request.form.get("consent") == "given"
    privacy.record_consent(s, t, given, actor=actor(current_user.viewer))
    s.commit()
    flash(_("Consent recorded as given.") if given
          else _("Consent recorded as withdrawn: no more check-ins."))
    return _back(tenant_id)


@bp.post("/tenants/<int:tenant_id>/export")
@login_required
def tenant_export(tenant_id: int) -> Response:
    if not can_export(current_user.viewer):
        abort(403)
    s = db()
    t = _tenant_or_404(tenant_id)
    data = privacy.export_tenant(s, t, actor=actor(current_user.viewer))
    s.commit()
    return FlaskResponse(json.dumps(data, ensure_ascii=False, indent=2),
                    mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="tenant-{tenant_id}-export.json"',
                             "Cache-Control": "no-store"})


@bp.post("/tenants/<int:tenant_id>/erase")
@login_required
def tenant_erase(tenant_id: int) -> Response:
    if not can_erase(current_user.viewer):
        abort(403)
    s = db()
    t = _tenant_or_404(tenant_id)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the erasure."), "error")
        return _back(tenant_id)
    try:
        privacy.erase_tenant(s, t, actor=actor(current_user.viewer))
    except privacy.AlertStillActive as exc:
        s.rollback()
        flash(_("Not erased: alert {ids} about this tenant is not resolved yet. Resolve it "
                "first, so nobody's cry for help is lost, then erase.",
                ids=", ".join(f"#{i}" for i in exc.alert_ids)), "error")
        return _back(tenant_id)
    s.commit()
    flash(_("The tenant's personal data has been erased."))
    return redirect(url_for("dashboard.tenants"))
