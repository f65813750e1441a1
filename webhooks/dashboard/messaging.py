"""The "answer the tenant" form, shared by the alert page and the tenant page."""

from __future__ import annotations

from flask import flash, request
from flask_login import current_user

from bot.casework.tenant_messages import (
    MAX_SEGMENTS,
    CannotSend,
    compose,
    record_on_alert,
    send_to_tenant,
)
from bot.core.timing import zone_of
from bot.models import Tenant
from webhooks.context import db
from webhooks.dashboard.common import _, lang
from webhooks.dashboard.labels import label


def send_from_form(tenant: Tenant, *, alert_id: int | None = None) -> bool:
    """Send the posted message (or ready answer); flash what happened. True if it was queued."""
    s = db()
    try:
        body = compose(tenant, request.form.get("body"), request.form.get("ready"))
        sent = send_to_tenant(s, current_user.viewer, tenant, body,
                              request_key=request.form.get("request_key"), via="dashboard")
    except CannotSend as exc:
        s.rollback()
        flash(_(exc.reason, name=tenant.name, max=MAX_SEGMENTS), "error")
        return False
    if alert_id is not None:
        record_on_alert(s, current_user.viewer, alert_id, sent)
    s.commit()
    if sent.outbox_id is None:
        flash(_("This message was already sent."))
    elif sent.deferred:
        tz = zone_of(current_user.tz_name)  # the municipality's clock, as on every page
        flash(_("It is quiet hours for {name}: the SMS goes at {time}.", name=tenant.name,
                time=sent.goes_at.astimezone(tz).strftime("%d.%m %H:%M")))
    else:
        flash(_("SMS to {name} is on its way ({language}).", name=tenant.name,
                language=label(lang(), "language", tenant.language)))
    return sent.outbox_id is not None
