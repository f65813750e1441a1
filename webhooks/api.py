"""JSON API for caseworkers under /api/v1 (session cookie auth, same access rules as the
dashboard). Errors are JSON: {"error": ..., "detail": ...}.

CSRF: POSTs must send `Content-Type: application/json`. A cross-site HTML form cannot send that
content type without a CORS preflight (which this API never grants), and the session cookie is
SameSite=Lax, so a foreign page cannot act with a caseworker's session.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from flask_login import current_user

from bot.alerts.lifecycle import act
from bot.alerts.rules import InvalidTransition
from bot.casework.queries import (
    ACTIVE_STATES,
    NOTE_MAX,
    add_note,
    alert_queue,
    can_view_tenant,
    get_alert,
    get_tenant,
    read_alert,
    read_tenant,
)
from bot.casework.tenant_messages import (
    ERASED,
    MAX_SEGMENTS,
    STOPPED,
    CannotSend,
    compose,
    record_on_alert,
    send_to_tenant,
)
from bot.core.i18n import gettext
from bot.core.storable import storable
from bot.models import Alert, AlertState, Caseworker, Tenant
from bot.models.enums import Action
from webhooks.context import db
from webhooks.login import login_required
from webhooks.openapi import spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def _alert_json(a: Alert, *, full: bool = False) -> dict[str, Any]:
    tenant_visible = a.tenant is not None and can_view_tenant(current_user.viewer, a.tenant)
    data: dict[str, Any] = {
        "id": a.id, "source": a.source, "severity": a.severity, "state": a.state,
        "summary": a.summary, "trigger_count": a.trigger_count,
        "tenant": {"id": a.tenant.id, "name": a.tenant.name} if a.tenant else None,
        "tenant_accessible": tenant_visible,
        "home": {"reference": a.home.reference, "city": a.home.city} if a.home else None,
        "owner": {"id": a.owner.id, "name": a.owner.name} if a.owner else None,
        "next_action_at": _iso(a.next_action_at), "created_at": _iso(a.created_at),
        "acknowledged_at": _iso(a.acknowledged_at), "resolved_at": _iso(a.resolved_at),
        # Set while nobody could be reached: such alerts come first in every list.
        "undelivered_since": _iso(a.undelivered_at),
    }
    if full:
        data["timeline"] = [{"at": _iso(e.at), "kind": e.kind, "actor": e.actor,
                             "detail": e.detail} for e in a.events]
    return data


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=_REASONS.get(status, "Error"), detail=message), status


_REASONS = {400: "Bad Request", 404: "Not Found", 409: "Conflict",
            415: "Unsupported Media Type"}


@bp.before_request
def _require_json_on_post() -> tuple[Response, int] | None:
    if request.method == "POST" and not request.is_json:
        return _error(415, "send Content-Type: application/json")
    return None


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(spec())


@bp.get("/alerts")
@login_required
def alerts() -> Response | tuple[Response, int]:
    state = request.args.get("state")
    if state is None:
        states: tuple[str, ...] = ACTIVE_STATES
    elif state in {s.value for s in AlertState}:
        states = (state,)
    else:
        return _error(400, "state must be open, acknowledged or resolved")
    rows = alert_queue(db(), current_user.viewer, states)
    return jsonify(alerts=[_alert_json(a) for a in rows])


def _alert_or_404(alert_id: int) -> Alert:
    a = get_alert(db(), current_user.viewer, alert_id)
    if a is None:
        abort(404, description=f"no alert {alert_id} that you can see")
    return a


@bp.get("/alerts/<int:alert_id>")
@login_required
def alert(alert_id: int) -> Response:
    s = db()
    a = _alert_or_404(alert_id)
    notes = read_alert(s, current_user.viewer, a, via="api")
    s.commit()
    data = _alert_json(a, full=True)
    data["notes"] = [{"id": n.id, "at": _iso(n.created_at), "author": n.author.name,
                      "body": n.body} for n in notes]
    return jsonify(data)


def _act(alert_id: int, action: Action) -> Response | tuple[Response, int]:
    s = db()
    a = _alert_or_404(alert_id)
    if not isinstance(request.get_json(silent=True), dict):
        return _error(400, "send a JSON object; {} will do")
    try:
        changed = act(s, a, action, actor=s.get(Caseworker, current_user.id), via="api")
    except InvalidTransition as exc:
        s.rollback()
        return _error(409, str(exc))
    s.commit()
    return jsonify(changed=changed, alert=_alert_json(a))


@bp.post("/alerts/<int:alert_id>/acknowledge")
@login_required
def acknowledge(alert_id: int) -> Response | tuple[Response, int]:
    return _act(alert_id, Action.ACKNOWLEDGE)


@bp.post("/alerts/<int:alert_id>/resolve")
@login_required
def resolve(alert_id: int) -> Response | tuple[Response, int]:
    return _act(alert_id, Action.RESOLVE)


@bp.post("/alerts/<int:alert_id>/reopen")
@login_required
def reopen(alert_id: int) -> Response | tuple[Response, int]:
    return _act(alert_id, Action.REOPEN)


def _tenant_or_404(tenant_id: int) -> Tenant:
    t = get_tenant(db(), current_user.viewer, tenant_id)
    if t is None or t.erased_at is not None:
        abort(404, description=f"no tenant {tenant_id} that you can see")
    return t


@bp.get("/tenants/<int:tenant_id>")
@login_required
def tenant(tenant_id: int) -> Response:
    s = db()
    t = _tenant_or_404(tenant_id)
    file = read_tenant(s, current_user.viewer, t, via="api")
    s.commit()
    return jsonify({
        "id": t.id, "name": t.name, "phone": t.phone, "language": t.language,
        "home": {"reference": t.home.reference, "address": t.home.address,
                 "city": t.home.city} if t.home else None,
        "caseworker": {"id": t.caseworker.id, "name": t.caseworker.name}
        if t.caseworker else None,
        "consent": t.consent, "consent_at": _iso(t.consent_at),
        "opted_out_at": _iso(t.opted_out_at),
        "checkins_paused_until": _iso(t.checkins_paused_until),
        "timeline": [{"at": _iso(e.at), "kind": e.kind, "text": e.text, "ref": e.ref}
                     for e in file.timeline],
    })


@bp.post("/tenants/<int:tenant_id>/notes")
@login_required
def tenant_note(tenant_id: int) -> tuple[Response, int]:
    s = db()
    t = _tenant_or_404(tenant_id)
    payload = request.get_json(silent=True)
    body = payload.get("body") if isinstance(payload, dict) else None
    alert_id = payload.get("alert_id") if isinstance(payload, dict) else None
    if not isinstance(body, str) or not storable(body).strip():
        return _error(400, "body must be a non-empty string")
    if len(body.strip()) > NOTE_MAX:
        return _error(400, f"body has {len(body.strip())} characters; at most {NOTE_MAX}")
    a = None
    if alert_id is not None:
        valid = isinstance(alert_id, int) and not isinstance(alert_id, bool)
        a = get_alert(s, current_user.viewer, alert_id) if valid else None
        if a is None or a.tenant_id != t.id:
            return _error(400, "alert_id must be one of this tenant's alerts")
    note = add_note(s, current_user.viewer, t, body, alert=a)
    s.commit()
    return jsonify(id=note.id, at=_iso(note.created_at), body=note.body), 201


@bp.post("/tenants/<int:tenant_id>/messages")
@login_required
def tenant_message(tenant_id: int) -> tuple[Response, int]:
    """Answer the tenant by SMS (the dashboard's rules: bot.casework.tenant_messages)."""
    s = db()
    t = _tenant_or_404(tenant_id)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return _error(400, "send a JSON object with body or ready")
    body, ready, alert_id = payload.get("body"), payload.get("ready"), payload.get("alert_id")
    if (body is not None and not isinstance(body, str)) or \
            (ready is not None and not isinstance(ready, str)):
        return _error(400, "body and ready must be strings")
    a = None
    if alert_id is not None:
        valid = isinstance(alert_id, int) and not isinstance(alert_id, bool)
        a = get_alert(s, current_user.viewer, alert_id) if valid else None
        if a is None or a.tenant_id != t.id:
            return _error(400, "alert_id must be one of this tenant's alerts")
    key = request.headers.get("Idempotency-Key") or None
    try:
        text = compose(t, body, ready)
        sent = send_to_tenant(s, current_user.viewer, t, text, request_key=key, via="api")
    except CannotSend as exc:
        s.rollback()
        status = 409 if exc.reason in (STOPPED, ERASED) else 400
        return _error(status, gettext("en", exc.reason, name=t.name, max=MAX_SEGMENTS))
    if a is not None:
        record_on_alert(s, current_user.viewer, a.id, sent)
    s.commit()
    return jsonify(outbox_id=sent.outbox_id, body=sent.body, goes_at=_iso(sent.goes_at),
                   deferred=sent.deferred, duplicate=sent.outbox_id is None), \
        200 if sent.outbox_id is None else 202
