"""python-telegram-bot persistence over the ``bot_state`` table (model BotState).

Kept: user data (the landlord's concern draft) and ConversationHandler states, so a restart or a
different web process continues a conversation where it stopped. Not kept: chat data, bot data
and callback data (unused). Every write goes straight to the database (``flush`` has nothing
left to do), and ``refresh_user_data`` / ``conversation_state`` read the current row before each
update, so several processes can serve the same bot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.core.db import transaction
from bot.landlords.flow import USER_DATA_NAMESPACE
from bot.models import BotState, utcnow

T = TypeVar("T")
USER_DATA = USER_DATA_NAMESPACE


def conversation_namespace(name: str) -> str:
    return f"conversation:{name}"  # "conversation:concern" == CONVERSATION_NAMESPACE


def _key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


class DbPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(self, sessions: sessionmaker[Session], update_interval: float = 60) -> None:
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=False,
                                                     user_data=True, callback_data=False),
                         update_interval=update_interval)
        self._sessions = sessions

    # -- plumbing: sync SQLAlchemy in a worker thread, so the bot's event loop never blocks

    async def _db(self, fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with transaction(self._sessions) as session:
                return fn(session)

        return await asyncio.to_thread(run)

    def _read(self, session: Session, namespace: str, key: str) -> Any:
        return session.scalar(select(BotState.data).where(BotState.namespace == namespace,
                                                          BotState.key == key))

    def _write(self, namespace: str, key: str, data: Any) -> None:
        def upsert(session: Session) -> None:
            row = session.scalar(select(BotState).where(BotState.namespace == namespace,
                                                        BotState.key == key))
            if data is None:
                if row is not None:
                    session.delete(row)
                return
            if row is None:
                session.add(BotState(namespace=namespace, key=key, data=data,
                                     updated_at=utcnow()))
            else:
                row.data = data
                row.updated_at = utcnow()

        try:
            with transaction(self._sessions) as session:
                upsert(session)
        except IntegrityError:  # another process inserted the same key first: update it
            with transaction(self._sessions) as session:
                upsert(session)

    async def _write_async(self, namespace: str, key: str, data: Any) -> None:
        await asyncio.to_thread(self._write, namespace, key, data)

    # -- what is kept

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        rows = await self._db(lambda s: list(s.execute(
            select(BotState.key, BotState.data).where(BotState.namespace == USER_DATA))))
        return {int(key): dict(data or {}) for key, data in rows}

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        await self._write_async(USER_DATA, str(user_id), dict(data) if data else None)

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        stored = await self._db(lambda s: self._read(s, USER_DATA, str(user_id)))
        user_data.clear()
        user_data.update(stored or {})

    async def drop_user_data(self, user_id: int) -> None:
        await self._write_async(USER_DATA, str(user_id), None)

    async def get_conversations(self, name: str) -> ConversationDict:
        namespace = conversation_namespace(name)
        rows = await self._db(lambda s: list(s.execute(
            select(BotState.key, BotState.data).where(BotState.namespace == namespace))))
        return {tuple(json.loads(key)): data for key, data in rows}

    async def conversation_state(self, name: str, key: ConversationKey) -> object | None:
        """The stored state of one conversation (read before each update)."""
        return await self._db(lambda s: self._read(s, conversation_namespace(name), _key(key)))

    async def update_conversation(self, name: str, key: ConversationKey,
                                  new_state: object | None) -> None:
        await self._write_async(conversation_namespace(name), _key(key), new_state)

    # -- what is not kept

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None  # every write above is already committed
