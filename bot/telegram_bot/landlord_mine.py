"""Landlord /mine: their open and recently resolved concerns, with status and dates only.

Never tenant names, check-in answers or notes. Dates are in the home's municipality's zone.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from telegram import Update

from bot.core.organisations import home_zone
from bot.landlords import texts as t
from bot.landlords.flow import DRAFT_KEY, my_concerns
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


async def mine(update: Update, context: Context) -> None:
    who = await linked_landlord(update, context)
    if who is None:
        return
    now = deps(context).clock()

    def lines(session: Session) -> list[str]:
        return [t.mine_line(who.lang, reference=c.reference, address=c.home.address,
                            category_key=c.category, status_key=c.status,
                            created=c.created_at, updated=c.updated_at,
                            zone=home_zone(c.home))
                for c in my_concerns(session, load_landlord(session, who), now)]

    found = await in_db(context, lines)
    text = "\n\n".join([t.mine_header(who.lang), *found]) if found else t.mine_empty(who.lang)
    await reply(update, text, reply_markup=landlord_keyboard(who.lang))


async def cancel_outside(update: Update, context: Context) -> None:
    """/cancel with nothing going on."""
    who = await identify(update, context)
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    await reply(update, t.cancelled(who.lang))


