"""Everything the Telegram bot says to landlords and caseworkers, one function per text.

Telegram is not SMS: no GSM-7 or segment limits, but landlords are busy, so texts stay short.
Danish first; msgids are English (see bot/i18n.py for how to add one).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.i18n import N_, gettext

CATEGORY_LABELS = {
    "noise": N_("Noise or conflict with neighbours"),
    "arrears": N_("Rent arrears"),
    "damage": N_("Damage or hygiene"),
    "wellbeing": N_("Worried about wellbeing"),
    "no_sign_of_life": N_("No sign of life"),
    "other": N_("Other"),
}
URGENCY_LABELS = {
    "can_wait": N_("Can wait"),
    "this_week": N_("This week"),
    "urgent_today": N_("Urgent, today"),
}
STATUS_LABELS = {
    "received": N_("Received"),
    "acknowledged": N_("Being handled"),
    "resolved": N_("Resolved"),
}

NEW_CONCERN_BUTTON = {"da": "Ny henvendelse", "en": "New concern"}
MINE_BUTTON = {"da": "Mine henvendelser", "en": "My concerns"}


def _local_date(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%d.%m.%Y")


def category(lang: str, key: str) -> str:
    return gettext(lang, CATEGORY_LABELS.get(key, CATEGORY_LABELS["other"]))


def urgency(lang: str, key: str) -> str:
    return gettext(lang, URGENCY_LABELS.get(key, URGENCY_LABELS["this_week"]))


def status(lang: str, key: str) -> str:
    return gettext(lang, STATUS_LABELS.get(key, STATUS_LABELS["received"]))


# -- linking


def not_linked(lang: str) -> str:
    return gettext(lang, "This bot is for landlords and caseworkers working with Trygt Hjem. "
                         "To use it, open the invitation link you received from the municipality.")


def invite_unknown(lang: str) -> str:
    return gettext(lang, "This invitation link is not valid. Please check that you opened the "
                         "whole link, or ask the municipality for a new one.")


def invite_expired(lang: str) -> str:
    return gettext(lang, "This invitation link has expired. Please ask the municipality for a "
                         "new one.")


def invite_used(lang: str) -> str:
    return gettext(lang, "This invitation link has already been used. If that was not you, "
                         "please contact the municipality. You can ask for a new link.")


def linked_welcome(lang: str, name: str) -> str:
    return gettext(lang, "Welcome, {name}. Your Telegram is now linked to Trygt Hjem. Press "
                         "\"New concern\" below or write /concern when something worries you "
                         "about one of your homes. /help shows what I can do.", name=name)


def welcome_back(lang: str, name: str) -> str:
    return gettext(lang, "Hello {name}. Write /concern to report a concern, /mine to see your "
                         "concerns, /help for help.", name=name)


def help_landlord(lang: str) -> str:
    return gettext(lang, "Trygt Hjem helps you raise a concern about one of your homes early, "
                         "so the tenant's caseworker can act before a small problem grows.\n\n"
                         "/concern - report a concern (about 1 minute)\n"
                         "/mine - your concerns and their status\n"
                         "/language - dansk / English\n"
                         "/cancel - stop what you are doing\n\n"
                         "In an emergency, call 112.")


def free_text_outside(lang: str) -> str:
    """A written message outside a report ("hej, er der nogen?"): say what the bot can do."""
    return gettext(lang, "Hello! I am the Trygt Hjem bot, so nobody reads messages written "
                         "here. Use the buttons below or a command.") + "\n\n" + help_landlord(lang)


def help_unlinked(lang: str) -> str:
    return not_linked(lang)


# -- the concern conversation


def choose_home(lang: str) -> str:
    return gettext(lang, "Which home is it about?")


def no_homes(lang: str) -> str:
    return gettext(lang, "No homes are registered for you in Trygt Hjem. Please contact the "
                         "municipality.")


def home_not_yours(lang: str) -> str:
    return gettext(lang, "That home is not one of yours. Please choose one of the buttons.")


def choose_category(lang: str, address: str) -> str:
    return gettext(lang, "{address}\nWhat is it about?", address=address)


def choose_urgency(lang: str) -> str:
    return gettext(lang, "How urgent is it?")


def no_sign_of_life_first(lang: str) -> str:
    """Before the rest of a "no sign of life" report: 112 first, then the report (always urgent)."""
    return gettext(lang, "If you fear for the tenant's life, call 112 now. Then finish this "
                         "report: it is treated as urgent, and the caseworker is alerted at once.")


def ask_description(lang: str) -> str:
    return gettext(lang, "Describe briefly what you have seen or heard (one message). Please do "
                         "not write health information.")


def description_too_long(lang: str, limit: int) -> str:
    return gettext(lang, "Please keep it under {limit} characters.", limit=limit)


def description_needed(lang: str) -> str:
    return gettext(lang, "Please write a short description as text.")


def ask_photo(lang: str) -> str:
    return gettext(lang, "You may send one photo (for example of damage), or press Skip.")


def photo_or_skip(lang: str) -> str:
    return gettext(lang, "Send a photo, or press Skip to go on without one.")


def skip_button(lang: str) -> str:
    return gettext(lang, "Skip")


def summary(lang: str, *, address: str, category_key: str, urgency_key: str, description: str,
            has_photo: bool) -> str:
    photo = gettext(lang, "Yes") if has_photo else gettext(lang, "No")
    return gettext(lang, "Please check your concern:\n\nHome: {address}\nAbout: {category}\n"
                         "Urgency: {urgency}\nDescription: {description}\nPhoto: {photo}",
                   address=address, category=category(lang, category_key),
                   urgency=urgency(lang, urgency_key), description=description, photo=photo)


def confirm_button(lang: str) -> str:
    return gettext(lang, "Confirm")


def edit_button(lang: str) -> str:
    return gettext(lang, "Edit")


def cancel_button(lang: str) -> str:
    return gettext(lang, "Cancel")


def concern_received(lang: str, reference: str, *, told: bool, waits: bool) -> str:
    """The receipt for a concern. ``told``: a notification to a caseworker is in the outbox;
    ``waits``: not told because the alert waits for working hours (low severity) and someone
    on its route can be reached then. Neither: nobody could be reached yet (we keep trying)."""
    if told:
        return gettext(lang, "Thank you. Your concern has reference {reference}. A caseworker "
                             "has been alerted now. You will get a message here when someone "
                             "acts. In an emergency, call 112.", reference=reference)
    if waits:
        return gettext(lang, "Thank you. Your concern has reference {reference}. A caseworker "
                             "will look at it, normally within working hours. You will get a "
                             "message here when someone acts.", reference=reference)
    return gettext(lang, "Thank you. Your concern has reference {reference}. We could not reach "
                         "a caseworker yet and keep trying. You will get a message here when "
                         "someone acts. In an emergency, call 112.", reference=reference)


def cancelled(lang: str) -> str:
    return gettext(lang, "Cancelled. Nothing was sent. Write /concern to start again.")


def timed_out(lang: str) -> str:
    return gettext(lang, "Your unfinished concern was closed because there was no answer for a "
                         "while. Nothing was sent. Write /concern to start again.")


def use_buttons(lang: str) -> str:
    return gettext(lang, "Please choose with the buttons above, or write /cancel to stop.")


def stale_button(lang: str) -> str:
    return gettext(lang, "This button is no longer active.")


def concern_failed(lang: str) -> str:
    return gettext(lang, "Sorry, your concern could not be saved. Please try again with "
                         "/concern. In an emergency, call 112.")


def concern_not_saved(lang: str) -> str:
    """Submitting failed on our side (the database): nothing was saved, the draft is kept."""
    return gettext(lang, "Sorry, your concern was NOT saved because of an error on our side. "
                         "Your answers are kept: press {confirm} below to try again in a "
                         "moment. In an emergency, call 112.", confirm=confirm_button(lang))


# -- /mine and status pushes


def mine_empty(lang: str) -> str:
    return gettext(lang, "You have no open or recent concerns.")


def mine_header(lang: str) -> str:
    return gettext(lang, "Your concerns:")


def mine_line(lang: str, *, reference: str, address: str, category_key: str, status_key: str,
              created: datetime, updated: datetime, zone: ZoneInfo) -> str:
    """One concern for /mine; dates in ``zone``, the home's municipality's time zone."""
    return gettext(lang, "{reference} - {address}\n{category}, reported {created}\n"
                         "Status: {status} (updated {updated})",
                   reference=reference, address=address, category=category(lang, category_key),
                   created=_local_date(created, zone), status=status(lang, status_key),
                   updated=_local_date(updated, zone))


def status_acknowledged(lang: str, reference: str) -> str:
    return gettext(lang, "Your concern {reference} is being handled by the tenant's caseworker. "
                         "Thank you for speaking up.", reference=reference)


def status_resolved(lang: str, reference: str) -> str:
    return gettext(lang, "Your concern {reference} has been marked as resolved by the "
                         "caseworker. If the problem continues, report it again with /concern.",
                   reference=reference)


# -- language


def choose_language(lang: str) -> str:
    return gettext(lang, "Choose your language:")


def language_set(lang: str) -> str:
    return gettext(lang, "I will write in English from now on.")


# -- caseworkers


def caseworker_linked(lang: str, name: str) -> str:
    return gettext(lang, "Hello {name}. Your Telegram is now linked: alerts from Trygt Hjem will "
                         "arrive here with buttons to acknowledge and resolve them.", name=name)


def caseworker_link_invalid(lang: str) -> str:
    return gettext(lang, "This link code is not valid or has already been used. Create a new one "
                         "in the dashboard.")


def caseworker_help(lang: str) -> str:
    return gettext(lang, "Alerts arrive here. Press Acknowledge when you take an alert, and "
                         "Resolved when it is done. The dashboard shows the full history.")


def alert_not_allowed(lang: str) -> str:
    return gettext(lang, "You cannot act on this alert from this chat.")


def alert_not_found(lang: str) -> str:
    return gettext(lang, "This alert no longer exists.")


def alert_acted(lang: str, action: str, name: str) -> str:
    if action == "resolve":
        return gettext(lang, "Resolved by {name}.", name=name)
    return gettext(lang, "Acknowledged by {name}.", name=name)


def alert_already(lang: str) -> str:
    return gettext(lang, "Already done.")


def alert_stale(lang: str) -> str:
    """A button from an earlier escalation of the case (a pop-up: at most 200 characters)."""
    return gettext(lang, "The case has news since this message, so nothing was changed. Use the "
                         "buttons under the newest message, or open the case in the dashboard.")


def alert_stale_note(lang: str, url: str | None) -> str:
    """Under the old message, whose buttons go: where to act instead."""
    if url is None:
        return gettext(lang, "The case has news since this message. Use the newest message's "
                             "buttons, or open the case in the dashboard.")
    return gettext(lang, "The case has news since this message. Use the newest message's "
                         "buttons, or open the case: {url}", url=url)
