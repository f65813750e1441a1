"""What caseworkers are told about an alert: SMS, Telegram, e-mail and reminder texts.

All texts go through the gettext catalogues in the caseworker's language. An alert SMS may show
the tenant's first name and area (street name, no number) and never any health detail: with
ALERT_SMS_DETAIL=minimal it shows neither name nor cause, only the alert number and severity.
"""

from __future__ import annotations

import html
import re

from bot.core.config import Settings
from bot.core.i18n import N_, gettext
from bot.core.phones import display_phone
from bot.models import Alert, Caseworker
from bot.models.enums import Channel, Severity, Source

__all__ = ["button_data", "email_parts", "headline", "reminder_sms", "sms_text",
           "telegram_payload"]

SEVERITY_LABELS = {
    Severity.LOW: N_("LOW"),
    Severity.HIGH: N_("HIGH"),
    Severity.CRITICAL: N_("CRITICAL"),
}

# Causes, worded so that they say who must act, not what is wrong with the tenant.
CAUSES = {
    Source.NEED_HELP: N_("{who} has asked for help."),
    Source.CALL_ME: N_("{who} asks to be called."),
    Source.CRISIS: N_("{who} needs contact now."),
    # Violence: no cause in an SMS that someone else at home might read.
    Source.VIOLENCE: N_("{who} needs contact now."),
    Source.MISSED: N_("{who} has not answered check-ins."),
    Source.CONCERN: N_("The landlord of {who} has raised a concern."),
    Source.DELIVERY_FAILED: N_("{who} cannot be reached by SMS."),
    # Free text from the tenant: the words stay on the dashboard timeline, never in the SMS.
    Source.MESSAGE: N_("{who} has sent a message."),
}
UNKNOWN_TENANT = N_("a tenant")
# An SMS from a number we do not know: no name to give, and the number is what staff call back.
UNKNOWN_NUMBER = N_("unregistered number {phone}")
MINIMAL_CAUSE = N_("New alert.")
HEADLINE = N_("Trygt Hjem #{id} {severity}: {cause}")
SMS_CODES = N_("Reply {id} OK to acknowledge, {id} LØST to close.")
REMINDER = N_("Trygt Hjem #{id} is acknowledged but not resolved yet. Reply {id} LØST when it is "
              "closed.")
BUTTON_ACK = N_("Acknowledge")
BUTTON_RESOLVE = N_("Resolved")
EMAIL_OPEN = N_("Open the alert in the dashboard: {url}")
EMAIL_OPEN_HTML = N_("Open the alert in the dashboard")
EMAIL_FOOTER = N_("You receive this because you are on call for Trygt Hjem alerts.")


def _first_word(text: str) -> str:
    m = re.match(r"\s*([^\W\d_][\w.'-]*)", text or "")
    return m.group(1) if m else ""


def who(alert: Alert, lang: str) -> str:
    """First name and area, e.g. "Anna (Vollsmose)": enough to recognise, nothing more. An
    unknown number's alert: the number, never a name (it has none)."""
    tenant = alert.tenant
    if tenant is None and alert.sender_phone:
        return gettext(lang, UNKNOWN_NUMBER, phone=display_phone(alert.sender_phone))
    name = "" if tenant is None or tenant.erased_at is not None else _first_word(tenant.name)
    home = alert.home
    area = _first_word(home.address) if home is not None else ""
    if not name:
        name = gettext(lang, UNKNOWN_TENANT)
    return f"{name} ({area})" if area else name


def headline(alert: Alert, lang: str, detail: str = "name_area",
             source: Source | None = None) -> str:
    """``source``: the cause to name (a trigger that joined the alert), else the alert's own."""
    severity = gettext(lang, SEVERITY_LABELS[Severity(alert.severity)])
    if detail == "minimal":
        cause = gettext(lang, MINIMAL_CAUSE)
    else:
        cause = gettext(lang, CAUSES[source or Source(alert.source)], who=who(alert, lang))
    return gettext(lang, HEADLINE, id=alert.id, severity=severity, cause=cause)


def sms_text(alert: Alert, lang: str, detail: str = "name_area",
             source: Source | None = None) -> str:
    return f"{headline(alert, lang, detail, source)} {gettext(lang, SMS_CODES, id=alert.id)}"


def reminder_sms(alert: Alert, lang: str) -> str:
    return gettext(lang, REMINDER, id=alert.id)


def button_data(alert_id: int, epoch: int, action: str) -> str:
    """A Telegram button's callback data, ``alert:<id>:e<epoch>:ack|resolve`` (at most 36 of
    Telegram's 64 bytes): the escalation it was sent in (`bot.alerts.told.escalation_epoch`)
    rides along, so a button under an earlier escalation's message closes nothing
    (`bot.casework.alert_buttons`). The action stays last: the bot keeps ``*:resolve``."""
    return f"alert:{alert_id}:e{epoch}:{action}"


def telegram_payload(alert: Alert, lang: str, epoch: int) -> dict[str, object]:
    """Inline buttons Acknowledge / Resolved for the escalation ``epoch``."""
    return {"buttons": [[
        {"text": gettext(lang, BUTTON_ACK), "data": button_data(alert.id, epoch, "ack")},
        {"text": gettext(lang, BUTTON_RESOLVE), "data": button_data(alert.id, epoch, "resolve")},
    ]]}


def alert_url(base_url: str | None, alert_id: int) -> str:
    return f"{(base_url or '').rstrip('/')}/dashboard/alerts/{alert_id}"


def email_parts(alert: Alert, lang: str, base_url: str | None,
                detail: str = "name_area", source: Source | None = None) -> tuple[str, str, str]:
    """(subject, plain body, HTML body) for an alert e-mail."""
    subject = headline(alert, lang, detail, source)
    url = alert_url(base_url, alert.id)
    codes = gettext(lang, SMS_CODES, id=alert.id)
    footer = gettext(lang, EMAIL_FOOTER)
    plain = f"{subject}\n\n{gettext(lang, EMAIL_OPEN, url=url)}\n\n{codes}\n\n-- \n{footer}\n"
    esc = html.escape
    body_html = (
        f'<!doctype html><html lang="{esc(lang)}"><body>'
        f"<p><strong>{esc(subject)}</strong></p>"
        f'<p><a href="{esc(url, quote=True)}">{esc(gettext(lang, EMAIL_OPEN_HTML))}</a></p>'
        f"<p>{esc(codes)}</p><hr><p><small>{esc(footer)}</small></p></body></html>")
    return subject, plain, body_html


def notification(alert: Alert, person: Caseworker, channel: Channel, reminder: bool,
                 settings: Settings, cause: Source | None = None, *,
                 epoch: int) -> tuple[str, dict[str, object]]:
    """The body and channel payload of one alert notification, in the person's language.
    ``cause``: a trigger that joined the alert, named instead of the alert's own cause.
    ``epoch``: the alert's current escalation (Telegram buttons carry it)."""
    lang = person.language
    detail = settings.alert_sms_detail
    if reminder:
        text = reminder_sms(alert, lang)
        if channel is Channel.EMAIL:
            return text, {"subject": text, "html": f"<p>{html.escape(text)}</p>"}
        if channel is Channel.TELEGRAM:
            return text, telegram_payload(alert, lang, epoch)
        return text, {}
    if channel is Channel.SMS:
        return sms_text(alert, lang, detail, cause), {}
    if channel is Channel.TELEGRAM:
        return headline(alert, lang, detail, cause), telegram_payload(alert, lang, epoch)
    subject, plain, body_html = email_parts(alert, lang, settings.public_base_url,
                                            detail, cause)
    return plain, {"subject": subject, "html": body_html}
