"""Handlers for everyone: /start (linking), /help, /language, and written messages that no other
handler takes (they get what the bot can do, never silence)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.landlords import texts as t
from bot.landlords.flow import InvalidChoice, set_language
from bot.landlords.invites import CASEWORKER_PREFIX, RedeemOutcome, link_caseworker, redeem_invite
from bot.telegram_bot.common import Context, deps, identify, ids, in_db, landlord_keyboard, reply


async def start(update: Update, context: Context) -> None:
    payload = (context.args or [""])[0].strip() if context.args else ""
    if payload.startswith(CASEWORKER_PREFIX):
        await _link_caseworker(update, context, payload)
        return
    who = await identify(update, context)
    if not payload:
        if who.landlord_id:
            await reply(update, t.welcome_back(who.lang, who.name),
                        reply_markup=landlord_keyboard(who.lang))
        elif who.caseworker_id:
            await reply(update, t.caseworker_help(who.lang))
        else:
            await reply(update, t.not_linked(who.lang))
        return
    user_id, chat_id = ids(update)
    now = deps(context).clock()

    def redeem(session: Session) -> tuple[RedeemOutcome, str, str]:
        result = redeem_invite(session, payload, user_id=user_id, chat_id=chat_id, now=now)
        landlord = result.landlord
        return (result.outcome, landlord.name if landlord else "",
                landlord.language if landlord else who.lang)

    outcome, name, lang = await in_db(context, redeem)
    if outcome == RedeemOutcome.LINKED:
        await reply(update, t.linked_welcome(lang, name), reply_markup=landlord_keyboard(lang))
    elif outcome == RedeemOutcome.EXPIRED:
        await reply(update, t.invite_expired(who.lang))
    elif outcome == RedeemOutcome.USED:
        await reply(update, t.invite_used(who.lang))
    else:
        await reply(update, t.invite_unknown(who.lang))


async def _link_caseworker(update: Update, context: Context, payload: str) -> None:
    _, chat_id = ids(update)
    fallback = (await identify(update, context)).lang

    def link(session: Session) -> tuple[str, str] | None:
        caseworker = link_caseworker(session, payload, chat_id)
        return (caseworker.name, caseworker.language) if caseworker else None

    linked = await in_db(context, link)
    if linked is None:
        await reply(update, t.caseworker_link_invalid(fallback))
    else:
        await reply(update, t.caseworker_linked(linked[1], linked[0]))


async def help_command(update: Update, context: Context) -> None:
    who = await identify(update, context)
    if who.landlord_id:
        await reply(update, t.help_landlord(who.lang), reply_markup=landlord_keyboard(who.lang))
    elif who.caseworker_id:
        await reply(update, t.caseworker_help(who.lang))
    else:
        await reply(update, t.help_unlinked(who.lang))


async def language(update: Update, context: Context) -> None:
    who = await identify(update, context)
    if not (who.landlord_id or who.caseworker_id):
        await reply(update, t.not_linked(who.lang))
        return
    await reply(update, t.choose_language(who.lang), reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("Dansk", callback_data="lang:da"),
          InlineKeyboardButton("English", callback_data="lang:en")]]))


async def chose_language(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    lang = (query.data or "").removeprefix("lang:")
    user_id, chat_id = ids(update)

    def store(session: Session) -> bool:
        try:
            return set_language(session, user_id, chat_id, lang)
        except InvalidChoice:
            return False

    stored = await in_db(context, store)
    await query.answer()
    who = await identify(update, context)
    if not stored:
        await reply(update, t.not_linked(who.lang))
        return
    await query.edit_message_text(t.language_set(lang), reply_markup=None)
    if who.landlord_id:
        # A fresh keyboard, so the buttons are in the new language too.
        await reply(update, t.help_landlord(lang), reply_markup=landlord_keyboard(lang))


async def anything_else(update: Update, context: Context) -> None:
    """Text or an unknown command outside a report ("hej, er der nogen?"): what the bot can do,
    with the buttons; nobody reads messages written to the bot."""
    who = await identify(update, context)
    if who.landlord_id:
        await reply(update, t.free_text_outside(who.lang),
                    reply_markup=landlord_keyboard(who.lang))
    elif who.caseworker_id:
        await reply(update, t.caseworker_help(who.lang))
    else:
        await reply(update, t.not_linked(who.lang))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [CommandHandler("start", start), CommandHandler("help", help_command),
            CommandHandler("language", language),
            CallbackQueryHandler(chose_language, pattern=r"^lang:")]


def last_resort() -> list[BaseHandler[Any, Any, Any]]:
    """Registered after every other handler: only what nothing else took reaches it."""
    return [MessageHandler(filters.TEXT | filters.COMMAND, anything_else)]
