"""Who is logged in, for the dashboard and the JSON API alike.

Logins are server-side sessions (`bot.casework.web_sessions`): Flask-Login keeps only a random
token in the signed cookie, and each request looks the token up, so logout, a password change
and the idle/absolute timeouts end a session everywhere at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import jsonify, redirect, request, url_for
from flask_login import LoginManager
from flask_login import login_required as _login_required

from bot.casework.access import Viewer
from bot.casework.queries import viewer_for
from bot.casework.web_sessions import live_session
from bot.models import Caseworker
from webhooks.context import db

login_manager = LoginManager()

View = TypeVar("View", bound=Callable[..., Any])


def login_required(view: View) -> View:
    """Flask-Login's `login_required`, typed (the library ships no type information)."""
    return cast(View, _login_required(view))


class StaffUser:
    """A snapshot of the logged-in caseworker for one request, and their session token.

    Flask-Login's user protocol written out (instead of its untyped UserMixin)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, cw: Caseworker, token: str) -> None:
        self.id = cw.id
        self.name = cw.name
        self.email = cw.email
        self.role = cw.role
        self.language = cw.language
        # Dates and times on the dashboard are in the caseworker's municipality's zone.
        self.tz_name = cw.team.organisation.tz_name
        self.viewer: Viewer = viewer_for(cw)
        self.token = token

    def get_id(self) -> str:
        return self.token

    @property
    def is_active(self) -> bool:
        return self.viewer.active


def _load_user(token: str) -> StaffUser | None:
    s = db()
    row = live_session(s, token)
    cw = s.get(Caseworker, row.caseworker_id) if row is not None else None
    user = StaffUser(cw, token) if cw is not None and cw.active else None
    s.commit()  # a timed-out session is ended now; last_seen_at moves on
    return user


def _unauthorized() -> Any:
    if request.path.startswith("/api/"):
        return jsonify(error="Unauthorized", detail="log in first (session cookie)"), 401
    return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))


# Registered by call, not as decorators: Flask-Login ships no type information.
login_manager.user_loader(_load_user)
login_manager.unauthorized_handler(_unauthorized)
