"""Dashboard pages. Each view: check access (via bot.casework), call the domain, render."""

from __future__ import annotations

import json
from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from bot.alerts.lifecycle import act
from bot.alerts.routing import intake_team_id
from bot.alerts.rules import InvalidTransition
from bot.casework.access import can_erase, can_export, can_read_audit_log
from bot.casework.queries import (
    ACTIVE_STATES,
    NOTE_MAX,
    NotAllowed,
    NoteTooLong,
    actor,
    add_note,
    alert_queue,
    audit_log,
    can_view_tenant,
    get_alert,
    get_tenant,
    new_telegram_link,
    pause_checkins,
    read_alert,
    read_tenant,
    reassign,
    reassignable_to,
    visible_tenants,
)
from bot.core.organisations import local_today
from bot.models import Alert, AlertState, Caseworker, Team, Tenant
from bot.models.enums import Action
from bot.tenants import privacy
from webhooks.context import db, settings
from webhooks.dashboard.catalogue import label
from webhooks.dashboard.common import _, bp, lang

QUEUE_TABS = {"active": ACTIVE_STATES, "open": (AlertState.OPEN,),
              "acknowledged": (AlertState.ACKNOWLEDGED,), "resolved": (AlertState.RESOLVED,)}


def _alert_or_404(alert_id: int) -> Alert:
    alert = get_alert(db(), current_user.viewer, alert_id)
    if alert is None:
        abort(404)
    return alert


def _tenant_or_404(tenant_id: int) -> Tenant:
    tenant = get_tenant(db(), current_user.viewer, tenant_id)
    if tenant is None or tenant.erased_at is not None:
        abort(404)
    return tenant


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return render_template("dashboard/error.html", code=400,
                           message=_("The form had expired or was not sent from this page. "
                                     "Go back, reload and try again.")), 400


@bp.errorhandler(403)
@bp.errorhandler(404)
def _not_found(exc: Exception) -> tuple[str, int]:
    code = getattr(exc, "code", 404)
    return render_template("dashboard/error.html", code=code,
                           message=_("Not found, or you do not have access to it.")), code


@bp.get("/")
@login_required
def queue() -> str:
    tab = request.args.get("state", "active")
    states = QUEUE_TABS.get(tab, ACTIVE_STATES)
    alerts = alert_queue(db(), current_user.viewer, states)
    intake = None
    if current_user.role == "admin":  # where this municipality's team-less alerts go
        team_id = intake_team_id(db(), current_user.viewer.organisation_id)
        team = db().get(Team, team_id) if team_id is not None else None
        intake = team.name if team is not None else label(lang(), "intake", "admins")
    return render_template("dashboard/queue.html", alerts=alerts, tab=tab, tabs=list(QUEUE_TABS),
                           intake=intake)


@bp.get("/alerts/<int:alert_id>")
@login_required
def alert(alert_id: int) -> str:
    s = db()
    a = _alert_or_404(alert_id)
    notes = read_alert(s, current_user.viewer, a, via="dashboard")
    s.commit()
    tenant_link = (a.tenant is not None and a.tenant.erased_at is None
                   and can_view_tenant(current_user.viewer, a.tenant))
    return render_template("dashboard/alert.html", alert=a, notes=notes, tenant_link=tenant_link,
                           colleagues=reassignable_to(s, current_user.viewer),
                           names=_names())


def _names() -> dict[str, str]:
    """actor strings ("caseworker:3") -> names, for timelines."""
    rows = db().execute(select(Caseworker.id, Caseworker.name)).all()
    return {f"caseworker:{i}": n for i, n in rows}


@bp.post("/alerts/<int:alert_id>/act")
@login_required
def alert_act(alert_id: int) -> Response:
    s = db()
    a = _alert_or_404(alert_id)
    try:
        action = Action(request.form.get("action", ""))
    except ValueError:
        abort(400)
    cw = s.get(Caseworker, current_user.id)
    try:
        changed = act(s, a, action, actor=cw, via="dashboard")
    except InvalidTransition as exc:
        s.rollback()
        flash(_("Not possible: {reason}", reason=label(
            lang(), "refusal", f"{exc.state.value}:{exc.action.value}")), "error")
        return redirect(url_for("dashboard.alert", alert_id=alert_id))
    s.commit()
    flash(_("Alert #{id}: {action}.", id=alert_id, action=label(lang(), "done", action.value))
          if changed else _("Nothing changed: the alert was already in that state."))
    return redirect(url_for("dashboard.alert", alert_id=alert_id))


@bp.post("/alerts/<int:alert_id>/reassign")
@login_required
def alert_reassign(alert_id: int) -> Response:
    s = db()
    a = _alert_or_404(alert_id)
    raw = request.form.get("owner_id", "")
    # isascii: str.isdigit() also accepts e.g. "²", which int() refuses.
    target = s.get(Caseworker, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 10 \
        else None
    if target is None:
        flash(_("Choose a caseworker."), "error")
        return redirect(url_for("dashboard.alert", alert_id=alert_id))
    try:
        changed = reassign(s, current_user.viewer, a, target)
    except NotAllowed:
        flash(_("You cannot hand the alert to that caseworker."), "error")
        return redirect(url_for("dashboard.alert", alert_id=alert_id))
    s.commit()
    if changed:
        flash(_("Alert #{id} handed to {name}.", id=alert_id, name=target.name))
    # After handing it to another team the alert may no longer be visible to the viewer.
    if get_alert(s, current_user.viewer, alert_id) is None:
        return redirect(url_for("dashboard.queue"))
    return redirect(url_for("dashboard.alert", alert_id=alert_id))


@bp.post("/alerts/<int:alert_id>/notes")
@login_required
def alert_note(alert_id: int) -> Response:
    s = db()
    a = _alert_or_404(alert_id)
    if a.tenant is None:
        abort(400)
    try:
        add_note(s, current_user.viewer, a.tenant, request.form.get("body", ""), alert=a)
    except NoteTooLong:
        flash(_("The note is too long: at most {max} characters.", max=NOTE_MAX), "error")
        return redirect(url_for("dashboard.alert", alert_id=alert_id))
    except ValueError:
        flash(_("The note is empty."), "error")
        return redirect(url_for("dashboard.alert", alert_id=alert_id))
    s.commit()
    flash(_("Note saved."))
    return redirect(url_for("dashboard.alert", alert_id=alert_id))


@bp.get("/tenants")
@login_required
def tenants() -> str:
    return render_template("dashboard/tenants.html",
                           tenants=visible_tenants(db(), current_user.viewer))


@bp.get("/tenants/<int:tenant_id>")
@login_required
def tenant(tenant_id: int) -> str:
    s = db()
    t = _tenant_or_404(tenant_id)
    file = read_tenant(s, current_user.viewer, t, via="dashboard")
    s.commit()
    return render_template("dashboard/tenant.html", t=t, file=file,
                           may_export=can_export(current_user.viewer),
                           may_erase=can_erase(current_user.viewer), names=_names(),
                           today=local_today(current_user.tz_name).isoformat())


@bp.post("/tenants/<int:tenant_id>/notes")
@login_required
def tenant_note(tenant_id: int) -> Response:
    s = db()
    t = _tenant_or_404(tenant_id)
    try:
        add_note(s, current_user.viewer, t, request.form.get("body", ""))
    except NoteTooLong:
        flash(_("The note is too long: at most {max} characters.", max=NOTE_MAX), "error")
        return redirect(url_for("dashboard.tenant", tenant_id=tenant_id))
    except ValueError:
        flash(_("The note is empty."), "error")
        return redirect(url_for("dashboard.tenant", tenant_id=tenant_id))
    s.commit()
    flash(_("Note saved."))
    return redirect(url_for("dashboard.tenant", tenant_id=tenant_id))


@bp.post("/tenants/<int:tenant_id>/pause")
@login_required
def tenant_pause(tenant_id: int) -> Response:
    s = db()
    t = _tenant_or_404(tenant_id)
    raw = request.form.get("until", "").strip()
    try:
        until = date.fromisoformat(raw) if raw else None
    except ValueError:
        flash(_("Give a date like 2026-12-24."), "error")
        return redirect(url_for("dashboard.tenant", tenant_id=tenant_id))
    try:
        pause_checkins(s, current_user.viewer, t, until)
    except ValueError:  # before the municipality's local today
        flash(_("The date has passed."), "error")
        return redirect(url_for("dashboard.tenant", tenant_id=tenant_id))
    s.commit()
    flash(_("Check-ins paused until {date}.", date=until.isoformat()) if until
          else _("Check-ins resumed."))
    return redirect(url_for("dashboard.tenant", tenant_id=tenant_id))


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
    return redirect(url_for("dashboard.tenant", tenant_id=tenant_id))


@bp.post("/tenants/<int:tenant_id>/export")
@login_required
def tenant_export(tenant_id: int) -> Response:
    if not can_export(current_user.viewer):
        abort(403)
    s = db()
    t = _tenant_or_404(tenant_id)
    data = privacy.export_tenant(s, t, actor=actor(current_user.viewer))
    s.commit()
    return Response(json.dumps(data, ensure_ascii=False, indent=2),
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
        return redirect(url_for("dashboard.tenant", tenant_id=tenant_id))
    privacy.erase_tenant(s, t, actor=actor(current_user.viewer))
    s.commit()
    flash(_("The tenant's personal data has been erased."))
    return redirect(url_for("dashboard.tenants"))


@bp.get("/me")
@login_required
def me() -> str:
    cw = db().get(Caseworker, current_user.id)
    return render_template("dashboard/me.html", cw=cw, link=None)


@bp.post("/me/telegram")
@login_required
def me_telegram() -> str:
    s = db()
    cw = s.get(Caseworker, current_user.id)
    token = new_telegram_link(s, cw)
    s.commit()
    telegram = settings().telegram
    username = telegram.bot_username if telegram is not None else None
    link = f"https://t.me/{username}?start=cw-{token}" if username else None
    # Shown once: only the hash is stored, so a reload cannot show it again.
    return render_template("dashboard/me.html", cw=cw, link=link, start=f"/start cw-{token}")


@bp.get("/audit")
@login_required
def audit_page() -> str:
    if not can_read_audit_log(current_user.viewer):
        abort(403)
    s = db()
    events = audit_log(s, current_user.viewer, request.args.get("subject_type") or None,
                       request.args.get("subject_id") or None)
    s.commit()
    return render_template("dashboard/audit.html", events=events)
