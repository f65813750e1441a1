"""Telegram Bot API channel for the outbox dispatcher (sync; plain HTTPS with httpx).

Limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about 30 messages/s overall, handled by the dispatcher's send-rate cap (``RATE_PER_SECOND``,
shared by all workers through the database, counted per bot: ``sender`` is the bot id), and about
1 message/s per chat, handled here: a send to a chat that got a message less than
``PER_CHAT_INTERVAL`` ago waits for the rest of that second. A dispatcher never has two messages
to one chat in flight, so the wait is at most one second and only for bursts to the same chat
(e.g. several alerts to one caseworker). Across processes Telegram's own 429 with ``retry_after`` is
the backstop for the per-chat limit: it becomes a TransientError and the row waits that long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx

from bot.channels.base import OutgoingMessage, PermanentError, TransientError

DEFAULT_API_URL = "https://api.telegram.org"
RATE_PER_SECOND = 25.0  # below Telegram's ~30/s, leaving room for the bot's own replies
PER_CHAT_INTERVAL = 1.0
MAX_TEXT = 4096  # Telegram's limit for one message
# PermanentError codes for a chat that every later send fails on as well: the user blocked the
# bot (403), or Telegram no longer knows the chat (400 "chat not found": the account was deleted,
# or the id was never a chat with this bot). bot.delivery.failures stops sending to it.
BLOCKED = "403"
CHAT_NOT_FOUND = "chat_not_found"
CHAT_GONE = frozenset({BLOCKED, CHAT_NOT_FOUND})


def inline_keyboard(buttons: list[list[dict[str, str]]]) -> dict[str, Any]:
    """``[[{"text", "data"}]]`` from an outbox payload -> Bot API ``reply_markup``."""
    return {"inline_keyboard": [[{"text": b["text"], "callback_data": b["data"]} for b in row]
                                for row in buttons]}


class TelegramChannel:
    name: ClassVar[str] = "telegram"

    def __init__(self, bot_token: str, api_url: str | None = None, *,
                 client: httpx.Client | None = None, timeout: float = 10.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._url = f"{(api_url or DEFAULT_API_URL).rstrip('/')}/bot{bot_token}/sendMessage"
        self.sender = bot_token.split(":", 1)[0]  # the bot id, never the secret part
        self._client = client or httpx.Client(timeout=timeout)
        self._clock = clock
        self._sleep = sleep
        self._last_by_chat: dict[str, float] = {}
        self._lock = threading.Lock()  # the dispatcher's send threads share the channel

    def _space(self, chat: str) -> None:
        with self._lock:  # reserve this chat's next moment, then wait for it outside the lock
            now = self._clock()
            last = self._last_by_chat.get(chat)
            at = now if last is None else max(now, last + PER_CHAT_INTERVAL)
            self._last_by_chat[chat] = at
            if len(self._last_by_chat) > 10_000:  # forget old chats; only the last second counts
                self._last_by_chat = {chat: at}
        if at > now:
            self._sleep(at - now)

    def send(self, message: OutgoingMessage) -> str:
        chat = message.recipient.strip()
        if not chat.lstrip("-").isdigit():
            raise PermanentError(f"not a Telegram chat id: {chat!r}", code="400")
        body: dict[str, Any] = {"chat_id": int(chat), "text": message.body[:MAX_TEXT]}
        buttons = message.payload.get("buttons")
        if buttons:
            body["reply_markup"] = inline_keyboard(buttons)
        self._space(chat)
        try:
            response = self._client.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise TransientError(f"Telegram unreachable: {type(exc).__name__}: {exc}") from exc
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        # Telegram reports errors with a 4xx/5xx; some proxies answer 200 with ok=false.
        code = response.status_code
        if data.get("ok") is False and code == 200:
            code = int(data.get("error_code") or 400)
        description = str(data.get("description") or response.text[:200])
        if code == 429:
            retry_after = (data.get("parameters") or {}).get("retry_after")
            raise TransientError(f"Telegram rate limit: {description}",
                                 retry_after=float(retry_after) if retry_after else None)
        if code == 403:
            raise PermanentError(f"Telegram refused (blocked or kicked): {description}",
                                 code=BLOCKED)
        if code == 400 and "chat not found" in description.lower():
            raise PermanentError(f"Telegram cannot find the chat: {description}",
                                 code=CHAT_NOT_FOUND)
        if code >= 500:
            raise TransientError(f"Telegram HTTP {code}: {description}")
        if code >= 400:
            raise PermanentError(f"Telegram HTTP {code}: {description}", code=str(code))
        result = data.get("result") or {}
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if message_id is None:
            raise TransientError(f"Telegram answered without a message id: {response.text[:200]}")
        return f"{chat}:{message_id}"


def bot_api(token: str, api_url: str | None, method: str, params: dict[str, Any] | None = None,
            *, client: httpx.Client | None = None) -> Any:
    """One Bot API call for the command line (getMe, setWebhook, ...); raises with the reason."""
    url = f"{(api_url or DEFAULT_API_URL).rstrip('/')}/bot{token}/{method}"
    own = client is None
    client = client or httpx.Client(timeout=10.0)
    try:
        response = client.post(url, json=params or {})
    except httpx.HTTPError as exc:
        raise RuntimeError(f"Telegram {method}: cannot reach {api_url or DEFAULT_API_URL}: "
                           f"{exc}") from exc
    finally:
        if own:
            client.close()
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code != 200 or not isinstance(data, dict) or data.get("ok") is False:
        description = data.get("description") if isinstance(data, dict) else None
        raise RuntimeError(f"Telegram {method} failed (HTTP {response.status_code}): "
                           f"{description or response.text[:200]}")
    return data.get("result")


MAX_FILE_BYTES = 10 * 1024 * 1024  # a landlord's photo; anything bigger is not shown inline
_IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png", b"RIFF": "image/webp",
                b"GIF8": "image/gif"}


def download_file(token: str, api_url: str | None, file_id: str, *,
                  client: httpx.Client | None = None) -> tuple[bytes, str]:
    """A file a user sent the bot (a landlord's photo): its bytes and image type.

    Raises RuntimeError with the reason when Telegram refuses, the file is too big, or it is not
    an image (the dashboard then says the photo cannot be shown; it never serves other types).
    """
    info = bot_api(token, api_url, "getFile", {"file_id": file_id}, client=client)
    path = info.get("file_path") if isinstance(info, dict) else None
    if not path:
        raise RuntimeError("Telegram getFile gave no file_path")
    if int(info.get("file_size") or 0) > MAX_FILE_BYTES:
        raise RuntimeError("the file is too big to show")
    url = f"{(api_url or DEFAULT_API_URL).rstrip('/')}/file/bot{token}/{path}"
    own = client is None
    client = client or httpx.Client(timeout=10.0)
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise RuntimeError(f"Telegram file download failed: {exc}") from exc
    finally:
        if own:
            client.close()
    data = response.content
    if response.status_code != 200 or len(data) > MAX_FILE_BYTES:
        raise RuntimeError(f"Telegram file download failed (HTTP {response.status_code})")
    kind = next((t for magic, t in _IMAGE_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise RuntimeError("the file is not an image")
    return data, kind
