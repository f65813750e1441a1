"""Liveness and readiness probes for the platform's health checks.

`/readyz` tells anyone only "ok" or "not ready"; what is wrong (the database, migrations, no
delivery channel) is in the log and, for a logged-in admin, in the answer.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask_login import current_user

from bot.alerts.routing import blind_problem
from bot.core.db import DatabaseUnavailable, check_connection, current_revision, head_revision
from bot.core.logs import get_logger
from bot.models import Role

bp = Blueprint("health", __name__)
log = get_logger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and serving; says nothing about dependencies."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready for traffic: the database answers, its schema is at the newest migration, and
    alerts can be delivered to a person (a channel is configured, or demo mode)."""
    from webhooks import get_runtime

    runtime = get_runtime()
    engine = runtime.engine
    detail: dict[str, str] = {}
    try:
        check_connection(engine)
        current, head = current_revision(engine), head_revision(engine)
    except DatabaseUnavailable as exc:
        log.error("readyz.database", error=str(exc).splitlines()[0])
        # Who asks cannot be checked without the database: nobody gets the detail.
        return jsonify(status="not ready"), 503
    detail["database"] = "ok"
    detail["migrations"] = (current or "none") if current == head else \
        f"at {current}, newest is {head}: run trygthjem db upgrade"
    problem = blind_problem(runtime.settings)
    detail["channels"] = problem or "ok"
    if current != head or problem is not None:
        log.error("readyz.not_ready", **detail)
        if _is_admin():
            return jsonify(status="not ready", **detail), 503
        return jsonify(status="not ready"), 503
    return jsonify(status="ok", **detail), 200


def _is_admin() -> bool:
    return bool(current_user.is_authenticated and current_user.role == Role.ADMIN)
