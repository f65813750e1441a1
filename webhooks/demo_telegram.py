"""/demo/telegram: a Telegram simulator for the demo (registered only with console channels).

A visitor acts as the demo landlord and goes through the real bot: the same PTB Application,
handlers and database, with an in-process Bot API stand-in (LocalBotRequest) instead of Telegram.
The page sends what the visitor types or presses; the answer lists what the bot did.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, render_template, request
from sqlalchemy import select
from telegram.ext import ApplicationBuilder

from bot.admin.demo_data import LANDLORDS
from bot.core.db import transaction
from bot.landlords.invites import create_invite
from bot.models import Landlord
from bot.telegram_bot import BotRunner, configure
from bot.telegram_bot.local import LocalBotRequest
from webhooks.context import DEMO_TELEGRAM_KEY, per_app, runtime, this_app

bp = Blueprint("demo_telegram", __name__, template_folder="templates", static_folder="static",
               static_url_path="/demo/telegram/static")

DEMO_USER_ID = 990000001  # the simulated landlord's Telegram user and chat id
DEMO_TOKEN = "7000000001:demo-simulator"
PROCESS_TIMEOUT = 15.0


class DemoBot:
    """The bot on its own loop thread, plus what it has sent so far (for button presses)."""

    def __init__(self, sessions: Any) -> None:
        self.request = LocalBotRequest()
        builder = ApplicationBuilder().token(DEMO_TOKEN).request(self.request) \
            .get_updates_request(LocalBotRequest())
        self.runner = BotRunner(configure(builder, sessions))
        self.messages: dict[int, dict[str, Any]] = {}
        self._update_ids = itertools.count(int(time.time()))
        self._message_ids = itertools.count(1_000_000)
        self._serial = threading.Lock()

    def _user(self) -> dict[str, Any]:
        return {"id": DEMO_USER_ID, "is_bot": False, "first_name": "Demo"}

    def _chat(self) -> dict[str, Any]:
        return {"id": DEMO_USER_ID, "type": "private", "first_name": "Demo"}

    def text_update(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()),
                                   "chat": self._chat(), "from": self._user(), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": message}

    def photo_update(self) -> dict[str, Any]:
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": self._chat(), "from": self._user(),
                   "photo": [{"file_id": "demo-photo", "file_unique_id": "demo", "width": 640,
                              "height": 480}]}
        return {"update_id": next(self._update_ids), "message": message}

    def button_update(self, message_id: int, data: str) -> dict[str, Any]:
        shown = self.messages.get(message_id, {})
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                   "chat": self._chat(), "text": shown.get("text", "")}
        if shown.get("reply_markup"):
            message["reply_markup"] = shown["reply_markup"]
        return {"update_id": next(self._update_ids),
                "callback_query": {"id": str(next(self._update_ids)), "from": self._user(),
                                   "chat_instance": "demo", "data": data, "message": message}}

    def process(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Feed one update; return the bot's visible actions as simple events for the page."""
        with self._serial:
            start = len(self.request.calls)
            self.runner.submit(update).result(PROCESS_TIMEOUT)
            return [e for e in (self._event(m, p) for m, p in self.request.calls[start:]) if e]

    def _event(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        name = method.lower()
        markup = params.get("reply_markup") or {}
        buttons = [[{"text": b["text"], "data": b.get("callback_data", "")} for b in row]
                   for row in markup.get("inline_keyboard", [])]
        keyboard = [[b["text"] for b in row] for row in markup.get("keyboard", [])]
        if name == "sendmessage":
            message_id = int(params["message_id"])
            inline = markup if "inline_keyboard" in markup else None
            self.messages[message_id] = {"text": params.get("text", ""), "reply_markup": inline}
            return {"type": "message", "id": message_id, "text": params.get("text", ""),
                    "buttons": buttons, "keyboard": keyboard}
        if name == "editmessagetext":
            message_id = int(params.get("message_id", 0))
            self.messages[message_id] = {"text": params.get("text", ""),
                                         "reply_markup": markup or None}
            return {"type": "edit", "id": message_id, "text": params.get("text", ""),
                    "buttons": buttons}
        if name == "answercallbackquery" and params.get("text"):
            return {"type": "notice", "text": params["text"]}
        return None


def _demo_bot(app: Flask) -> DemoBot:
    return per_app(app, DEMO_TELEGRAM_KEY, lambda rt: DemoBot(rt.sessions))


@bp.get("/demo/telegram")
def page() -> str:
    return render_template("demo_telegram.html")


@bp.post("/demo/telegram/start")
def start() -> tuple[Response, int]:
    """Make a fresh invite for the demo landlord and open it, as tapping the link would."""
    with transaction(runtime().sessions) as session:
        landlord = session.scalar(select(Landlord).where(Landlord.email == LANDLORDS[0][0])) \
            or session.scalar(select(Landlord).order_by(Landlord.id).limit(1))
        if landlord is None:
            return jsonify(error="Not Found", detail="no landlords: load the demo data"), 404
        token = create_invite(session, landlord)
    bot = _demo_bot(this_app())
    return jsonify(events=bot.process(bot.text_update(f"/start {token}"))), 200


@bp.post("/demo/telegram/send")
def send() -> tuple[Response, int]:
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):  # e.g. a JSON array: .get() below would be a 500
        return jsonify(error="Bad Request", detail="send a JSON object"), 400
    bot = _demo_bot(this_app())
    if body.get("data"):
        try:
            message_id = int(body.get("message_id", 0))
        except (TypeError, ValueError):
            return jsonify(error="Bad Request", detail="message_id must be a number"), 400
        update = bot.button_update(message_id, str(body["data"])[:64])
    elif body.get("photo"):
        update = bot.photo_update()
    elif str(body.get("text", "")).strip():
        update = bot.text_update(str(body["text"]).strip()[:4096])
    else:
        return jsonify(error="Bad Request", detail="send text, a photo or a button"), 400
    return jsonify(events=bot.process(update)), 200
