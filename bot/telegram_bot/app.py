"""The one PTB Application for landlords and caseworkers, and how it runs.

Handlers are grouped by role (general.py, landlord.py, caseworker.py). Around them:
- group -1 ``sync_conversation``: before every update, read this chat's conversation state from
  the database (another process, or this one before a restart, may have moved it on) and end a
  report that was abandoned longer than the timeout (the in-memory timeout job does not survive
  a restart).
- group 99 ``save_now``: after every update, write user data and conversation states to the
  database at once, instead of PTB's periodic flush, so a crash loses nothing.

Modes: ``run_polling`` (development, `trygthjem bot`) and ``BotRunner`` (webhook: a background
event loop thread per web process, fed by the Flask blueprint).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    ConversationHandler,
    TypeHandler,
)

from bot.alerts.routing import Delivery
from bot.core.logs import get_logger
from bot.landlords.flow import Draft
from bot.landlords.texts import timed_out
from bot.models import utcnow
from bot.telegram_bot import caseworker, general, landlord
from bot.telegram_bot.common import DEPS_KEY, BotDeps, Context, identify, ids, reply
from bot.telegram_bot.landlord import CONVERSATION_NAME, DRAFT
from bot.telegram_bot.persistence import DbPersistence

log = get_logger(__name__)
DEFAULT_API_URL = "https://api.telegram.org"
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


AnyBuilder = ApplicationBuilder[Any, Any, Any, Any, Any, Any]


def builder_for(token: str, api_url: str | None = None) -> AnyBuilder:
    base = (api_url or DEFAULT_API_URL).rstrip("/")
    return ApplicationBuilder().token(token).base_url(f"{base}/bot").base_file_url(
        f"{base}/file/bot")


def _conversation(application: AnyApplication) -> ConversationHandler[Any]:
    for handler in application.handlers.get(0, []):
        if isinstance(handler, ConversationHandler) and handler.name == CONVERSATION_NAME:
            return handler
    raise RuntimeError("the concern conversation is not registered")


async def sync_conversation(update: Update, context: Context) -> None:
    application = context.application
    persistence = application.persistence
    if not isinstance(persistence, DbPersistence) or update.effective_chat is None:
        return
    user_id, chat_id = ids(update)
    key = (chat_id, user_id)
    conversation = _conversation(application)
    state = await persistence.conversation_state(CONVERSATION_NAME, key)
    conversations = conversation._conversations  # PTB keeps no public setter for one key
    if state is None:
        conversations.pop(key, None)
        return
    draft = Draft.from_dict((context.user_data or {}).get(DRAFT))
    now = context.application.bot_data[DEPS_KEY].clock()
    if draft.is_stale(now):
        conversations.pop(key, None)
        if context.user_data is not None:
            context.user_data.pop(DRAFT, None)
        who = await identify(update, context)
        await reply(update, timed_out(who.lang))
        message = update.effective_message
        if message is not None and message.text and not message.text.startswith("/"):
            # The words belonged to the ended report: "timed out" is the whole answer, not
            # also the bot's help text. Commands (/concern) still go on to their handler.
            await save_now(update, context)
            raise ApplicationHandlerStop
        return
    conversations[key] = state


async def save_now(update: Update, context: Context) -> None:
    user_id, chat_id = ids(update)
    context.application.mark_data_for_update_persistence(chat_ids=chat_id, user_ids=user_id)
    await context.application.update_persistence()


def configure(builder: AnyBuilder,
              sessions: sessionmaker[Session],
              clock: Callable[[], datetime] = utcnow,
              delivery: Delivery | None = None) -> AnyApplication:
    """Add persistence and every handler to ``builder``'s Application."""
    application: AnyApplication = builder.persistence(DbPersistence(sessions)).build()
    application.bot_data[DEPS_KEY] = BotDeps(sessions, clock, delivery)
    application.add_handler(TypeHandler(Update, sync_conversation), group=-1)
    # Order matters inside group 0: the conversation first, so /cancel and its buttons reach it.
    for handler in [*landlord.handlers(), *general.handlers(), *caseworker.handlers(),
                    *general.last_resort()]:
        application.add_handler(handler)
    application.add_handler(TypeHandler(Update, save_now), group=99)
    application.add_error_handler(_log_error)
    return application


def build_application(sessions: sessionmaker[Session], token: str,
                      api_url: str | None = None,
                      delivery: Delivery | None = None) -> AnyApplication:
    return configure(builder_for(token, api_url), sessions, delivery=delivery)


async def _log_error(update: object, context: Context) -> None:
    log.error("telegram.handler_failed", error=repr(context.error),
              update_id=getattr(update, "update_id", None))


class BotRunner:
    """Runs an Application on its own event loop in a daemon thread (one per web process).

    ``submit`` hands over one update (the Bot API JSON) and returns a Future; updates are
    processed one at a time, in arrival order, so two quick messages from one chat cannot race.
    """

    def __init__(self, application: AnyApplication) -> None:
        self.application = application
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="telegram-bot")
        self._lock: asyncio.Lock | None = None
        self._started = False

    def start(self, timeout: float = 30.0) -> None:
        if self._started:
            return
        self._thread.start()
        self._call(self._start(), timeout)
        self._started = True

    async def _start(self) -> None:
        self._lock = asyncio.Lock()
        await self.application.initialize()
        await self.application.start()

    def _call(self, coro: Any, timeout: float | None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def submit(self, data: dict[str, Any]) -> concurrent.futures.Future[None]:
        self.start()
        return asyncio.run_coroutine_threadsafe(self._process(data), self._loop)

    async def _process(self, data: dict[str, Any]) -> None:
        assert self._lock is not None
        update = Update.de_json(data, self.application.bot)
        async with self._lock:
            await self.application.process_update(update)

    def run(self, coro_factory: Callable[[AnyApplication], Any], timeout: float = 30.0) -> Any:
        """Run ``coro_factory(application)`` on the bot's loop (e.g. set_webhook)."""
        self.start()
        return self._call(coro_factory(self.application), timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._started:
            async def _stop() -> None:
                await self.application.stop()
                await self.application.shutdown()

            self._call(_stop(), timeout)
            self._started = False
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread.is_alive():
            self._thread.join(timeout)
