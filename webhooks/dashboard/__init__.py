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

from flask import Flask, redirect, url_for
from werkzeug.wrappers import Response

from bot.casework.web_sessions import ABSOLUTE_TIMEOUT
from bot.core.config import Settings
from webhooks.dashboard import account_views, auth, banner, report, tenant_views, views
from webhooks.dashboard.common import bp, csrf
from webhooks.login import login_manager

__all__ = ["account_views", "auth", "banner", "init_app", "report", "tenant_views", "views"]


def init_app(app: Flask, settings: Settings) -> None:
    base = settings.public_base_url
    secure = bool(base and base.startswith("https://"))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        # The cookie may outlive the session row; the row decides (web_sessions.py).
        PERMANENT_SESSION_LIFETIME=ABSOLUTE_TIMEOUT,
        WTF_CSRF_CHECK_DEFAULT=False,  # see the module docstring
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    @app.get("/")
    def home() -> Response:
        return redirect(url_for("dashboard.queue"))

    app.register_blueprint(bp)
