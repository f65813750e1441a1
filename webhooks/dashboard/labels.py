"""Stored values in words (severity, state, source, event kinds, ...), for the dashboard.

The words are msgids in the gettext catalogues (bot/locale/*/messages.po) like every other text;
this module only says which msgid belongs to which stored value. An unknown value is shown as it
is, so a new kind written by another part of the system is visible before it has a label.
"""

from __future__ import annotations

from bot.core.i18n import N_, gettext
from bot.landlords.texts import CATEGORY_LABELS, URGENCY_LABELS

LABELS: dict[str, dict[str, str]] = {
    "severity": {"low": N_("Low"), "high": N_("High"), "critical": N_("Critical")},
    "state": {"open": N_("Open"), "acknowledged": N_("Acknowledged"),
              "resolved": N_("Resolved")},
    "tab": {"active": N_("Active"), "open": N_("Open"), "acknowledged": N_("Acknowledged"),
            "resolved": N_("Resolved")},
    "scope": {"mine": N_("Mine"), "team": N_("My team"), "all": N_("All I may see")},
    "source": {"crisis": N_("Crisis"), "need_help": N_("Asks for help"),
               "call_me": N_("Asks for a call"), "missed": N_("Missed check-ins"),
               "concern": N_("Landlord concern"), "delivery_failed": N_("SMS undeliverable"),
               "message": N_("Message from the tenant"),
               "violence": N_("Violence in a close relationship")},
    "intake": {"admins": N_("the municipality's admins (no intake team set)")},
    "action": {"acknowledge": N_("Acknowledge"), "resolve": N_("Resolve"),
               "reopen": N_("Reopen")},
    "done": {"acknowledge": N_("acknowledged"), "resolve": N_("resolved"),
             "reopen": N_("reopened")},
    "event": {"raised": N_("Raised"), "folded": N_("Triggered again"),
              "retriggered": N_("Triggered again: escalating anew"),
              "notified": N_("Notified"), "skipped": N_("Not sent"),
              "unreachable": N_("Nobody reached"), "escalation_failed": N_("Escalation error"),
              "acknowledged": N_("Acknowledged"), "resolved": N_("Resolved"),
              "reopened": N_("Reopened"), "reassigned": N_("Reassigned"), "note": N_("Note"),
              "reminded": N_("Reminded"), "message_sent": N_("SMS to the tenant"),
              "undelivered": N_("Reached nobody"),
              "stale_code": N_("Code for an earlier message")},
    "channel": {"sms": N_("SMS"), "telegram": N_("Telegram"), "email": N_("e-mail"),
                "webhook": N_("webhook"), "dashboard": N_("dashboard"), "api": N_("API")},
    "target": {"assigned": N_("contact person"), "team": N_("the team"),
               "team_lead": N_("team lead")},
    "reason": {"channel not configured": N_("the channel is not set up"),
               "no phone": N_("no phone number"), "no Telegram chat": N_("Telegram not linked"),
               "no e-mail": N_("no e-mail address")},
    "actor": {"system": N_("System")},
    "consent": {"pending": N_("Pending"), "given": N_("Given"), "withdrawn": N_("Withdrawn")},
    "timeline": {"message_in": N_("SMS in"), "message_out": N_("SMS out"),
                 "checkin": N_("Check-in"), "alert": N_("Alert"), "note": N_("Note")},
    "answer": {"1": N_("Answer 1: good"), "2": N_("Answer 2: so-so"),
               "3": N_("Answer 3: needs help"), "scheduled": N_("Scheduled"),
               "sent": N_("Sent"), "reminded": N_("Reminded"), "missed": N_("Missed"),
               "skipped": N_("Skipped"), "answered": N_("Answered")},
    "language": {"da": N_("Danish"), "en": N_("English")},
    "subject": {"tenant": N_("Tenant"), "alert": N_("Alert"), "caseworker": N_("Caseworker"),
                "concern": N_("Concern"), "landlord": N_("Landlord"), "login": N_("Login"),
                "audit_log": N_("Audit log"), "home": N_("Home")},
    "role": {"caseworker": N_("Caseworker"), "team_lead": N_("Team lead"),
             "admin": N_("Administrator")},
    # Concern category and urgency: the landlord's own words (bot.landlords.texts), so both
    # sides read the same thing.
    "urgency": URGENCY_LABELS,
    "category": CATEGORY_LABELS,
    # Delivery of an SMS to the tenant, from the outbox row and the provider's status callback.
    "delivery": {"pending": N_("Waiting to be sent"), "sending": N_("Sending"),
                 "sent": N_("Sent"), "queued": N_("Sent"), "accepted": N_("Sent"),
                 "delivered": N_("Delivered"), "read": N_("Delivered"),
                 "undelivered": N_("Not delivered"), "failed": N_("Not delivered"),
                 "dead": N_("Could not be sent"), "cancelled": N_("Cancelled (STOP)"),
                 # Inbound: processed is the normal case; the others say nothing acted yet.
                 "received": N_("Received, not handled yet"), "processed": N_("Received"),
                 "stuck": N_("Could not be handled: call the tenant"),
                 "replied": N_("Sent as the answer")},
    "audit": {"view": N_("Opened"), "view_alert": N_("Opened an alert"),
              "add_note": N_("Wrote a note"), "reassign": N_("Reassigned"),
              "login": N_("Logged in"), "login_failed": N_("Failed login"),
              "message_tenant": N_("Sent an SMS to the tenant"),
              "consent_given": N_("Recorded consent"),
              "consent_withdrawn": N_("Recorded withdrawn consent"), "export": N_("Exported data"),
              "erase": N_("Erased personal data"), "opt_out": N_("Opted out (STOP)"),
              "opt_in": N_("Opted in (START)"), "checkins.pause": N_("Paused check-ins"),
              "checkins.resume": N_("Resumed check-ins"),
              "checkins.cadence": N_("Changed check-in times"),
              "change_caseworker": N_("Changed contact person"),
              "password_changed": N_("Changed password"),
              "language_changed": N_("Changed language"),
              "telegram_link_code": N_("Created a Telegram link"),
              "telegram.link": N_("Linked Telegram"), "refused": N_("Refused an action"),
              "concern.create": N_("Landlord raised a concern"),
              "invite.create": N_("Created a landlord invite"),
              "phone_ok": N_("Phone number works again")},
}

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
            N_("Saturday"), N_("Sunday"))


def label(lang: str, group: str, value: object) -> str:
    """A stored value in words in ``lang``; unknown values are shown as they are."""
    msgid = LABELS.get(group, {}).get(str(value))
    return str(value) if msgid is None else gettext(lang, msgid)


def weekday(lang: str, iso: int) -> str:
    return gettext(lang, WEEKDAYS[iso - 1]) if 1 <= iso <= 7 else str(iso)
