"""The check-in SMS a tenant receives: the question and its one reminder (GSM-7, two segments)."""

from __future__ import annotations

from bot.core.i18n import N_, sms_text

CHECKIN_PROMPT = N_(
    "Hi {name}. How are you doing? Reply 1 good, 2 so-so, 3 need help. "
    "You are welcome to add a few words."
)
CHECKIN_REMINDER = N_(
    "Hi {name}, we have not heard from you yet. How are you? "
    "Reply 1 good, 2 so-so or 3 need help."
)

def checkin_prompt(lang: str | None, name: str) -> str:
    """The scheduled check-in question."""
    return sms_text(lang, CHECKIN_PROMPT, name=name)


def checkin_reminder(lang: str | None, name: str) -> str:
    """Sent when a check-in has gone unanswered."""
    return sms_text(lang, CHECKIN_REMINDER, name=name)
