"""Landlord handlers: the guided concern report (ConversationHandler); /mine is in landlord_mine.

Steps: home -> category -> urgency -> description -> optional photo -> summary (Confirm / Edit /
Cancel). "No sign of life" is always urgent: it skips the urgency question and tells the landlord
to call 112 if they fear for the tenant's life before the remaining steps. Each pressed button's
message is edited to show the choice (so old buttons cannot be pressed again) and the next step
comes as a new message. ``/cancel`` and the Cancel button work in every step; an abandoned
report is ended by the worker (bot.landlords.flow.expire_abandoned) and, on the next update, by
``sync_conversation`` in app.py.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.core.logs import get_logger
from bot.landlords import texts as t
from bot.landlords.flow import (
    CATEGORIES,
    DRAFT_KEY,
    MAX_DESCRIPTION,
    URGENCIES,
    Draft,
    InvalidChoice,
    Receipt,
    check_category,
    check_description,
    check_urgency,
    own_home,
    own_homes,
    report_concern,
)
from bot.models.enums import LandlordCategory, LandlordUrgency
from bot.telegram_bot.common import (
    Context,
    deps,
    identify,
    in_db,
    landlord_keyboard,
    linked_landlord,
    load_landlord,
    reply,
)
from bot.telegram_bot.landlord_mine import cancel_outside, mine

log = get_logger(__name__)

CONVERSATION_NAME = "concern"
HOME, CATEGORY, URGENCY, DESCRIPTION, PHOTO, CONFIRM = range(6)
END = ConversationHandler.END
DRAFT = DRAFT_KEY

# The reply-keyboard buttons, in both languages (the keyboard may predate a language switch).
NEW_CONCERN = filters.Regex(
    "^(" + "|".join(re.escape(v) for v in t.NEW_CONCERN_BUTTON.values()) + ")$")
MINE = filters.Regex("^(" + "|".join(re.escape(v) for v in t.MINE_BUTTON.values()) + ")$")
FREE_TEXT = filters.TEXT & ~filters.COMMAND & ~NEW_CONCERN & ~MINE
IMAGE = filters.PHOTO | filters.Document.IMAGE


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _cancel_row(lang: str) -> list[InlineKeyboardButton]:
    return [_button(t.cancel_button(lang), "c:cancel")]


def _draft(context: Context) -> Draft:
    return Draft.from_dict(context.user_data.get(DRAFT) if context.user_data else None)


def _save(context: Context, draft: Draft) -> None:
    draft.touch(deps(context).clock())
    if context.user_data is not None:
        context.user_data[DRAFT] = draft.to_dict()


def _clear(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)


async def _close_buttons(update: Update, chosen: str | None = None) -> None:
    """Answer the press, replace its message's buttons by the choice: best effort (Telegram
    refuses a press answered late), never what decides a step."""
    query, text = update.callback_query, getattr(update.effective_message, "text", None) or ""
    try:
        if query is not None:
            await query.answer()
            await query.edit_message_text(f"{text}\n✓ {chosen}" if chosen else text,
                                          reply_markup=None)
    except TelegramError as exc:
        log.warning("telegram.buttons_not_closed", error=repr(exc))


# -- steps


async def start(update: Update, context: Context) -> int:
    who = await linked_landlord(update, context)
    if who is None:
        return END
    homes = await in_db(context, lambda s: [(h.id, h.address) for h in
                                            own_homes(s, load_landlord(s, who))])
    if not homes:
        await reply(update, t.no_homes(who.lang))
        return END
    _save(context, Draft())
    await ask_home(update, who.lang, homes)
    return HOME


async def ask_home(update: Update, lang: str, homes: list[tuple[int, str]]) -> None:
    rows = [[_button(address, f"c:home:{home_id}")] for home_id, address in homes]
    await reply(update, t.choose_home(lang),
                reply_markup=InlineKeyboardMarkup([*rows, _cancel_row(lang)]))


async def chose_home(update: Update, context: Context) -> int:
    who = await linked_landlord(update, context)
    if who is None:
        return END
    value = (update.callback_query.data or "").removeprefix("c:home:")  # type: ignore[union-attr]

    def check(session: Session) -> tuple[int, str] | None:
        try:
            home = own_home(session, load_landlord(session, who), value)
        except InvalidChoice:
            return None
        return home.id, home.address

    home = await in_db(context, check)
    if home is None:
        # Forged or outdated button data: refuse and offer the landlord's own homes again.
        log.warning("telegram.forged_home", landlord_id=who.landlord_id, data=value)
        await update.callback_query.answer(t.home_not_yours(who.lang),  # type: ignore[union-attr]
                                           show_alert=True)
        homes = await in_db(context, lambda s: [(h.id, h.address) for h in
                                                own_homes(s, load_landlord(s, who))])
        await ask_home(update, who.lang, homes)
        return HOME
    draft = _draft(context)
    draft.home_id = home[0]
    _save(context, draft)
    await _close_buttons(update, home[1])
    rows = [[_button(t.category(who.lang, key), f"c:cat:{key}")] for key in CATEGORIES]
    await reply(update, t.choose_category(who.lang, home[1]),
                reply_markup=InlineKeyboardMarkup([*rows, _cancel_row(who.lang)]))
    return CATEGORY


async def chose_category(update: Update, context: Context) -> int:
    who = await identify(update, context)
    value = (update.callback_query.data or "").removeprefix("c:cat:")  # type: ignore[union-attr]
    try:
        category = check_category(value)
    except InvalidChoice:
        await update.callback_query.answer(t.stale_button(who.lang))  # type: ignore[union-attr]
        return CATEGORY
    draft = _draft(context)
    draft.category = category
    if category == LandlordCategory.NO_SIGN_OF_LIFE:
        # Always urgent, so no urgency question; and 112 comes before the remaining steps.
        draft.urgency = LandlordUrgency.URGENT_TODAY.value
        _save(context, draft)
        await _close_buttons(update, t.category(who.lang, category))
        await reply(update, t.no_sign_of_life_first(who.lang))
        await reply(update, t.ask_description(who.lang))
        return DESCRIPTION
    _save(context, draft)
    await _close_buttons(update, t.category(who.lang, category))
    rows = [[_button(t.urgency(who.lang, key), f"c:urg:{key}") for key in URGENCIES]]
    await reply(update, t.choose_urgency(who.lang),
                reply_markup=InlineKeyboardMarkup([*rows, _cancel_row(who.lang)]))
    return URGENCY


async def chose_urgency(update: Update, context: Context) -> int:
    who = await identify(update, context)
    value = (update.callback_query.data or "").removeprefix("c:urg:")  # type: ignore[union-attr]
    try:
        urgency = check_urgency(value)
    except InvalidChoice:
        await update.callback_query.answer(t.stale_button(who.lang))  # type: ignore[union-attr]
        return URGENCY
    draft = _draft(context)
    draft.urgency = urgency
    _save(context, draft)
    await _close_buttons(update, t.urgency(who.lang, urgency))
    await reply(update, t.ask_description(who.lang))
    return DESCRIPTION


async def got_description(update: Update, context: Context) -> int:
    who = await identify(update, context)
    text = update.effective_message.text if update.effective_message else None
    try:
        description = check_description(text)
    except InvalidChoice:
        too_long = len((text or "").strip()) > MAX_DESCRIPTION
        await reply(update, t.description_too_long(who.lang, MAX_DESCRIPTION) if too_long
                    else t.description_needed(who.lang))
        return DESCRIPTION
    draft = _draft(context)
    draft.description = description
    _save(context, draft)
    await reply(update, t.ask_photo(who.lang), reply_markup=InlineKeyboardMarkup(
        [[_button(t.skip_button(who.lang), "c:skip")], _cancel_row(who.lang)]))
    return PHOTO


def photo_file_id(update: Update) -> str | None:
    """The largest size of a photo, or an image sent as a file."""
    message = update.effective_message
    if message is None or message.photo:
        return message.photo[-1].file_id if message is not None else None
    if message.document and (message.document.mime_type or "").startswith("image/"):
        return message.document.file_id
    return None


async def got_photo(update: Update, context: Context) -> int:
    draft = _draft(context)
    draft.photo_file_id = photo_file_id(update)
    _save(context, draft)
    return await show_summary(update, context, draft)


async def skipped_photo(update: Update, context: Context) -> int:
    draft = _draft(context)
    draft.photo_file_id = None
    _save(context, draft)
    who = await identify(update, context)
    await _close_buttons(update, t.skip_button(who.lang))
    return await show_summary(update, context, draft)


async def photo_expected(update: Update, context: Context) -> int:
    who = await identify(update, context)
    await reply(update, t.photo_or_skip(who.lang), reply_markup=InlineKeyboardMarkup(
        [[_button(t.skip_button(who.lang), "c:skip")], _cancel_row(who.lang)]))
    return PHOTO


async def show_summary(update: Update, context: Context, draft: Draft) -> int:
    who = await linked_landlord(update, context)
    if who is None:
        return END

    def address(session: Session) -> str | None:
        try:
            return own_home(session, load_landlord(session, who), draft.home_id).address
        except InvalidChoice:
            return None

    home_address = await in_db(context, address)
    if home_address is None or draft.category is None or draft.urgency is None:
        await reply(update, t.concern_failed(who.lang))
        _clear(context)
        return END
    text = t.summary(who.lang, address=home_address, category_key=draft.category,
                     urgency_key=draft.urgency, description=draft.description or "",
                     has_photo=bool(draft.photo_file_id))
    await reply(update, text, reply_markup=_confirm_buttons(who.lang))
    return CONFIRM


def _confirm_buttons(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(t.confirm_button(lang), "c:confirm"),
                                  _button(t.edit_button(lang), "c:edit")], _cancel_row(lang)])


async def confirm(update: Update, context: Context) -> int:
    who = await linked_landlord(update, context)
    if who is None:
        return END
    draft, now = _draft(context), deps(context).clock()

    def submit(session: Session) -> Receipt:
        return report_concern(session, load_landlord(session, who), draft,
                              deps(context).delivery, now)

    try:
        receipt = await in_db(context, submit)
    except InvalidChoice as exc:
        log.warning("telegram.concern_invalid", landlord_id=who.landlord_id, error=str(exc))
        await _close_buttons(update, t.confirm_button(who.lang))
        await reply(update, t.concern_failed(who.lang), reply_markup=landlord_keyboard(who.lang))
        _clear(context)
        return END
    except Exception as exc:  # the database, or anything else: not saved, and they must know
        log.error("telegram.concern_not_saved", landlord_id=who.landlord_id, error=repr(exc),
                  exc_info=True)
        await _close_buttons(update)  # no "✓ Confirm": nothing was confirmed
        # The draft stays (still CONFIRM): one press sends it again, buttons on the newest line.
        await reply(update, t.concern_not_saved(who.lang),
                    reply_markup=_confirm_buttons(who.lang))
        return CONFIRM
    # Only now, with the concern committed, does the pressed button say it was confirmed; the
    # draft goes and the receipt is sent whatever Telegram made of the press.
    _clear(context)
    await _close_buttons(update, t.confirm_button(who.lang))
    await reply(update, t.concern_received(who.lang, receipt.reference, told=receipt.told,
                                           waits=receipt.waits),
                reply_markup=landlord_keyboard(who.lang))
    return END


async def edit(update: Update, context: Context) -> int:
    who = await linked_landlord(update, context)
    if who is None:
        return END
    await _close_buttons(update, t.edit_button(who.lang))
    homes = await in_db(context, lambda s: [(h.id, h.address) for h in
                                            own_homes(s, load_landlord(s, who))])
    _save(context, _draft(context))
    await ask_home(update, who.lang, homes)
    return HOME


async def cancel(update: Update, context: Context) -> int:
    who = await identify(update, context)
    if update.callback_query is not None:
        await _close_buttons(update, t.cancel_button(who.lang))
    _clear(context)
    keyboard = landlord_keyboard(who.lang) if who.landlord_id else None
    await reply(update, t.cancelled(who.lang), reply_markup=keyboard)
    return END


async def stale_button(update: Update, context: Context) -> None:
    who = await identify(update, context)
    await update.callback_query.answer(t.stale_button(who.lang))  # type: ignore[union-attr]


async def use_the_buttons(update: Update, context: Context) -> None:
    """Text where a button press is expected: repeat nothing, just say how to go on."""
    who = await identify(update, context)
    await reply(update, t.use_buttons(who.lang))


def concern_conversation() -> ConversationHandler[Any]:
    entry = [CommandHandler("concern", start), MessageHandler(NEW_CONCERN, start)]
    with warnings.catch_warnings():
        # PTB warns that per_message=False does not track button presses per message; that is
        # intended: one report per chat at a time, and pressed buttons are removed (above).
        warnings.filterwarnings("ignore", message="If 'per_message=False'",
                                category=PTBUserWarning)
        return _conversation(entry)


def _conversation(entry: list[BaseHandler[Any, Any, Any]]) -> ConversationHandler[Any]:
    return ConversationHandler(
        entry_points=entry,
        states={
            HOME: [CallbackQueryHandler(chose_home, pattern=r"^c:home:")],
            CATEGORY: [CallbackQueryHandler(chose_category, pattern=r"^c:cat:")],
            URGENCY: [CallbackQueryHandler(chose_urgency, pattern=r"^c:urg:")],
            DESCRIPTION: [MessageHandler(FREE_TEXT, got_description),
                          MessageHandler(IMAGE, got_description)],
            PHOTO: [MessageHandler(IMAGE, got_photo),
                    CallbackQueryHandler(skipped_photo, pattern=r"^c:skip$"),
                    MessageHandler(FREE_TEXT, photo_expected)],
            CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^c:confirm$"),
                      CallbackQueryHandler(edit, pattern=r"^c:edit$")],
        },
        fallbacks=[CommandHandler("cancel", cancel),
                   CallbackQueryHandler(cancel, pattern=r"^c:cancel$"),
                   CallbackQueryHandler(stale_button, pattern=r"^c:"),
                   MessageHandler(FREE_TEXT, use_the_buttons)],
        name=CONVERSATION_NAME, persistent=True, allow_reentry=True,
        # No PTB conversation_timeout: its in-memory job is lost on restart and, with several
        # web processes, could end another process's conversation. The worker's job
        # (bot.landlords.flow.expire_abandoned) ends abandoned reports, app.sync_conversation
        # any it has not reached yet.
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [concern_conversation(), CommandHandler("mine", mine), MessageHandler(MINE, mine),
            CommandHandler("cancel", cancel_outside),
            # Buttons of a report that has ended (finished elsewhere, cancelled, timed out).
            CallbackQueryHandler(stale_button, pattern=r"^c:")]
