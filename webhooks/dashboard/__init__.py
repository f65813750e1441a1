"""The caseworkers' web dashboard: login, alert queue, alerts, tenants, audit log.

Server-rendered Jinja pages; Danish by default with an English toggle (`?lang=en`, or the
caseworker's own language). Every text comes from the gettext catalogues (bot/locale), through
`_()` here and in the templates; stored values are put in words by `labels.label` (`L()` in
templates). No inline script or style: CSS and JS are static files.

CSRF protection (Flask-WTF) covers the dashboard's forms only: the provider webhooks
(/webhooks/*, /demo/*) are verified by their own signatures and must never need a CSRF token,
so CSRF is not switched on globally (WTF_CSRF_CHECK_DEFAULT = False) but checked in this
blueprint's before_request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, g, jsonify, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.casework.access import Viewer
from bot.casework.queries import viewer_for
from bot.core.i18n import SUPPORTED, gettext, normalize_lang
from bot.core.timing import zone_of
from bot.models import Caseworker
from webhooks.dashboard.labels import label, weekday

csrf = CSRFProtect()
login_manager = LoginManager()
SESSION_LIFETIME = timedelta(hours=10)  # one working day; then log in again

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static", static_url_path="/static")


class DashboardUser(UserMixin):
    """A snapshot of the logged-in caseworker for one request."""

    def __init__(self, cw: Caseworker) -> None:
        self.id = cw.id
        self.name = cw.name
        self.email = cw.email
        self.role = cw.role
        self.language = cw.language
        # Dates and times on the dashboard are in the caseworker's municipality's zone.
        self.tz_name = cw.team.organisation.tz_name
        self.viewer: Viewer = viewer_for(cw)
        # Part of the session id: changing the password logs out every other session.
        self.stamp = (cw.password_hash or "")[-12:]

    def get_id(self) -> str:
        return f"{self.id}:{self.stamp}"

    @property
    def is_active(self) -> bool:
        return self.viewer.active


def db() -> Session:
    """The request's database session (closed at teardown)."""
    if "db" not in g:
        from webhooks import get_runtime

        g.db = get_runtime().sessions()
    session_: Session = g.db
    return session_


def lang() -> str:
    return str(g.get("lang", "da"))


def _(msgid: str, **params: Any) -> str:
    """``msgid`` in the viewer's language, from the catalogues (extracted by tests/core)."""
    return gettext(lang(), msgid, **params)


def init_app(app: Flask) -> None:
    settings = app.extensions["trygthjem"].settings
    secure = bool(settings.public_base_url and settings.public_base_url.startswith("https://"))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        WTF_CSRF_CHECK_DEFAULT=False,  # see the module docstring
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    @app.teardown_appcontext
    def _close_db(_exc: BaseException | None) -> None:
        s = g.pop("db", None)
        if s is not None:
            s.close()

    @app.get("/")
    def home() -> Response:
        return redirect(url_for("dashboard.queue"))

    # Routes register on import.
    from webhooks.dashboard import account_views, auth, tenant_views, views  # noqa: F401

    app.register_blueprint(bp)


@login_manager.user_loader
def _load_user(user_id: str) -> DashboardUser | None:
    cw_id, _sep, stamp = user_id.partition(":")
    if not cw_id.isdigit():
        return None
    cw = db().get(Caseworker, int(cw_id))
    if cw is None or not cw.active or (cw.password_hash or "")[-12:] != stamp:
        return None
    return DashboardUser(cw)


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    if request.path.startswith("/api/"):
        return jsonify(error="Unauthorized", detail="log in first (session cookie)"), 401
    return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))


@bp.before_request
def _language() -> None:
    """`?lang=` (remembered in the session), else the caseworker's language, else Danish."""
    asked = request.args.get("lang")
    if asked in SUPPORTED:
        session["lang"] = asked
    chosen = session.get("lang")
    if chosen is None and current_user.is_authenticated:
        chosen = current_user.language
    g.lang = normalize_lang(chosen)


@bp.before_request
def _csrf() -> None:
    if request.method == "POST":
        csrf.protect()


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    from webhooks import get_runtime

    tz = zone_of(current_user.tz_name if current_user.is_authenticated
                 else get_runtime().settings.tz_name)

    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y %H:%M") if value else "–"

    def day(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y") if value else "–"

    def L(group: str, value: object) -> str:  # short name for templates
        return label(lang(), group, value)

    def W(iso: int) -> str:
        return weekday(lang(), iso)

    return {"_": _, "L": L, "W": W, "lang": lang(), "when": when, "day": day,
            "current_user": current_user}
