"""Login and logout."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from bot.casework.passwords import burn_time, check_password
from bot.casework.queries import login_locked, record_login
from bot.casework.web_sessions import (
    end_session,
    ip_throttled,
    record_failed_login,
    start_session,
)
from bot.core.storable import storable
from bot.models import Caseworker
from webhooks.context import db
from webhooks.dashboard.common import _, bp
from webhooks.login import StaffUser


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://..." would be an open redirect.
    # Browsers drop tabs and newlines in a Location ("/\t/evil.example" becomes
    # "//evil.example"), and CR/LF cannot go in a header at all: any such character is refused.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and all(c.isprintable() and (c == " " or not c.isspace()) for c in target):
        return target
    return url_for("dashboard.queue")


def _refused(email: str, error: str, status: int) -> tuple[str, int]:
    return render_template("dashboard/login.html", email=email,
                           next=request.form.get("next", ""), error=error), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return render_template("dashboard/login.html", next=request.args.get("next", ""))
    # NUL would make PostgreSQL refuse the lookup (a 500); no stored e-mail can contain it.
    email = storable(request.form.get("email", ""), 254).strip()
    password = request.form.get("password", "")
    s = db()
    ip = request.remote_addr
    if ip_throttled(s, ip):
        return _refused(email, _("Too many failed logins from this network. Wait 15 minutes "
                                 "and try again."), 429)
    if login_locked(s, email):
        return _refused(email, _("Too many failed attempts. Wait 15 minutes and try again."),
                        429)
    cw = s.scalar(select(Caseworker).where(func.lower(Caseworker.email) == email.lower()))
    if cw is None:
        burn_time(password)
    if cw is None or not check_password(cw, password):
        record_login(s, email, None, ip)
        record_failed_login(s, ip)
        s.commit()
        return _refused(email, _("Wrong e-mail or password, or the account is not active."), 401)
    record_login(s, email, cw, ip)
    token = start_session(s, cw)
    s.commit()
    chosen_lang = session.get("lang")
    session.clear()  # no session fixation: a fresh session after login
    if chosen_lang:
        session["lang"] = chosen_lang
    session.permanent = True
    login_user(StaffUser(cw, token))
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        s = db()
        end_session(s, current_user.token)  # a copy of the cookie opens nothing from now on
        s.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."))
    return redirect(url_for("dashboard.login"))
