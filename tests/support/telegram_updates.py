"""Bot API update JSON as Telegram sends it, for feeding the bot without the emulator."""

from __future__ import annotations

import itertools
import time
from typing import Any

_update_ids = itertools.count(1000)
_message_ids = itertools.count(5000)


def _user(user_id: int, language_code: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Peter"}
    if language_code:
        user["language_code"] = language_code
    return user


def message(user_id: int, text: str | None = None, *, update_id: int | None = None,
            photo: str | None = None, caption: str | None = None,
            language_code: str | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": next(_message_ids), "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Peter"},
        "from": _user(user_id, language_code),
    }
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    if photo is not None:
        msg["photo"] = [{"file_id": f"{photo}-small", "file_unique_id": "s", "width": 90,
                         "height": 90},
                        {"file_id": photo, "file_unique_id": "b", "width": 1280, "height": 960}]
        if caption:
            msg["caption"] = caption
    return {"update_id": update_id if update_id is not None else next(_update_ids),
            "message": msg}


def callback(user_id: int, data: str, *, message_id: int = 1, text: str = "",
             reply_markup: dict[str, Any] | None = None,
             update_id: int | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": message_id, "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Peter"},
        "from": {"id": 7000000001, "is_bot": True, "first_name": "Trygt Hjem"},
        "text": text,
    }
    if reply_markup:
        msg["reply_markup"] = reply_markup
    return {"update_id": update_id if update_id is not None else next(_update_ids),
            "callback_query": {"id": str(next(_update_ids)), "from": _user(user_id),
                               "chat_instance": f"ci-{user_id}", "data": data, "message": msg}}
