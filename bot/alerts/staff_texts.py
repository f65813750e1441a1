"""Texts for staff that the SMS side writes: alert summaries and answers to caseworker reply codes.

Summaries are stored on the alert in the assigned caseworker's language; they name the tenant but
never quote the tenant's words (those stay in the alert's timeline and the message log, shown to
caseworkers only), so a notification that travels by e-mail carries no health details.
"""

from __future__ import annotations

from bot.core.i18n import N_, gettext
from bot.core.segments import to_gsm7_friendly

SUMMARY_NEED_HELP = N_("{name} answered 3: needs help")
SUMMARY_CALL_ME = N_("{name} asks to be called")
SUMMARY_CRISIS = N_("{name} wrote words that may mean a crisis")
SUMMARY_VIOLENCE = N_("{name} wrote words that may mean violence at home")
SUMMARY_UNKNOWN_VIOLENCE = N_("Unregistered number {phone} wrote words that may mean violence")
SUMMARY_MESSAGE = N_("{name} sent a message")
SUMMARY_PICTURE = N_("{name} sent a picture we cannot show; ask what it was")
SUMMARY_DELIVERY_FAILED = N_("SMS to {name} cannot be delivered (Twilio error {code})")
MISSED_SUMMARY = N_("Missed check-ins in a row for {name}: {n}")
OPTED_OUT_SUMMARY = N_(
    "{name} has opted out of SMS (STOP). No check-ins are sent until the tenant writes START."
)
SUMMARY_UNKNOWN_CRISIS = N_("Unregistered number {phone} wrote words that may mean a crisis")
SUMMARY_UNKNOWN_NEED_HELP = N_("Unregistered number {phone} asks for help")
SUMMARY_UNKNOWN_CALL_ME = N_("Unregistered number {phone} asks to be called")
SUMMARY_UNKNOWN_MESSAGE = N_("Unregistered number {phone} sent a message")
SUMMARY_UNHANDLED = N_("A text from {name} could not be handled by Trygt Hjem: call them")
SUMMARY_UNKNOWN_UNHANDLED = N_(
    "A text from unregistered number {phone} could not be handled by Trygt Hjem: call them")

CW_ACKNOWLEDGED = N_("Alert {alert_id} is acknowledged. Thank you.")
CW_RESOLVED = N_("Alert {alert_id} is closed. Thank you.")
CW_ALREADY_ACKNOWLEDGED = N_("Alert {alert_id} was already acknowledged by {name}.")
CW_ALREADY_CLOSED = N_("Alert {alert_id} is already closed. Reopen it in the dashboard if needed.")
CW_NOT_FOUND = N_("There is no alert {alert_id}. Check the number in the alert SMS.")
CW_NOT_YOURS = N_("Alert {alert_id} belongs to another team, so you cannot change it.")
# A code for an alert the replier was never told about: most likely a typo ("24" for "42").
CW_NOT_TOLD = N_(
    "Alert {alert_id} is not one of your alerts, so nothing was changed. Check the number in "
    "the alert SMS."
)
# A code typed for an earlier escalation of a case that has news since (a new cry reopened it):
# the news, then how to act on it. Nothing was changed.
CW_STALE = N_("Nothing was changed: alert {alert_id} has news since you were told. {headline}")
CW_STALE_ACKNOWLEDGE = N_("Reply {alert_id} OK again to acknowledge it as it is now.")
CW_STALE_RESOLVE = N_("Reply {alert_id} LØST again if it is closed now too.")
CW_STALE_OPEN = N_("Or open it: {url}")
CW_STALE_OPEN_DASHBOARD = N_("Or open it in the dashboard.")
# A reply that is no code: the example is one of the caseworker's own current alerts, so it
# works as written (bot.casework.sms_replies picks it), else how codes are made.
CW_UNKNOWN_CODE = N_(
    "Not understood. Reply e.g. {id} OK to acknowledge alert {id}, or {id} LØST to close it."
)
CW_UNKNOWN_CODE_ACKNOWLEDGED = N_("Not understood. Reply e.g. {id} LØST to close alert {id}.")
CW_UNKNOWN_CODE_NO_ALERT = N_(
    "Not understood. To answer an alert, reply with its number and OK or LØST, as in the alert "
    "SMS."
)


def _render(lang: str | None, msgid: str, **params: object) -> str:
    return to_gsm7_friendly(gettext(lang, msgid, **params))


def summary_need_help(lang: str | None, name: str) -> str:
    return _render(lang, SUMMARY_NEED_HELP, name=name)


def summary_call_me(lang: str | None, name: str) -> str:
    return _render(lang, SUMMARY_CALL_ME, name=name)


def summary_crisis(lang: str | None, name: str) -> str:
    return _render(lang, SUMMARY_CRISIS, name=name)


def summary_violence(lang: str | None, name: str) -> str:
    return _render(lang, SUMMARY_VIOLENCE, name=name)


def summary_unknown_violence(lang: str | None, phone: str) -> str:
    return _render(lang, SUMMARY_UNKNOWN_VIOLENCE, phone=phone)


def summary_message(lang: str | None, name: str) -> str:
    return _render(lang, SUMMARY_MESSAGE, name=name)


def summary_picture(lang: str | None, name: str) -> str:
    return _render(lang, SUMMARY_PICTURE, name=name)


def summary_delivery_failed(lang: str | None, name: str, code: str) -> str:
    return _render(lang, SUMMARY_DELIVERY_FAILED, name=name, code=code)


def summary_unknown_crisis(lang: str | None, phone: str) -> str:
    return _render(lang, SUMMARY_UNKNOWN_CRISIS, phone=phone)


def summary_unknown_need_help(lang: str | None, phone: str) -> str:
    return _render(lang, SUMMARY_UNKNOWN_NEED_HELP, phone=phone)


def summary_unknown_call_me(lang: str | None, phone: str) -> str:
    return _render(lang, SUMMARY_UNKNOWN_CALL_ME, phone=phone)


def summary_unknown_message(lang: str | None, phone: str) -> str:
    return _render(lang, SUMMARY_UNKNOWN_MESSAGE, phone=phone)


def acknowledged(lang: str | None, alert_id: int) -> str:
    return _render(lang, CW_ACKNOWLEDGED, alert_id=alert_id)


def resolved(lang: str | None, alert_id: int) -> str:
    return _render(lang, CW_RESOLVED, alert_id=alert_id)


def already_acknowledged(lang: str | None, alert_id: int, name: str) -> str:
    return _render(lang, CW_ALREADY_ACKNOWLEDGED, alert_id=alert_id, name=name)


def already_closed(lang: str | None, alert_id: int) -> str:
    return _render(lang, CW_ALREADY_CLOSED, alert_id=alert_id)


def not_found(lang: str | None, alert_id: int) -> str:
    return _render(lang, CW_NOT_FOUND, alert_id=alert_id)


def not_yours(lang: str | None, alert_id: int) -> str:
    return _render(lang, CW_NOT_YOURS, alert_id=alert_id)


def not_told(lang: str | None, alert_id: int) -> str:
    return _render(lang, CW_NOT_TOLD, alert_id=alert_id)


def stale(lang: str | None, alert_id: int, action: str, headline: str, url: str | None) -> str:
    """A code for an escalation the caseworker knew (``action``: acknowledge or resolve) while
    the case has a newer one: ``headline`` says what, the rest how to act on it."""
    how = CW_STALE_RESOLVE if action == "resolve" else CW_STALE_ACKNOWLEDGE
    return " ".join((_render(lang, CW_STALE, alert_id=alert_id, headline=headline),
                     _render(lang, how, alert_id=alert_id),
                     _render(lang, CW_STALE_OPEN, url=url) if url
                     else _render(lang, CW_STALE_OPEN_DASHBOARD)))


def unknown_code(lang: str | None, alert_id: int | None = None,
                 acknowledged: bool = False) -> str:
    """How to answer, with ``alert_id`` as the example: OK and LØST while it is open, only LØST
    once it is acknowledged (OK would just say "already acknowledged"); no alert, no number."""
    if alert_id is None:
        return _render(lang, CW_UNKNOWN_CODE_NO_ALERT)
    return _render(lang, CW_UNKNOWN_CODE_ACKNOWLEDGED if acknowledged else CW_UNKNOWN_CODE,
                   id=alert_id)


def missed_summary(lang: str | None, name: str, n: int) -> str:
    """Alert summary when a tenant's run of unanswered check-ins reaches a threshold."""
    return gettext(lang, MISSED_SUMMARY, name=name, n=n)


def opted_out_summary(lang: str | None, name: str) -> str:
    """Low alert raised once per opt-out, so the caseworker knows check-ins have stopped."""
    return gettext(lang, OPTED_OUT_SUMMARY, name=name)


def summary_unhandled(lang: str | None, name: str) -> str:
    return _render(lang, SUMMARY_UNHANDLED, name=name)


def summary_unknown_unhandled(lang: str | None, phone: str) -> str:
    return _render(lang, SUMMARY_UNKNOWN_UNHANDLED, phone=phone)
