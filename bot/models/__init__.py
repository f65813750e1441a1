"""All database models; import from here so metadata is complete for Alembic."""

from bot.models.alerts import (
    Alert,
    AlertEvent,
    Concern,
    ConcernStatus,
    EscalationPolicy,
    EscalationStep,
)
from bot.models.audit import AuditEvent
from bot.models.base import Base, UTCDateTime, utcnow
from bot.models.checkins import CheckIn, CheckInStatus
from bot.models.enums import AlertState
from bot.models.housing import Consent, Home, Landlord, LandlordInvite, PhoneStatus, Tenant
from bot.models.messaging import (
    Direction,
    KeptSmsStatus,
    Message,
    OutboxItem,
    OutboxStatus,
    SendSlot,
)
from bot.models.notes import BotState, CaseNote
from bot.models.ops import Heartbeat
from bot.models.org import Caseworker, Organisation, Role, Team
from bot.models.web import LoginAttempt, WebSession

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertState",
    "AuditEvent",
    "Base",
    "BotState",
    "CaseNote",
    "Caseworker",
    "CheckIn",
    "CheckInStatus",
    "Concern",
    "ConcernStatus",
    "Consent",
    "Direction",
    "EscalationPolicy",
    "EscalationStep",
    "Heartbeat",
    "Home",
    "KeptSmsStatus",
    "Landlord",
    "LandlordInvite",
    "LoginAttempt",
    "Message",
    "Organisation",
    "OutboxItem",
    "OutboxStatus",
    "PhoneStatus",
    "Role",
    "SendSlot",
    "Team",
    "Tenant",
    "UTCDateTime",
    "WebSession",
    "utcnow",
]
