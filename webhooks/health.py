"""Liveness and readiness probes for the platform's health checks."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.core.db import DatabaseUnavailable, check_connection, current_revision, head_revision

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and serving; says nothing about dependencies."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready for traffic: the database answers and its schema is at the newest migration."""
    from webhooks import get_runtime

    engine = get_runtime().engine
    try:
        check_connection(engine)
        current, head = current_revision(engine), head_revision(engine)
    except DatabaseUnavailable as exc:
        return jsonify(status="unavailable", database=str(exc).splitlines()[0]), 503
    if current != head:
        return jsonify(status="unavailable", database="ok",
                       migrations=f"at {current}, newest is {head}: run trygthjem db upgrade"), 503
    return jsonify(status="ok", database="ok", migrations=current), 200
