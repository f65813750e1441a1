"""POST /webhooks/telegram: Telegram's webhook for the landlord/caseworker bot.

Verify (secret header), store (dedup on update_id), hand over to the bot, answer fast. The bot's
Application runs on a background event loop thread in this process (BotRunner); the request waits
at most ``PROCESS_WAIT`` seconds for it, so a slow handler never holds Telegram's connection.
"""

from __future__ import annotations

import concurrent.futures
import hmac
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from bot.core.db import transaction
from bot.core.logs import get_logger
from bot.core.storable import storable
from bot.models import Direction, Message, utcnow
from bot.runtime import Runtime
from bot.telegram_bot import BotRunner, build_application
from webhooks.context import TELEGRAM_RUNNER_KEY, per_app, runtime, this_app

bp = Blueprint("telegram", __name__)
log = get_logger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PROCESS_WAIT = 2.0


def _build_runner(rt: Runtime) -> BotRunner:
    telegram = rt.settings.telegram
    assert telegram is not None  # the route answers 404 before, without Telegram settings
    return BotRunner(build_application(rt.sessions, telegram.bot_token, telegram.api_url,
                                       rt.delivery))


def get_bot_runner(app: Flask) -> Any:
    """This process's BotRunner, created on first use (tests put their own there first)."""
    return per_app(app, TELEGRAM_RUNNER_KEY, _build_runner)


def _sender(part: dict[str, Any]) -> str:
    sender = part.get("from")
    return storable(sender.get("id", "") if isinstance(sender, dict) else "", 64)


def _summary(data: dict[str, Any]) -> tuple[str, str]:
    """(sender id, short body) for the message log."""
    for key in ("message", "edited_message"):
        message = data.get(key)
        if isinstance(message, dict):
            body = str(message.get("text") or message.get("caption") or (
                "[photo]" if message.get("photo") else "[other]"))
            if body.startswith("/start "):
                body = "/start [link code]"  # one-time tokens are stored only as hashes
            return _sender(message), storable(body, 1000)
    query = data.get("callback_query")
    if isinstance(query, dict):
        return _sender(query), storable(f"[button] {query.get('data', '')}", 1000)
    return "", "[other]"


@bp.post("/webhooks/telegram")
def telegram_update() -> tuple[Response, int]:
    rt = runtime()
    telegram = rt.settings.telegram
    if telegram is None:
        return jsonify(error="Not Found", detail="Telegram is not configured"), 404
    given = request.headers.get(SECRET_HEADER, "")
    secret = telegram.webhook_secret or ""
    # No secret configured means no way to tell Telegram from anyone else: refuse everything.
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("telegram.bad_secret", has_header=bool(given))
        return jsonify(error="Forbidden", detail="bad or missing secret token"), 403
    data = request.get_json(silent=True)
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool) \
            or not -2**63 <= update_id < 2**63:  # Telegram's ids are 64-bit at most
        return jsonify(error="Bad Request", detail="expected a Telegram Update with update_id"), 400
    assert isinstance(data, dict)
    sender, body = _summary(data)
    try:
        with transaction(rt.sessions) as session:
            row = Message(direction=Direction.IN, channel="telegram", provider_id=str(update_id),
                          sender=sender, body=body, status="received")
            session.add(row)
            session.flush()
            message_id = row.id
    except IntegrityError:
        # Telegram retries an update it got no 200 for: it was stored (and handled) already.
        log.info("telegram.duplicate", update_id=update_id)
        return jsonify(ok=True, duplicate=True), 200
    try:
        future = get_bot_runner(this_app()).submit(data)
    except Exception as exc:
        # The bot could not start (e.g. Telegram unreachable for getMe): forget the update so
        # Telegram's retry is processed, and tell Telegram to retry.
        log.error("telegram.bot_unavailable", update_id=update_id, error=repr(exc))
        with transaction(rt.sessions) as session:
            session.execute(delete(Message).where(Message.id == message_id))
        return (jsonify(error="Service Unavailable", detail="bot not ready, retry later"), 503)
    future.add_done_callback(_mark_done(rt.sessions, message_id, update_id))
    try:
        future.result(timeout=PROCESS_WAIT)
    except concurrent.futures.TimeoutError:
        log.info("telegram.processing_continues", update_id=update_id)
    except Exception:  # logged by the callback; Telegram must not retry a stored update
        pass
    return jsonify(ok=True), 200


def _mark_done(sessions: Any, message_id: int, update_id: int) -> Any:
    def done(future: concurrent.futures.Future[None]) -> None:
        error = future.exception()
        if error is not None:
            log.error("telegram.update_failed", update_id=update_id, error=repr(error))
        with transaction(sessions) as session:
            session.execute(update(Message).where(Message.id == message_id).values(
                status="failed" if error else "processed", processed_at=utcnow()))

    return done
