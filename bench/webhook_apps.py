"""The WSGI apps bench/webhook_bench.py serves with identical gunicorn settings.

``real()``: the production app (settings from the environment, logging configured as the CLI
does). ``floor()``: the raw-driver floor: a minimal Flask endpoint doing the same durable steps
as the real webhook with psycopg / sqlite3 and hand-written SQL (store the message and commit,
claim it for processing and commit), then a constant TwiML reply. No signature check, no
conversation: what the product cannot go below on this machine and database. ``stack()``:
the floor's steps through the product's own stack (signature check, SQLAlchemy), no
conversation. ``framework()``: Flask answering without a database (webhook_profile's baseline).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Tak.</Message></Response>'


def real() -> Flask:
    from bot.core.config import load_settings
    from bot.core.logs import configure_logging
    from bot.runtime import build_runtime
    from webhooks import create_app

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(build_runtime(settings))


STORE = ("INSERT INTO messages (direction, channel, provider_id, sender, recipient, body, status,"
         " created_at) VALUES ('in', 'sms', {p}, {p}, {p}, {p}, 'received', {p})"
         " ON CONFLICT (channel, provider_id) WHERE direction = 'in' DO NOTHING RETURNING id")
CLAIM = ("UPDATE messages SET processed_at = {p}, status = 'processed'"
         " WHERE id = {p} AND processed_at IS NULL")


def _connect(url: str) -> tuple[Any, str]:
    """One connection per worker process (as a pool would keep), and the driver's placeholder."""
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1], timeout=30)
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")  # as bot.core.db.make_engine sets them
        return conn, "?"
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)), "%s"


def floor() -> Flask:
    app = Flask("floor")
    url = os.environ["DATABASE_URL"]
    state: dict[str, Any] = {}

    @app.post("/webhooks/twilio/sms")
    def sms() -> Response:
        if "conn" not in state:
            state["conn"], placeholder = _connect(url)
            state["store"], state["claim"] = (STORE.format(p=placeholder),
                                              CLAIM.format(p=placeholder))
        conn, form, now = state["conn"], request.form, datetime.now(UTC)
        row = conn.execute(state["store"], (form["MessageSid"], form["From"], form["To"],
                                            form.get("Body", ""), now)).fetchone()
        conn.commit()
        if row is not None:
            conn.execute(state["claim"], (now, row[0]))
            conn.commit()
        return Response(TWIML, mimetype="text/xml")

    return app


def framework() -> Flask:
    """Flask alone: reads the posted form and answers the floor's TwiML, no database. In
    bench/webhook_profile.py it measures what the test client and Flask cost every app."""
    app = Flask("framework")

    @app.post("/webhooks/twilio/sms")
    def sms() -> Response:
        if not request.form.get("MessageSid"):
            return Response("MessageSid is required", status=400)
        return Response(TWIML, mimetype="text/xml")

    return app


def stack() -> Flask:
    """The floor's durable steps through the product's own stack: Twilio's signature check,
    SQLAlchemy's pooled engine (pre-ping) and ORM sessions (one pinned connection, two
    transactions, SQLite's writer turn), as webhooks/twilio.py uses them; no conversation. Its
    distance to ``floor()`` is what the chosen stack costs before the product does anything."""
    from sqlalchemy import text

    from bot.core.db import make_engine, make_session_factory, pinned, write_turn
    from webhooks.twilio import signature_valid

    app = Flask("stack")
    engine = make_engine(os.environ["DATABASE_URL"])
    sessions = make_session_factory(engine)
    token, base = os.environ["TWILIO_AUTH_TOKEN"], os.environ["PUBLIC_BASE_URL"]
    store = text(STORE.replace("{p}", ":{}").format("sid", "sender", "to", "body", "now"))
    claim = text(CLAIM.replace("{p}", ":{}").format("now", "id"))

    @app.post("/webhooks/twilio/sms")
    def sms() -> Response:
        form = request.form
        if not signature_valid(token, base + request.path, form,
                               request.headers.get("X-Twilio-Signature", "")):
            return Response("forbidden", status=403)
        now = datetime.now(UTC)
        with pinned(sessions) as session:
            with write_turn(engine), session.begin():
                row = session.execute(store, {"sid": form["MessageSid"], "sender": form["From"],
                                              "to": form["To"], "body": form.get("Body", ""),
                                              "now": now}).first()
            if row is not None:
                with write_turn(engine), session.begin():
                    session.execute(claim, {"now": now, "id": row[0]})
        return Response(TWIML, mimetype="text/xml")

    return app
