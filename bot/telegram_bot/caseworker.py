"""Caseworker handlers: Acknowledge / Resolve buttons under alert notifications.

Notifications are sent by the outbox (channel "telegram", payload buttons with data
``alert:<id>:e<epoch>:ack|resolve``); pressing one lands here. Linking is ``/start cw-<code>``
(general.py). A button from an earlier escalation of the case acts on nothing: the bot says the
case has news since, under the old message too, whose buttons go (they never work again).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.alerts.texts import alert_url
from bot.casework.alert_buttons import ButtonOutcome, press
from bot.landlords import texts as t
from bot.telegram_bot.common import Context, deps, identify, ids, in_db


async def alert_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    _, chat_id = ids(update)
    who = await identify(update, context)

    message_id = query.message.message_id if query.message is not None else None

    def act(session: Session) -> tuple[ButtonOutcome, str, str, int | None]:
        result = press(session, chat_id, query.data or "", message_id=message_id)
        name = result.caseworker.name if result.caseworker else ""
        return result.outcome, result.action, name, result.alert_id

    outcome, action, name, alert_id = await in_db(context, act)
    if outcome in (ButtonOutcome.NOT_ALLOWED, ButtonOutcome.INVALID):
        await query.answer(t.alert_not_allowed(who.lang), show_alert=True)
        return
    if outcome == ButtonOutcome.NOT_FOUND:
        await query.answer(t.alert_not_found(who.lang), show_alert=True)
        return
    if outcome == ButtonOutcome.ALREADY:
        await query.answer(t.alert_already(who.lang))
        return
    original = getattr(query.message, "text", None) or ""
    if outcome == ButtonOutcome.STALE:
        await query.answer(t.alert_stale(who.lang), show_alert=True)
        if original and alert_id is not None:  # an inaccessible (deleted) message has no text
            delivery = deps(context).delivery
            base = delivery.settings.public_base_url if delivery is not None else None
            note = t.alert_stale_note(who.lang, alert_url(base, alert_id) if base else None)
            await query.edit_message_text(f"{original}\n\n⚠ {note}", reply_markup=None)
        return
    await query.answer()
    done = t.alert_acted(who.lang, action, name)
    # After "acknowledge" the Resolve button stays useful; after "resolve" nothing is left.
    markup = None
    if action == "ack" and query.message is not None:
        keyboard = getattr(query.message, "reply_markup", None)
        rows = keyboard.inline_keyboard if keyboard is not None else ()
        kept = [[b for b in row if (b.callback_data or "").endswith(":resolve")] for row in rows]
        kept = [row for row in kept if row]
        if kept:
            markup = InlineKeyboardMarkup(kept)
    await query.edit_message_text(f"{original}\n\n✓ {done}", reply_markup=markup)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [CallbackQueryHandler(alert_button, pattern=r"^alert:")]
