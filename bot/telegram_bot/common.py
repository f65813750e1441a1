"""Shared plumbing for the bot's handlers: who is writing, their language, database access."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.casework.queries import caseworker_by_chat
from bot.core.db import transaction
from bot.core.i18n import normalize_lang
from bot.landlords import texts as t
from bot.landlords.flow import landlord_by_user
from bot.models import Landlord, utcnow

T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE
DEPS_KEY = "trygthjem"


@dataclass
class BotDeps:
    """What handlers need besides Telegram: the database and a clock (tests replace it)."""

    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = field(default=utcnow)


@dataclass(frozen=True)
class Who:
    """The person behind a chat, as plain values (no ORM objects leave the session)."""

    lang: str
    landlord_id: int | None = None
    caseworker_id: int | None = None
    name: str = ""


def deps(context: Context) -> BotDeps:
    value: BotDeps = context.application.bot_data[DEPS_KEY]
    return value


async def in_db(context: Context, fn: Callable[[Session], T]) -> T:
    """Run ``fn(session)`` in one transaction in a worker thread; the event loop stays free."""
    sessions = deps(context).sessions

    def run() -> T:
        with transaction(sessions) as session:
            return fn(session)

    return await asyncio.to_thread(run)


def ids(update: Update) -> tuple[int, int]:
    user = update.effective_user
    chat = update.effective_chat
    return (user.id if user else 0), (chat.id if chat else 0)


async def identify(update: Update, context: Context) -> Who:
    user_id, chat_id = ids(update)
    fallback = normalize_lang(update.effective_user.language_code
                              if update.effective_user else None)

    def look(session: Session) -> Who:
        landlord = landlord_by_user(session, user_id)
        if landlord is not None:
            if landlord.telegram_chat_id != chat_id or not landlord.telegram_active:
                # Writing to us again after a block (403) or from a new chat: deliver here again.
                landlord.telegram_chat_id = chat_id
                landlord.telegram_active = True
            return Who(landlord.language, landlord_id=landlord.id, name=landlord.name)
        caseworker = caseworker_by_chat(session, chat_id)
        if caseworker is not None:
            return Who(caseworker.language, caseworker_id=caseworker.id, name=caseworker.name)
        return Who(fallback)

    return await in_db(context, look)


async def linked_landlord(update: Update, context: Context) -> Who | None:
    """Who is writing, if a linked landlord; anyone else is told how to link, and gets None."""
    who = await identify(update, context)
    if who.landlord_id is None:
        await reply(update, t.not_linked(who.lang))
        return None
    return who


def load_landlord(session: Session, who: Who) -> Landlord:
    landlord = session.get(Landlord, who.landlord_id)
    assert landlord is not None
    return landlord


def landlord_keyboard(lang: str) -> ReplyKeyboardMarkup:
    """The persistent buttons under the landlord's text field."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t.NEW_CONCERN_BUTTON[lang]), KeyboardButton(t.MINE_BUTTON[lang])]],
        resize_keyboard=True, is_persistent=True)


async def reply(update: Update, text: str, **kwargs: Any) -> None:
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(text, **kwargs)
