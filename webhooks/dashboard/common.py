"""What every dashboard module shares: the blueprint, CSRF, language and texts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, g, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from bot.alerts.routing import blind_problem
from bot.core.i18n import SUPPORTED, gettext, normalize_lang
from bot.core.timing import zone_of
from webhooks.context import settings
from webhooks.dashboard.labels import label, weekday

csrf = CSRFProtect()

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static", static_url_path="/static")


def lang() -> str:
    return str(g.get("lang", "da"))


def _(msgid: str, **params: Any) -> str:
    """``msgid`` in the viewer's language, from the catalogues (extracted by tests/core)."""
    return gettext(lang(), msgid, **params)


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
    tz = zone_of(current_user.tz_name if current_user.is_authenticated
                 else settings().tz_name)

    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y %H:%M") if value else "–"

    def day(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y") if value else "–"

    def L(group: str, value: object) -> str:  # short name for templates
        return label(lang(), group, value)

    def W(iso: int) -> str:
        return weekday(lang(), iso)

    # Admins see a banner when no channel can deliver alerts (the worker refuses to start).
    delivery_problem = (current_user.is_authenticated and current_user.role == "admin"
                        and blind_problem(settings()) is not None)
    return {"_": _, "L": L, "W": W, "lang": lang(), "when": when, "day": day,
            "current_user": current_user, "delivery_problem": delivery_problem}
