"""Every SMS text a tenant can receive, as functions, so callers never type a msgid.

Tenants read these on cheap phones, often in a hard moment: texts are warm, short, Danish first,
and each must stay GSM-7 and within two SMS segments for any realistic name (checked by
the i18n tests). Keywords named in a text (RING, CALL, STOP, START, INFO) must be understood
by :mod:`bot.tenants.intents` - also checked by the tests.

Livslinien is not open around the clock: every text that names it gives its hours
(:mod:`bot.tenants.helplines`); 112 and Lev Uden Vold's 1888 answer day and night.

Rendered texts pass through :func:`bot.core.segments.to_gsm7_friendly`, so a name like "Zoë" or a
curly quote cannot switch a message to UCS-2 and double its cost.

Which reply goes with which intent (for the SMS handler):

=========================  ===============================================================
intent                     reply
=========================  ===============================================================
CHECKIN_ANSWER 1 / 2 / 3   :func:`reply_to_answer` - answer 3 also when no check-in is open
                           (it always alerts the caseworker); 1 and 2 without an open
                           check-in: :func:`answer_without_checkin`
CALL_ME                    :func:`call_me_ack`
FREE_TEXT                  :func:`free_text_received`
STOP / START               :func:`stop_confirmation` (with the caseworker's phone when
                           known) / :func:`start_confirmation`
HELP_INFO                  :func:`help_info`
EMPTY                      :func:`unclear_message`
CRISIS                     :func:`crisis_reply` (unknown senders: :func:`crisis_reply_stranger`)
VIOLENCE                   :func:`violence_reply` (unknown senders:
                           :func:`violence_reply_stranger`)
GREETING                   :func:`greeting_received` (no 112: "hej" is not an emergency)
unknown phone number       :func:`unknown_sender`; a cry: the ``_stranger`` replies
                           (:func:`need_help_reply_stranger`, :func:`call_me_reply_stranger`)
picture (MMS), no words    :func:`picture_received`
=========================  ===============================================================
"""

from __future__ import annotations

from bot.core.i18n import N_, SUPPORTED, sms_text
from bot.core.phones import display_phone
from bot.tenants.helplines import livslinien_hours

__all__ = [
    "answer_without_checkin",
    "call_me_ack",
    "call_me_reply_stranger",
    "crisis_lines",
    "crisis_reply",
    "crisis_reply_stranger",
    "free_text_received",
    "greeting_received",
    "help_info",
    "need_help_reply_stranger",
    "picture_received",
    "reply_good",
    "reply_need_help",
    "reply_so_so",
    "reply_to_answer",
    "start_confirmation",
    "stop_confirmation",
    "unclear_message",
    "unknown_sender",
    "violence_reply",
]

REPLY_GOOD = N_("Thank you! Good to hear. Have a nice day.")
REPLY_SO_SO = N_(
    "Thank you for your answer. Do you need to talk to someone? Write CALL, and your "
    "caseworker will call you."
)
REPLY_NEED_HELP = N_(
    "Thank you for telling us. Your caseworker has been told and will contact you as soon as "
    "possible. In an emergency, call 112."
)
CALL_ME_ACK = N_(
    "Thank you. We have asked your caseworker to call you as soon as possible. "
    "In an emergency, call 112."
)
FREE_TEXT_RECEIVED = N_(
    "Thank you. Your message has been sent to your caseworker. In an emergency, call 112."
)
STOP_CONFIRMATION = N_(
    "You will get no more messages from Trygt Hjem. Write START to get them again. "
    "You can still call your caseworker."
)
STOP_CONFIRMATION_PHONE = N_(
    "You will get no more messages from Trygt Hjem. Write START to get them again. "
    "You can still call your caseworker on {phone}."
)
GREETING_RECEIVED = N_(
    "Thank you for your message. Your caseworker can see it. Write to us if there is anything "
    "we can help with."
)
START_CONFIRMATION = N_(
    "Welcome back to Trygt Hjem. You will get messages again. Write STOP to stop them."
)
HELP_INFO = N_(
    "Trygt Hjem keeps you in touch with your caseworker. Answer 1 if things are good, 2 if "
    "so-so, 3 if you need help. Write CALL to be called. Write STOP to stop. Do you need to "
    "talk to someone? Livslinien 70 201 201, open {hours}. Emergency: 112."
)
UNCLEAR_MESSAGE = N_(
    "Sorry, we did not understand. Reply 1 good, 2 so-so or 3 need help. Write CALL to be "
    "called, or INFO for more."
)
CRISIS_REPLY = N_(
    "Thank you for writing. If you are in danger, call 112 now. You can talk to Livslinien "
    "on 70 201 201, open {hours}. Your caseworker has been alerted. You are not alone."
)
# Lev Uden Vold: the national hotline on violence in close relationships (free, anonymous, 24/7).
VIOLENCE_REPLY = N_(
    "Thank you for telling us. Your caseworker has been told. Lev Uden Vold can help: call "
    "1888. It is free and anonymous, day and night. levudenvold.dk. In danger? Call 112."
)
VIOLENCE_REPLY_UNCONFIRMED = N_(
    "Thank you for telling us. Lev Uden Vold can help: call 1888. It is free and anonymous, "
    "day and night. levudenvold.dk. In danger? Call 112."
)
VIOLENCE_LINES = N_("Violence at home? Lev Uden Vold: 1888, free, day and night. In danger? "
                    "Call 112.")
UNKNOWN_SENDER = N_(
    "Hello. This number is not registered with Trygt Hjem. If you are a tenant, please "
    "contact your caseworker. Emergency: 112."
)
# When no notification to a person could be enqueued (nobody on the route can be reached on a
# configured channel): no claim that anyone was told, and the help lines.
CRISIS_REPLY_UNCONFIRMED = N_(
    "Thank you for writing. If you are in danger, call 112 now. You can talk to Livslinien "
    "on 70 201 201, open {hours}. You are not alone."
)
CRISIS_REPLY_STRANGER = N_(
    "Thank you for writing. If you are in danger, call 112 now. You can talk to Livslinien "
    "on 70 201 201, open {hours}. A caseworker has been alerted."
)
CRISIS_LINES = N_("In danger? Call 112. Livslinien: 70 201 201, open {hours}.")
# Answer 3 or a call request from a number we do not know: "a caseworker" (we do not know
# theirs), and the help lines, as for crisis words; the unconfirmed ones are the tenants'.
NEED_HELP_STRANGER = N_(
    "Thank you for telling us. A caseworker has been told and will contact you. If it is "
    "urgent, call 112. Livslinien: 70 201 201, open {hours}."
)
CALL_ME_STRANGER = N_(
    "Thank you. A caseworker has been asked to call you. If it is urgent, call 112. "
    "Livslinien: 70 201 201, open {hours}."
)
REPLY_NEED_HELP_UNCONFIRMED = N_(
    "Thank you for telling us. We will get a caseworker to contact you as soon as we can. "
    "If it is urgent, call 112. Livslinien: 70 201 201, open {hours}."
)
CALL_ME_UNCONFIRMED = N_(
    "Thank you. We will ask a caseworker to call you as soon as we can. If it is urgent, "
    "call 112. Livslinien: 70 201 201, open {hours}."
)
FREE_TEXT_UNCONFIRMED = N_(
    "Thank you. We have your message and will pass it on to a caseworker. In an emergency, "
    "call 112."
)
ANSWER_WITHOUT_CHECKIN = N_("Thank you for your answer. Your caseworker can see it.")
PICTURE_RECEIVED = N_(
    "Thank you. We can only read text, not pictures. Please write your message in words. "
    "In an emergency, call 112."
)


def reply_good(lang: str | None) -> str:
    return sms_text(lang, REPLY_GOOD)


def reply_so_so(lang: str | None) -> str:
    return sms_text(lang, REPLY_SO_SO)


def reply_need_help(lang: str | None, told: bool = True) -> str:
    """Answer 3 (or "hjælp"): the caseworker has been alerted (``told``), or will be."""
    if told:
        return sms_text(lang, REPLY_NEED_HELP)
    return sms_text(lang, REPLY_NEED_HELP_UNCONFIRMED, hours=livslinien_hours(lang))


def reply_to_answer(lang: str | None, answer: int, told: bool = True) -> str:
    """The reply to check-in answer 1, 2 or 3 (anything else is treated as 3: be safe)."""
    if answer == 1:
        return reply_good(lang)
    if answer == 2:
        return reply_so_so(lang)
    return reply_need_help(lang, told)


def call_me_ack(lang: str | None, told: bool = True) -> str:
    if told:
        return sms_text(lang, CALL_ME_ACK)
    return sms_text(lang, CALL_ME_UNCONFIRMED, hours=livslinien_hours(lang))


def free_text_received(lang: str | None, told: bool = True) -> str:
    return sms_text(lang, FREE_TEXT_RECEIVED if told else FREE_TEXT_UNCONFIRMED)


def stop_confirmation(lang: str | None, caseworker_phone: str | None = None) -> str:
    """After STOP: how to come back, and the caseworker's number when we know it."""
    if caseworker_phone:
        return sms_text(lang, STOP_CONFIRMATION_PHONE, phone=display_phone(caseworker_phone))
    return sms_text(lang, STOP_CONFIRMATION)


def greeting_received(lang: str | None) -> str:
    """For a message of only greetings or thanks ("hej", "tak"): warm, and no 112."""
    return sms_text(lang, GREETING_RECEIVED)


def start_confirmation(lang: str | None) -> str:
    return sms_text(lang, START_CONFIRMATION)


def help_info(lang: str | None) -> str:
    return sms_text(lang, HELP_INFO, hours=livslinien_hours(lang))


def unclear_message(lang: str | None) -> str:
    """For an empty or punctuation-only message."""
    return sms_text(lang, UNCLEAR_MESSAGE)


def crisis_reply(lang: str | None, told: bool = True) -> str:
    """Crisis language: 112, Livslinien, and that the caseworker has been alerted (only when a
    notification to a person was enqueued: ``told``)."""
    return sms_text(lang, CRISIS_REPLY if told else CRISIS_REPLY_UNCONFIRMED,
                    hours=livslinien_hours(lang))


def crisis_reply_stranger(told: bool) -> str:
    """Crisis words from a number we do not know: Danish then English, 112 and Livslinien,
    and "a caseworker has been alerted" only when one was."""
    msgid = CRISIS_REPLY_STRANGER if told else CRISIS_REPLY_UNCONFIRMED
    return "\n".join(sms_text(lang, msgid, hours=livslinien_hours(lang)) for lang in SUPPORTED)


def need_help_reply_stranger(told: bool) -> str:
    """Answer 3 (or "hjælp") from a number we do not know: Danish then English, "a caseworker
    has been told" only when one was, and 112 and Livslinien either way."""
    msgid = NEED_HELP_STRANGER if told else REPLY_NEED_HELP_UNCONFIRMED
    return "\n".join(sms_text(lang, msgid, hours=livslinien_hours(lang)) for lang in SUPPORTED)


def call_me_reply_stranger(told: bool) -> str:
    """A call request from a number we do not know: as `need_help_reply_stranger`."""
    msgid = CALL_ME_STRANGER if told else CALL_ME_UNCONFIRMED
    return "\n".join(sms_text(lang, msgid, hours=livslinien_hours(lang)) for lang in SUPPORTED)


def crisis_lines() -> str:
    """Only the help lines, Danish then English: what an unknown number's crisis message still
    gets once its replies for the day are used up."""
    return "\n".join(
        sms_text(lang, CRISIS_LINES, hours=livslinien_hours(lang)) for lang in SUPPORTED)


def violence_reply(lang: str | None, told: bool = True) -> str:
    """Violence in a close relationship: Lev Uden Vold 1888, 112, and that the caseworker knows
    (only when a notification to a person was enqueued: ``told``)."""
    return sms_text(lang, VIOLENCE_REPLY if told else VIOLENCE_REPLY_UNCONFIRMED)


def violence_reply_stranger() -> str:
    """Violence words from a number we do not know: Danish then English, 1888 and 112, and no
    claim about a caseworker (we do not know theirs)."""
    return "\n".join(sms_text(lang, VIOLENCE_REPLY_UNCONFIRMED) for lang in SUPPORTED)


def violence_lines() -> str:
    """Only the help lines, Danish then English, once an unknown number's replies are used up."""
    return "\n".join(sms_text(lang, VIOLENCE_LINES) for lang in SUPPORTED)


def unknown_sender() -> str:
    """For a number we do not know: no language known, so Danish then English; no data."""
    return "\n".join(sms_text(lang, UNKNOWN_SENDER) for lang in SUPPORTED)


def answer_without_checkin(lang: str | None) -> str:
    """A 1 or 2 that arrives when no check-in is open: still thank them."""
    return sms_text(lang, ANSWER_WITHOUT_CHECKIN)


def picture_received(lang: str | None) -> str:
    """For a picture (MMS) without words: the caseworker is told, but cannot see it."""
    return sms_text(lang, PICTURE_RECEIVED)
