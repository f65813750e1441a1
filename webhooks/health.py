"""Liveness and readiness probes for the platform's health checks.

`/readyz` tells anyone only whether the service is ready. Why not (the database driver's error,
which names hosts and ports; a pending migration; no channel that can deliver alerts) goes to
the log, and to a logged-in admin.
While the database is down nobody can be recognised as an admin, so then everyone gets the
plain answer and the detail is in the log line `health.not_ready`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from bot.alerts.routing import blind_problem
from bot.core.db import DatabaseUnavailable, check_connection, current_revision, head_revision
from bot.core.logs import get_logger
from bot.models import Role
from webhooks.context import runtime

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
    engine = runtime().engine
    try:
        check_connection(engine)
        current, head = current_revision(engine), head_revision(engine)
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        log.error("health.not_ready", reason="database", error=str(exc).splitlines()[0])
        return _not_ready({}), 503
    if current != head:
        detail = f"at {current}, newest is {head}: run trygthjem db upgrade"
        log.error("health.not_ready", reason="migrations", detail=detail)
        return _not_ready({"database": "ok", "migrations": detail}), 503
    problem = blind_problem(runtime().settings)
    if problem is not None:
        log.error("health.not_ready", reason="channels", detail=problem)
        return _not_ready({"database": "ok", "migrations": current or "none",
                           "channels": problem}), 503
    return jsonify(status="ok", database="ok", migrations=current, channels="ok"), 200


def _not_ready(detail: dict[str, Any]) -> Response:
    if detail and _is_admin():
        return jsonify(status="not ready", **detail)
    return jsonify(status="not ready")


def _is_admin() -> bool:
    try:
        return bool(current_user.is_authenticated and current_user.role == Role.ADMIN)
    except (DatabaseUnavailable, SQLAlchemyError):  # the session lookup needs the database
        return False
