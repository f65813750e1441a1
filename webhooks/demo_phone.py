"""Demo only: a phone simulator at /demo/phone to text the service as a demo tenant.

Registered only in demo mode (console channels). Each message goes through the real webhook,
``POST /webhooks/twilio/sms``, signed with the demo token exactly as Twilio would sign it, so the
visitor sees what a tenant would: the immediate reply, and anything the worker sends later.
"""

from __future__ import annotations

import uuid
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from sqlalchemy import or_, select
from twilio.request_validator import RequestValidator

from bot.core.phones import mask_phone
from bot.models import Alert, AlertState, Caseworker, Message, Tenant
from webhooks.context import runtime
from webhooks.twilio import SMS_PATH, signed_url, webhook_auth_token

bp = Blueprint("demo_phone", __name__, url_prefix="/demo/phone", template_folder="templates",
               static_folder="static", static_url_path="/static")

SERVICE_NUMBER = "+4570103000"  # what the simulated phone texts; any number will do in the demo
UNKNOWN_NUMBER = "+4529999999"
MAX_BODY = 1600


def _sessions() -> Any:
    return runtime().sessions


@bp.get("")
def page() -> str:
    with _sessions()() as session:
        tenants = session.scalars(select(Tenant).where(Tenant.erased_at.is_(None))
                                  .order_by(Tenant.name)).all()
        workers = session.scalars(select(Caseworker).where(Caseworker.active.is_(True),
                                                           Caseworker.phone.is_not(None))
                                  .order_by(Caseworker.name)).all()
        phones = [{"phone": t.phone, "label": f"{t.name} (lejer, {t.language})",
                   "masked": mask_phone(t.phone)} for t in tenants]
        phones += [{"phone": c.phone, "label": f"{c.name} (sagsbehandler)",
                    "masked": mask_phone(c.phone or "")} for c in workers]
        example = _reply_code_example(session)
    phones.append({"phone": UNKNOWN_NUMBER, "label": "Ukendt nummer / unknown number",
                   "masked": mask_phone(UNKNOWN_NUMBER)})
    return render_template("demo_phone.html", phones=phones, example=example)


def _reply_code_example(session: Any) -> dict[str, Any] | None:
    """A reply code that works here: the oldest open alert whose caseworker has a phone."""
    row = session.execute(
        select(Alert.id, Caseworker.name).join(Tenant, Alert.tenant_id == Tenant.id)
        .join(Caseworker, Tenant.caseworker_id == Caseworker.id)
        .where(Alert.state == AlertState.OPEN, Caseworker.active.is_(True),
               Caseworker.phone.is_not(None))
        .order_by(Alert.id).limit(1)).first()
    return {"alert_id": row[0], "caseworker": row[1]} if row is not None else None


def _known_phone(phone: str) -> bool:
    if phone == UNKNOWN_NUMBER:
        return True
    with _sessions()() as session:
        return session.scalar(select(Tenant.id).where(Tenant.phone == phone)) is not None or \
            session.scalar(select(Caseworker.id).where(Caseworker.phone == phone)) is not None


@bp.post("/send")
def send() -> tuple[Response, int]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):  # e.g. a JSON array: .get() below would be a 500
        abort(400, "send a JSON object with phone and body")
    phone = str(data.get("phone") or "")
    body = str(data.get("body") or "")[:MAX_BODY]
    pictures = 1 if data.get("picture") else 0
    if not _known_phone(phone):
        abort(400, "pick one of the demo phones")
    token = webhook_auth_token()
    assert token is not None  # demo mode always has one
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
              "From": phone, "To": SERVICE_NUMBER, "Body": body, "NumMedia": str(pictures)}
    signature = RequestValidator(token).compute_signature(signed_url(SMS_PATH), params)
    # Through the real webhook, as Twilio would call it.
    response = current_app.test_client().post(SMS_PATH, data=params,
                                              headers={"X-Twilio-Signature": signature})
    if response.status_code != 200:
        return jsonify(error="webhook answered", status=response.status_code), 502
    root = ElementTree.fromstring(response.get_data(as_text=True))
    replies = [m.text or "" for m in root.iter("Message")]
    return jsonify(status=response.status_code, replies=replies), 200


@bp.get("/messages")
def messages() -> Response:
    """The conversation of one demo phone, oldest first (replies and later worker sends)."""
    phone = request.args.get("phone", "")
    with _sessions()() as session:
        rows = session.scalars(
            select(Message).where(Message.channel.in_(("sms", "console")),
                                  or_(Message.sender == phone, Message.recipient == phone))
            .order_by(Message.id.desc()).limit(50)).all()
        items = [{"id": m.id, "direction": m.direction, "body": m.body,
                  "at": m.created_at.isoformat(), "intent": m.intent}
                 for m in reversed(rows)]
    return jsonify(messages=items)
