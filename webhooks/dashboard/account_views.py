"""The caseworker's own page (language, password, Telegram link) and the audit log."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from bot.casework.access import can_read_audit_log
from bot.casework.passwords import MIN_LENGTH, WeakPassword, check_password, set_password
from bot.casework.queries import actor, audit_log, new_telegram_link
from bot.casework.web_sessions import start_session
from bot.core import audit
from bot.core.i18n import SUPPORTED
from bot.models import Caseworker
from webhooks.context import db, settings
from webhooks.dashboard.common import _, bp
from webhooks.dashboard.labels import LABELS
from webhooks.dashboard.views import names
from webhooks.login import StaffUser, login_required

AUDIT_PAGE = 50


@bp.get("/me")
@login_required
def me() -> str:
    cw = db().get(Caseworker, current_user.id)
    return render_template("dashboard/me.html", cw=cw, link=None, languages=SUPPORTED,
                           min_length=MIN_LENGTH)


@bp.post("/me/language")
@login_required
def me_language() -> Response:
    s = db()
    cw = s.get(Caseworker, current_user.id)
    chosen = request.form.get("language", "")
    if cw is None or chosen not in SUPPORTED:
        abort(400)
    if cw.language != chosen:
        audit.record(s, actor(cw), "language_changed", "caseworker", cw.id, before=cw.language,
                     after=chosen)
        cw.language = chosen
        s.commit()
    session["lang"] = chosen  # this page and the next in the new language
    g.lang = chosen
    flash(_("Language saved."))
    return redirect(url_for("dashboard.me"))


@bp.post("/me/password")
@login_required
def me_password() -> Response | tuple[str, int]:
    s = db()
    cw = s.get(Caseworker, current_user.id)
    assert cw is not None
    new = request.form.get("new_password", "")
    if not check_password(cw, request.form.get("current_password", "")):
        flash(_("The current password is not right."), "error")
        return redirect(url_for("dashboard.me"))
    if new != request.form.get("repeat_password", ""):
        flash(_("The two new passwords are not the same."), "error")
        return redirect(url_for("dashboard.me"))
    try:
        set_password(cw, new)
    except WeakPassword:
        flash(_("The new password must have at least {n} characters.", n=MIN_LENGTH), "error")
        return redirect(url_for("dashboard.me"))
    audit.record(s, actor(cw), "password_changed", "caseworker", cw.id, via="dashboard")
    s.commit()
    # set_password ended every session of theirs; this browser goes on with a new one.
    token = start_session(s, cw)
    s.commit()
    login_user(StaffUser(cw, token))
    flash(_("Password changed. Other sessions have been logged out."))
    return redirect(url_for("dashboard.me"))


@bp.post("/me/telegram")
@login_required
def me_telegram() -> str:
    s = db()
    cw = s.get(Caseworker, current_user.id)
    assert cw is not None
    token = new_telegram_link(s, cw)
    s.commit()
    telegram = settings().telegram
    username = telegram.bot_username if telegram is not None else None
    link = f"https://t.me/{username}?start=cw-{token}" if username else None
    # Shown once: only the hash is stored, so a reload cannot show it again.
    return render_template("dashboard/me.html", cw=cw, link=link, start=f"/start cw-{token}",
                           languages=SUPPORTED, min_length=MIN_LENGTH)


def _int_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 9 else default


@bp.get("/audit")
@login_required
def audit_page() -> str:
    if not can_read_audit_log(current_user.viewer):
        abort(403)
    s = db()
    page = max(1, _int_arg("page", 1) or 1)
    args = {k: request.args.get(k, "").strip() for k in ("subject_type", "subject_id", "action")}
    who = _int_arg("actor", None)
    events = audit_log(s, current_user.viewer, args["subject_type"] or None,
                       args["subject_id"] or None, AUDIT_PAGE + 1, action=args["action"] or None,
                       actor_id=who, offset=(page - 1) * AUDIT_PAGE)
    s.commit()
    more = len(events) > AUDIT_PAGE
    people = names()
    return render_template("dashboard/audit.html", events=events[:AUDIT_PAGE], page=page,
                           more=more, args=args, who=who, people=people,
                           actions=sorted(LABELS["audit"]))
