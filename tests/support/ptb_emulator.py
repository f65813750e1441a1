"""python-telegram-bot 22 against telegram-test-api: a request class that repairs the emulator's
answers, and builders for a ``Bot``/``Application`` pointed at it. Test-only: the product never
talks to the emulator's dialect.

Repairs (all on the bot-API side, in ``repair_response``):
- getMe lacks ``is_bot``                          -> ``is_bot: true``
- dates of bot messages are in milliseconds       -> seconds
- callback queries lack ``chat_instance``         -> derived from the chat id
- edit*/answerCallbackQuery/... return null       -> the edited Message (built from the request)
                                                     for edits of chat messages, else ``true``
- errors come as HTTP 200 with ``ok: false``      -> HTTP ``error_code`` (PTB raises BadRequest..)
- unsupported methods give HTTP 500 ``{message}`` -> Telegram's error shape, so PTB shows why
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Bot
from telegram.ext import Application, ApplicationBuilder, BaseHandler
from telegram.request import BaseRequest, HTTPXRequest, RequestData

# Telegram dates are Unix seconds (~1.7e9); anything above this is milliseconds (~1.7e12).
_MILLISECONDS_THRESHOLD = 10**11
_EDIT_METHODS = frozenset(
    {"editmessagetext", "editmessagereplymarkup", "editmessagecaption", "editmessagemedia"}
)


def _fix_dates(value: Any) -> Any:
    """Convert every ``*date`` field given in milliseconds to seconds, in place."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("date") and isinstance(item, int) and item > _MILLISECONDS_THRESHOLD:
                value[key] = item // 1000
            else:
                _fix_dates(item)
    elif isinstance(value, list):
        for item in value:
            _fix_dates(item)
    return value


def _edited_message(params: dict[str, Any]) -> dict[str, Any] | bool:
    """What Telegram returns for an edit: the Message for chat messages, True for inline ones.
    The emulator keeps the edit but answers null, so rebuild the Message from the request."""
    if "inline_message_id" in params or "message_id" not in params:
        return True
    chat_id = params.get("chat_id")
    try:
        chat: dict[str, Any] = {"id": int(chat_id), "type": "private"}  # type: ignore[arg-type]
    except (TypeError, ValueError):
        chat = {"id": 0, "type": "channel", "username": str(chat_id).lstrip("@")}
    now = int(time.time())
    message: dict[str, Any] = {
        "message_id": int(params["message_id"]),
        "date": now,
        "edit_date": now,
        "chat": chat,
    }
    for key in ("text", "caption", "reply_markup", "entities"):
        if key in params:
            message[key] = params[key]
    return message


def repair_response(
    bot_method: str, code: int, payload: bytes, params: dict[str, Any]
) -> tuple[int, bytes]:
    """Turn one telegram-test-api answer into what the real Bot API would have sent."""
    try:
        body = json.loads(payload)
    except ValueError:
        return code, payload
    if not isinstance(body, dict):
        return code, payload

    if code != 200:
        if "description" not in body:
            body = {
                "ok": False,
                "error_code": code,
                "description": f"telegram-test-api: {body.get('message', payload.decode())}",
            }
        return code, json.dumps(body).encode()

    if body.get("ok") is False:
        return int(body.get("error_code") or 400), payload

    method = bot_method.lower()
    result = body.get("result")
    if result is None:
        result = _edited_message(params) if method in _EDIT_METHODS else True
    if method == "getme" and isinstance(result, dict):
        result.setdefault("is_bot", True)
    if method == "getupdates" and isinstance(result, list):
        for update in result:
            query = update.get("callback_query")
            if isinstance(query, dict):
                chat = (query.get("message") or {}).get("chat") or {}
                query.setdefault("chat_instance", f"emulator-{chat.get('id', 0)}")
    body["result"] = _fix_dates(result)
    return 200, json.dumps(body).encode()


class EmulatorHTTPXRequest(HTTPXRequest):
    """``HTTPXRequest`` that makes telegram-test-api's answers acceptable to PTB 22."""

    def __init__(self, **kwargs: Any) -> None:
        # The emulator is on 127.0.0.1: never send that through a proxy from the environment.
        kwargs.setdefault("httpx_kwargs", {"trust_env": False})
        super().__init__(**kwargs)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(
            url,
            method,
            request_data=request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        params = request_data.parameters if request_data is not None else {}
        return repair_response(url.rsplit("/", 1)[-1], code, payload, params)


def emulator_app_builder(token: str, emulator_url: str) -> ApplicationBuilder:
    """An ``ApplicationBuilder`` wired to the emulator; add handlers/persistence, ``.build()``."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{emulator_url}/bot")
        .base_file_url(f"{emulator_url}/file/bot")
        .request(EmulatorHTTPXRequest())
        .get_updates_request(EmulatorHTTPXRequest())
    )


def build_test_application(
    token: str, emulator_url: str, handlers: Iterable[BaseHandler[Any, Any, Any]] = ()
) -> Application[Any, Any, Any, Any, Any, Any]:
    """A built ``Application`` on the emulator with ``handlers`` added (group 0)."""
    application = emulator_app_builder(token, emulator_url).build()
    for handler in handlers:
        application.add_handler(handler)
    return application


def build_test_bot(token: str, emulator_url: str) -> Bot:
    """A plain ``Bot`` on the emulator (use as ``async with bot:``)."""
    return Bot(
        token,
        base_url=f"{emulator_url}/bot",
        base_file_url=f"{emulator_url}/file/bot",
        request=EmulatorHTTPXRequest(),
        get_updates_request=EmulatorHTTPXRequest(),
    )


@asynccontextmanager
async def running_application(
    application: Application[Any, Any, Any, Any, Any, Any], poll_interval: float = 0.05
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Initialize, poll and start ``application``; stop and shut it down afterwards.

    The emulator ignores getUpdates' offset/timeout and answers at once, so poll with a short
    interval and ``timeout=0`` instead of long polling.
    """
    async with application:
        updater = application.updater
        if updater is None:
            raise RuntimeError("application was built without an Updater")
        await updater.start_polling(poll_interval=poll_interval, timeout=0)
        await application.start()
        try:
            yield application
        finally:
            await updater.stop()
            await application.stop()
