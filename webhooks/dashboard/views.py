"""Dashboard pages for alerts: the queue and one alert. Each view checks access (via
bot.casework), calls the domain, renders. Tenant pages: tenant_views; own page and audit log:
account_views."""

from __future__ import annotations

import uuid
from functools import partial

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.alerts.lifecycle import act
from bot.alerts.routing import intake_team_id
from bot.alerts.rules import InvalidTransition
from bot.casework import alert_view
from bot.casework import queue as alert_queue
from bot.casework.queries import (
    NOTE_MAX,
    NotAllowed,
    NoteTooLong,
    add_note,
    can_view_tenant,
    get_alert,
    read_alert,
    reassign_and_tell,
    reassignable_to,
)
from bot.casework.tenant_messages import conversation, ready_answers
from bot.channels.telegram import download_file
from bot.models import Alert, AlertState, Caseworker, Team
from bot.models.enums import Action
from webhooks.context import db, runtime, settings
from webhooks.dashboard.common import _, bp, lang
from webhooks.dashboard.labels import label
from webhooks.dashboard.messaging import send_from_form
from webhooks.dashboard.timeline import entries
from webhooks.login import login_required


def _alert_or_404(alert_id: int) -> Alert:
    alert = get_alert(db(), current_user.viewer, alert_id)
    if alert is None:
        abort(404)
    return alert


def names() -> dict[int, str]:
    """Caseworker id -> name, for timelines and the audit log: the viewer's municipality only
    (another municipality's people are nobody's business here; they show as "?")."""
    return dict(db().execute(
        select(Caseworker.id, Caseworker.name).join(Team)
        .where(Team.organisation_id == current_user.viewer.organisation_id)).all())


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
    s = db()
    f = alert_queue.QueueFilter.parse(request.args.get("scope"), request.args.get("state"),
                                      request.args.get("q"))
    alerts = alert_queue.alerts(s, current_user.viewer, f)
    details = alert_view.first_details(s, (a.id for a in alerts))
    words = partial(label, lang())
    summaries = {a.id: alert_view.render_summary(a, details.get(a.id, {}), lang(), words)
                 for a in alerts}
    intake = None
    if current_user.role == "admin":  # where this municipality's team-less alerts go
        team_id = intake_team_id(s, current_user.viewer.organisation_id)
        team = s.get(Team, team_id) if team_id is not None else None
        intake = team.name if team is not None else label(lang(), "intake", "admins")
    return render_template("dashboard/queue.html", alerts=alerts, f=f, summaries=summaries,
                           counts=alert_queue.tab_counts(s, current_user.viewer, f),
                           tabs=list(alert_queue.TABS), scopes=alert_queue.SCOPES,
                           intake=intake)


@bp.get("/alerts/<int:alert_id>")
@login_required
def alert(alert_id: int) -> str:
    s = db()
    a = _alert_or_404(alert_id)
    notes = read_alert(s, current_user.viewer, a, via="dashboard")
    s.commit()
    tenant = a.tenant if a.tenant is not None and a.tenant.erased_at is None else None
    tenant_link = tenant is not None and can_view_tenant(current_user.viewer, tenant)
    triggers = alert_view.triggers(s, a)
    first = triggers[0].detail if triggers else {}
    return render_template(
        "dashboard/alert.html", alert=a, notes=notes, tenant=tenant, tenant_link=tenant_link,
        summary=alert_view.render_summary(a, first, lang(), partial(label, lang())),
        triggers=triggers,
        concern=alert_view.concern_view(a.concern),
        photo_shown=settings().telegram is not None,
        actions=alert_view.allowed_actions(a.state),
        colleagues=reassignable_to(s, current_user.viewer),
        timeline=entries(a.events, names(), lang()),
        lines=conversation(s, tenant.id, limit=10) if tenant is not None else [],
        ready=ready_answers(tenant.language) if tenant is not None else [],
        request_key=uuid.uuid4().hex)


@bp.get("/alerts/<int:alert_id>/photo")
@login_required
def alert_photo(alert_id: int) -> Response:
    """The landlord's photo, fetched from Telegram (only an image is ever served)."""
    a = _alert_or_404(alert_id)
    telegram = settings().telegram
    if a.concern is None or not a.concern.photo_file_id or telegram is None:
        abort(404)
    try:
        data, mimetype = download_file(telegram.bot_token, telegram.api_url,
                                       a.concern.photo_file_id)
    except RuntimeError:
        abort(404)
    return FlaskResponse(data, mimetype=mimetype, headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'"})


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
        flash(_("Not possible: {reason}", reason=_refusal(exc)), "error")
        return redirect(url_for("dashboard.alert", alert_id=alert_id))
    s.commit()
    flash(_("Alert #{id}: {action}.", id=alert_id, action=label(lang(), "done", action.value))
          if changed else _("Nothing changed: the alert was already in that state."))
    return redirect(url_for("dashboard.alert", alert_id=alert_id))


def _refusal(exc: InvalidTransition) -> str:
    if exc.action == Action.REOPEN:
        return _("it is still open; only a resolved alert can be reopened")
    return _("it is already closed; reopen it first")


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
    rt = runtime()
    try:
        handover = reassign_and_tell(s, current_user.viewer, a, target, rt.settings,
                                    list(rt.channels) or None, delivery=rt.delivery)
    except NotAllowed:
        flash(_("You cannot hand the alert to that caseworker."), "error")
        return redirect(url_for("dashboard.alert", alert_id=alert_id))
    s.commit()
    if handover.told:
        flash(_("Alert #{id} handed to {name}, who has been told.", id=alert_id,
                name=target.name))
    elif handover.no_sender:
        flash(_("Alert #{id} handed to {name}, but no worker is sending messages right now, so "
                "they have not been told. Tell them yourself.", id=alert_id, name=target.name),
              "error")
    elif handover.changed and a.state == AlertState.RESOLVED:
        flash(_("Alert #{id} handed to {name}.", id=alert_id, name=target.name))
    elif handover.changed:
        # Nothing reached them: the one who handed it over must tell them, or nobody will.
        flash(_("Alert #{id} handed to {name}, but they could not be reached on any channel "
                "(no phone, Telegram or e-mail for this alert). Tell them yourself.",
                id=alert_id, name=target.name), "error")
    # After handing it to another team the alert may no longer be visible to the viewer.
    if get_alert(s, current_user.viewer, alert_id) is None:
        return redirect(url_for("dashboard.queue"))
    return redirect(url_for("dashboard.alert", alert_id=alert_id))


@bp.post("/alerts/<int:alert_id>/message")
@login_required
def alert_message(alert_id: int) -> Response:
    a = _alert_or_404(alert_id)
    # Whoever may act on the alert may answer its tenant (a colleague on call, too).
    if a.tenant is None or a.tenant.erased_at is not None:
        abort(404)
    send_from_form(a.tenant, alert_id=a.id)
    return redirect(url_for("dashboard.alert", alert_id=alert_id) + "#conversation")


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
