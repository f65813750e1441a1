"""What the report's rows and headings are called, in Danish and English (gettext)."""

from __future__ import annotations

from bot.core.i18n import N_, gettext
from bot.landlords.texts import CATEGORY_LABELS, URGENCY_LABELS
from bot.reports.model import TOTAL

SECTION_LABELS = {
    "tenants": N_("Tenants"),
    "checkins": N_("Check-ins"),
    "alerts": N_("Alerts"),
    "concerns": N_("Landlord concerns"),
    "delivery": N_("Delivery"),
}

FIXED = {
    "tenants.enrolled": N_("Tenants in the programme (at the end of the month)"),
    "tenants.active": N_("Tenants who were sent check-ins"),
    "tenants.paused": N_("Tenants with check-ins paused or skipped"),
    "tenants.opted_out": N_("Tenants opted out by SMS (at the end of the month)"),
    "tenants.moved_out": N_("Tenants who left (data erased)"),
    "checkins.sent": N_("Check-ins sent"),
    "checkins.answered": N_("Answered in time"),
    "checkins.response_rate": N_("Response rate"),
    "checkins.answer_1": N_("Answer 1 (good)"),
    "checkins.answer_2": N_("Answer 2 (so-so)"),
    "checkins.answer_3": N_("Answer 3 (need help)"),
    "checkins.missed": N_("Missed"),
    "alerts.total": N_("Alerts raised"),
    "alerts.source.crisis": N_("Source: crisis words"),
    "alerts.source.need_help": N_("Source: asked for help"),
    "alerts.source.call_me": N_("Source: asked for a call"),
    "alerts.source.missed": N_("Source: missed check-ins"),
    "alerts.source.concern": N_("Source: landlord concern"),
    "alerts.source.delivery_failed": N_("Source: delivery failed"),
    "alerts.source.message": N_("Source: message for the caseworker"),
    "alerts.severity.low": N_("Severity: low"),
    "alerts.severity.high": N_("Severity: high"),
    "alerts.severity.critical": N_("Severity: critical"),
    "alerts.ack_median": N_("Time to acknowledge, median (min)"),
    "alerts.ack_p90": N_("Time to acknowledge, 90th percentile (min)"),
    "alerts.resolve_median": N_("Time to resolve, median (min)"),
    "alerts.resolve_p90": N_("Time to resolve, 90th percentile (min)"),
    "alerts.step.0": N_("Handled before any escalation step"),
    "alerts.step.1": N_("Escalation reached step 1"),
    "alerts.step.2": N_("Escalation reached step 2"),
    "alerts.step.3+": N_("Escalation reached step 3 or later"),
    "concerns.total": N_("Concerns raised"),
    "concerns.resolve_median": N_("Concern time to resolve, median (min)"),
    "concerns.resolve_p90": N_("Concern time to resolve, 90th percentile (min)"),
    "delivery.undelivered": N_("Messages that could not be delivered"),
}

REPORT_TITLE = N_("Programme report")
TOTAL_LABEL = N_("Total")
FIGURE = N_("Figure")
MONTH = N_("Month")
MUNICIPALITY = N_("Municipality")
TEAM = N_("Team")
SHAREABLE_NOTE = N_("Counts from 1 to 4 are shown as <5 so no person can be singled out.")
PERIOD = N_("Period {first} to {last}")
GENERATED = N_("Made {at}. Aggregates only: no names, phone numbers or messages.")
CATEGORY = N_("Category: {name}")
URGENCY = N_("Urgency: {name}")
CHART_CHECKINS = N_("Check-ins sent and answered per month")
CHART_ALERTS = N_("Alerts per month by severity")
NO_DATA = N_("No data")


def metric_label(lang: str, key: str) -> str:
    if key in FIXED:
        return gettext(lang, FIXED[key])
    group, _, name = key.rpartition(".")
    if group == "concerns.category":
        return gettext(lang, CATEGORY, name=gettext(lang, CATEGORY_LABELS[name]))
    if group == "concerns.urgency":
        return gettext(lang, URGENCY, name=gettext(lang, URGENCY_LABELS[name]))
    return key


def column_label(lang: str, column: str) -> str:
    return gettext(lang, TOTAL_LABEL) if column == TOTAL else column


def section_label(lang: str, section: str) -> str:
    return gettext(lang, SECTION_LABELS[section])
