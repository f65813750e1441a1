"""The enumerations shared by the models and the domain: stored as their string values.

They sit beside the models (not in a domain package) because columns and domain rules both need
them, and the models import nothing from the domain.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Severity(StrEnum):
    LOW = "low"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order by urgency. Never compare members with ``<``: that compares the strings,
        and alphabetically "critical" < "high" < "low"."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 0, Severity.HIGH: 1, Severity.CRITICAL: 2}


class Target(StrEnum):
    ASSIGNED = "assigned"  # the tenant's own caseworker
    TEAM = "team"  # every caseworker on the tenant's team
    TEAM_LEAD = "team_lead"


class Channel(StrEnum):
    SMS = "sms"
    TELEGRAM = "telegram"
    EMAIL = "email"
    WEBHOOK = "webhook"


class OutboxKind(StrEnum):
    """What an outbox row carries (``OutboxItem.kind``, then ``Message.intent`` once sent)."""

    REPLY = "reply"  # the immediate answer to an inbound SMS (logged; sent as TwiML)
    CHECKIN = "checkin"
    REMINDER = "reminder"  # the one reminder of an unanswered check-in
    ALERT = "alert"  # an escalation step to a caseworker
    ALERT_REMINDER = "alert_reminder"  # acknowledged but unresolved
    CONCERN_STATUS = "concern_status"  # the landlord hears that someone acts
    CONCERN_TIMEOUT = "concern_timeout"  # an unfinished Telegram report was closed
    CASEWORKER_MESSAGE = "caseworker_message"  # a caseworker answers the tenant by SMS
    # Outgoing webhook events (the kind is the event name the receiver sees).
    ALERT_RAISED = "alert.raised"
    ALERT_NOTIFIED = "alert.notified"
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    ALERT_RESOLVED = "alert.resolved"
    ALERT_REOPENED = "alert.reopened"
    ALERT_RETRIGGERED = "alert.retriggered"  # a new cry reopened the case's escalation
    ALERT_UNDELIVERED = "alert.undelivered"  # even the fallback reached nobody
    ALERT_DELIVERED = "alert.delivered"  # that flag cleared: a provider took a message


# Messages that tell a caseworker about an alert: one that dies or never arrives told nobody.
ALERT_MESSAGE_KINDS = frozenset({OutboxKind.ALERT, OutboxKind.ALERT_REMINDER})


class OutboxPriority(IntEnum):
    """Which due outbox rows a dispatcher takes first (``OutboxItem.priority``, lower first).

    Caseworker alerts share a sending number and its rate cap with the check-in prompts: without
    an order, an alert raised at 10:00:05 would wait behind every prompt the planner queued at
    10:00 (thousands of rows at a few per second).
    """

    ALERT = 0  # a person must be told: escalation steps and alert reminders, alert webhooks
    CONVERSATION = 1  # someone is waiting for this answer: landlords, caseworker SMS, replies
    BULK = 2  # scheduled check-ins and their reminders: minutes late harms nobody

    @classmethod
    def of(cls, kind: str) -> OutboxPriority:
        if kind in (OutboxKind.CHECKIN, OutboxKind.REMINDER):
            return cls.BULK
        if kind in ALERT_MESSAGE_KINDS or kind.startswith("alert."):
            return cls.ALERT
        return cls.CONVERSATION


class Source(StrEnum):
    """Why an alert was raised. Values match ``Alert.source`` in the database."""

    CRISIS = "crisis"  # tenant wrote crisis words
    VIOLENCE = "violence"  # tenant wrote about violence in a close relationship
    NEED_HELP = "need_help"  # tenant answered 3 to a check-in, or asked for help
    CALL_ME = "call_me"  # tenant asked their caseworker to call
    MISSED = "missed"  # missed check-ins
    CONCERN = "concern"  # a landlord raised a concern
    DELIVERY_FAILED = "delivery_failed"  # messages to the tenant's number bounce
    MESSAGE = "message"  # tenant wrote free text (or words after an answer) for the caseworker


class LandlordUrgency(StrEnum):
    CAN_WAIT = "can_wait"
    THIS_WEEK = "this_week"
    URGENT_TODAY = "urgent_today"


class LandlordCategory(StrEnum):
    """Categories that affect severity; any other category string is accepted as-is."""

    NO_SIGN_OF_LIFE = "no_sign_of_life"
    WELLBEING = "wellbeing"


class AlertState(StrEnum):
    """Alert lifecycle; the database models use this same enum."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    REOPEN = "reopen"
