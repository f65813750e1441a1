"""Flask application factory: webhooks, caseworker dashboard, JSON API, health."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from flask import Flask, Request, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from bot.core.config import load_settings
from bot.core.db import DatabaseUnavailable
from bot.core.logs import configure_logging, get_logger
from bot.runtime import Runtime, build_runtime
from webhooks import (
    api,
    context,
    dashboard,
    demo_phone,
    demo_telegram,
    health,
    metrics,
    security,
    telegram,
)
from webhooks import twilio as twilio_hooks

log = get_logger("webhooks")


def create_app(runtime: Runtime | None = None) -> Flask:
    """The WSGI app; `gunicorn 'webhooks:create_app()'` builds its runtime from the environment."""
    if runtime is None:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        runtime = build_runtime(settings)
    app = Flask(__name__, static_folder=None)  # each blueprint serves its own
    app.json = _JSONProvider(app)
    secret = runtime.settings.secret_key
    if secret is None:
        secret = uuid.uuid4().hex
        if not runtime.settings.console_channels:
            log.warning("config.secret_key_missing", detail="SECRET_KEY is not set: dashboard "
                        "logins end when this process restarts and fail across web processes")
    app.config["SECRET_KEY"] = secret
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.session_interface = _CookieSessions()
    context.attach(app, runtime)
    security.install(app, runtime.settings)

    app.register_blueprint(health.bp)
    metrics.install(app)
    dashboard.init_app(app, runtime.settings)
    app.register_blueprint(api.bp)
    app.register_blueprint(twilio_hooks.bp)
    app.register_blueprint(telegram.bp)
    if runtime.settings.console_channels:  # simulators exist only in demo mode
        app.register_blueprint(demo_phone.bp)
        app.register_blueprint(demo_telegram.bp)
    _install_request_logging(app)
    _install_error_handlers(app)
    return app


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building a signer (itsdangerous, with its key
    derivation) to open a request that brings no session cookie, as every provider webhook
    does: Flask builds one per request. What is read, signed and sent is Flask's own."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # what Flask returns when there is no cookie
        return super().open_session(app, request)


class _JSONProvider(DefaultJSONProvider):
    """Deeply nested JSON ("[[[[..." within the size limit) raises RecursionError, which
    get_json(silent=True) does not catch: make it the ValueError of any other bad JSON (a 400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def _install_request_logging(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request.headers.get(
            "X-Request-Id", uuid.uuid4().hex[:12]))

    @app.after_request
    def _log(response: Response) -> Response:
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        if request.path not in ("/healthz",):
            log.info("http.request", method=request.method, path=request.path,
                     status=response.status_code, ms=round(elapsed, 1))
        return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response, int, list[tuple[str, str]]]:
        # Keep the exception's own headers: Allow on a 405, Retry-After on a 429/503.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return jsonify(error=exc.name, detail=exc.description), exc.code or 500, headers

    @app.errorhandler(DatabaseUnavailable)
    @app.errorhandler(OperationalError)
    def _db(exc: Exception) -> tuple[Response, int, dict[str, str]]:
        # 503 makes Twilio and Telegram retry later: the message is not lost.
        log.error("db.unavailable", error=str(exc).splitlines()[0])
        return (jsonify(error="Service Unavailable", detail="database unavailable, retry later"),
                503, {"Retry-After": "30"})

    @app.errorhandler(DataError)
    def _data(exc: DataError) -> tuple[Response, int]:
        # A value the database cannot hold (out of range, NUL): the request's fault, not ours.
        log.warning("db.data_error", path=request.path, error=str(exc.orig).splitlines()[0])
        return jsonify(error="Bad Request", detail="a value in the request cannot be stored "
                       "(too large, or a character that is not allowed)"), 400

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("http.unhandled", path=request.path)
        return jsonify(error="Internal Server Error", detail="unexpected error, logged"), 500
