"""/demo/telegram: a Telegram simulator for the demo (registered only with console channels).

A visitor acts as the demo landlord and goes through the real bot: the same PTB Application,
handlers and database, with an in-process Bot API stand-in (LocalBotRequest) instead of Telegram.
The page sends what the visitor types or presses; the answer lists what the bot did.

The chat is kept as one transcript per server (``GET /demo/telegram/updates?since=N``), so a
reload shows the same chat, and status updates the worker pushes to the landlord (concern
acknowledged / resolved, sent through the outbox) appear in it as they would in Telegram.
Opening the chat again does not make a new invite once the demo landlord is linked.
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
from bot.models import Landlord, OutboxItem
from bot.models.enums import Channel
from bot.models.messaging import OutboxStatus
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
        self.transcript: list[dict[str, Any]] = []  # every event, in order, for the page
        self._pushed: set[int] = set()  # outbox items already in the transcript

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

    def process(self, update: dict[str, Any], said: str | None = None) -> list[dict[str, Any]]:
        """Feed one update; return the bot's visible actions as simple events for the page.

        ``said``: what the visitor typed, kept in the transcript before the bot's answer."""
        with self._serial:
            if said is not None:
                self.transcript.append({"type": "me", "text": said})
            start = len(self.request.calls)
            self.runner.submit(update).result(PROCESS_TIMEOUT)
            events = [e for e in (self._event(m, p) for m, p in self.request.calls[start:]) if e]
            self.transcript.extend(events)
            return events

    def pull_pushed(self, sessions: Any) -> None:
        """Add what the worker has sent to the demo chat through the outbox (status updates)."""
        with transaction(sessions) as session:
            items = list(session.scalars(
                select(OutboxItem).where(OutboxItem.channel == Channel.TELEGRAM,
                                         OutboxItem.recipient == str(DEMO_USER_ID),
                                         OutboxItem.status == OutboxStatus.SENT)
                .order_by(OutboxItem.sent_at, OutboxItem.id)))
            fresh = [(i.id, i.body) for i in items if i.id not in self._pushed]
        with self._serial:
            for item_id, body in fresh:
                if item_id not in self._pushed:
                    self._pushed.add(item_id)
                    self.transcript.append({"type": "message", "id": f"outbox-{item_id}",
                                            "text": body, "buttons": [], "keyboard": []})

    def since(self, index: int) -> list[dict[str, Any]]:
        with self._serial:
            return self.transcript[max(0, index):]

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


@bp.get("/demo/telegram/updates")
def updates() -> tuple[Response, int]:
    """The chat from event ``since`` on (0: all of it), with pushed status updates."""
    try:
        since = int(request.args.get("since", "0"))
    except ValueError:
        return jsonify(error="Bad Request", detail="since must be a number"), 400
    bot = _demo_bot(this_app())
    bot.pull_pushed(runtime().sessions)
    events = bot.since(since)
    return jsonify(events=events, next=max(since, 0) + len(events)), 200


@bp.post("/demo/telegram/start")
def start() -> tuple[Response, int]:
    """Open the demo landlord's invite, as tapping the link would. Once the simulated chat is
    linked, a plain /start: no new invite (and no new audit row) per page load."""
    with transaction(runtime().sessions) as session:
        linked = session.scalar(select(Landlord.id).where(
            Landlord.telegram_user_id == DEMO_USER_ID))
        token = None
        if linked is None:
            landlord = session.scalar(select(Landlord).where(Landlord.email == LANDLORDS[0][0])) \
                or session.scalar(select(Landlord).order_by(Landlord.id).limit(1))
            if landlord is None:
                return jsonify(error="Not Found", detail="no landlords: load the demo data"), 404
            token = create_invite(session, landlord)
    bot = _demo_bot(this_app())
    command = f"/start {token}" if token else "/start"
    return jsonify(events=bot.process(bot.text_update(command), said="/start")), 200


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
        said = None
    elif body.get("photo"):
        update, said = bot.photo_update(), "📷"
    elif str(body.get("text", "")).strip():
        said = str(body["text"]).strip()[:4096]
        update = bot.text_update(said)
    else:
        return jsonify(error="Bad Request", detail="send text, a photo or a button"), 400
    return jsonify(events=bot.process(update, said=said)), 200
