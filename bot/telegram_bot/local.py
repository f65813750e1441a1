"""A Bot API stand-in inside the process: answers the bot's requests itself and records them.

Used by the demo's Telegram simulator (/demo/telegram) and by handler unit tests, so the very
same Application and conversation run without Telegram. Every call is kept in ``calls`` as
``(method, parameters)``; messages get increasing ids.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Trygt Hjem",
            "username": "TrygtHjemDemoBot"}
_MESSAGE_METHODS = {"sendmessage", "sendphoto", "editmessagetext", "editmessagereplymarkup"}


class LocalBotRequest(BaseRequest):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(1)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE,
                         write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        bot_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        self.calls.append((bot_method, params))  # sends get their new "message_id" added below
        name = bot_method.lower()
        result: Any = True
        if name == "getme":
            result = BOT_USER
        elif name in _MESSAGE_METHODS:
            edit = name.startswith("edit")
            message_id = int(str(params.get("message_id", 0))) if edit else next(self._ids)
            params["message_id"] = message_id
            result = {"message_id": message_id, "date": int(time.time()), "from": BOT_USER,
                      "chat": {"id": int(str(params.get("chat_id", 0))), "type": "private"}}
            if edit:
                result["edit_date"] = result["date"]
            for key in ("text", "caption"):
                if key in params:
                    result[key] = params[key]
            markup = params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            # Like Telegram: a message carries only inline keyboards, not reply keyboards.
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                result["reply_markup"] = markup
            if name == "sendphoto":
                result["photo"] = [{"file_id": str(params.get("photo")), "file_unique_id": "p",
                                    "width": 1, "height": 1}]
        return 200, json.dumps({"ok": True, "result": result}).encode()
