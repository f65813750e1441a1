"""The two WSGI apps bench/webhook_bench.py serves with identical gunicorn settings.

``real()``: the production app (settings from the environment, logging configured as the CLI
does). ``bare()``: a Flask app whose one endpoint answers a constant TwiML reply, nothing else.
"""

from __future__ import annotations

from flask import Flask, Response

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Tak.</Message></Response>'


def real() -> Flask:
    from bot.core.config import load_settings
    from bot.core.logs import configure_logging
    from bot.runtime import build_runtime
    from webhooks import create_app

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(build_runtime(settings))


def bare() -> Flask:
    app = Flask("bare")

    @app.post("/webhooks/twilio/sms")
    def sms() -> Response:
        return Response(TWIML, mimetype="text/xml")

    return app
