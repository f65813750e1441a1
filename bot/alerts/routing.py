"""Where an alert goes when its own team cannot take it: the municipality's intake route.

Every alert belongs to one municipality (`Alert.organisation_id`). An alert with no team (an
unknown sender, a concern about an empty home, a landlord who blocked the bot) is routed to the
municipality's intake team when it has one; the intake team's active caseworkers are then the
"team". Without an intake team, or when it has nobody active, the municipality's active admins
are the intake route. The same route is the escalator's last resort for any alert whose policy
reached nobody.

Also here: who a policy step's target means for an alert (`recipients`), whether anyone on its
route can be reached (`route_reachable`), which municipality an SMS from an unknown number
belongs to, and `Delivery`, what a process can send through (its settings and configured
channels), passed from the composition root to the code that decides whether a reply may say
"a person was told".
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.shifts import policy_and_hours
from bot.core.config import Settings
from bot.models import Alert, Caseworker, Organisation, Role, Team
from bot.models.enums import Channel, Severity, Target
from bot.ops.heartbeat import SenderWatch, sender_running

__all__ = ["Delivery", "blind_problem", "counts_as_told", "intake_people", "intake_team_id",
           "last_resort", "recipients", "route_reachable", "team_leads",
           "unknown_sender_organisation"]

# The channels that reach a person (the outgoing webhook reaches a system, not a person).
PERSON_CHANNELS = ("sms", "telegram", "email")
# Of those, the ones a person sees at once, at any hour (a phone).
INSTANT_CHANNELS = ("sms", "telegram")


def counts_as_told(severity: Severity | str, channel: Channel | str) -> bool:
    """Whether a notification on ``channel`` tells a person about an alert of ``severity``:
    SMS and Telegram always; e-mail only for a low alert (it waits for working hours anyway):
    a crisis e-mailed at 03:00 sits unread until morning, so for high and critical alerts an
    e-mail is still sent but the escalation goes on as if it reached nobody. The webhook never
    (it reaches a system). The one rule for every "told" (docs/routing.md)."""
    name = str(channel)
    if name in INSTANT_CHANNELS:
        return True
    return name in PERSON_CHANNELS and Severity(severity) is Severity.LOW
# The channels the fallback (intake route and team leads: the escalator's, and the last resort
# of words or reminders passed on again) uses: every one of them.
FALLBACK_CHANNELS = (Channel.SMS, Channel.TELEGRAM, Channel.EMAIL)


@dataclass(frozen=True)
class Delivery:
    """What this process can deliver through: its settings and configured channel names
    (None: every channel, as in tests and the demo)."""

    settings: Settings = field(default_factory=Settings)
    channels: frozenset[str] | None = None
    # A running process's view: the outbox is only as good as the worker or dispatcher that
    # sends it, so "told" also needs one of them alive (bot.ops.heartbeat.sender_running).
    needs_running_sender: bool = False
    # The process's memory of sender beats (its runtime's); None: ask the database each time.
    senders: SenderWatch | None = field(default=None, compare=False)

    @classmethod
    def of(cls, settings: Settings, channels: Collection[str],
           senders: SenderWatch | None = None) -> Delivery:
        return cls(settings, frozenset(channels), needs_running_sender=True, senders=senders)

    def sender_running(self, session: Session, now: datetime) -> bool:
        """Whether a worker or dispatcher beat within WORKER_STALE of ``now``."""
        if self.senders is not None:
            return self.senders.running(session, now)
        return sender_running(session, now)

    def queued_goes_out(self, session: Session, now: datetime) -> bool:
        """Whether a message queued now will be sent: unless this process needs a running
        sender and none has beaten for minutes, so nobody may be told it reached a person."""
        return not self.needs_running_sender or self.sender_running(session, now)

    def person_channels(self) -> list[str]:
        """Configured channels that can reach a person."""
        return [c for c in PERSON_CHANNELS if self.channels is None or c in self.channels]


def blind_problem(settings: Settings) -> str | None:
    """Why this deployment cannot deliver an alert to anyone, or None when it can: outside demo
    mode (console channels) at least one of SMS, Telegram or e-mail must be configured. One
    line naming the variables to set (the worker refuses to start with it)."""
    if settings.console_channels or any(
            c is not None for c in (settings.twilio, settings.telegram, settings.smtp)):
        return None
    return ("no delivery channel is configured, so alerts would reach nobody: set "
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER (SMS), "
            "TELEGRAM_BOT_TOKEN (Telegram) or SMTP_HOST (e-mail)")


def intake_team_id(session: Session, organisation_id: int | None) -> int | None:
    if organisation_id is None:
        return None
    org = session.get(Organisation, organisation_id)
    return org.intake_team_id if org is not None else None


def intake_people(session: Session, organisation_id: int | None) -> list[Caseworker]:
    """The intake team's active caseworkers; without any, the municipality's active admins."""
    if organisation_id is None:
        return []
    team_id = intake_team_id(session, organisation_id)
    if team_id is not None:
        members = list(session.scalars(
            select(Caseworker).where(Caseworker.team_id == team_id,
                                     Caseworker.active.is_(True)).order_by(Caseworker.id)))
        if members:
            return members
    return list(session.scalars(
        select(Caseworker).join(Team, Caseworker.team_id == Team.id)
        .where(Team.organisation_id == organisation_id, Caseworker.role == Role.ADMIN,
               Caseworker.active.is_(True)).order_by(Caseworker.id)))


def team_leads(session: Session, team_id: int | None) -> list[Caseworker]:
    if team_id is None:
        return []
    return list(session.scalars(
        select(Caseworker).where(Caseworker.team_id == team_id, Caseworker.role == Role.TEAM_LEAD,
                                 Caseworker.active.is_(True)).order_by(Caseworker.id)))


def last_resort(session: Session, alert: Alert) -> list[Caseworker]:
    """The intake route and the alert's team leads, each once: who is told when the alert's
    own route has reached nobody."""
    people: dict[int, Caseworker] = {}
    for person in (*intake_people(session, alert.organisation_id),
                   *team_leads(session, alert.team_id)):
        people.setdefault(person.id, person)
    return list(people.values())


def unknown_sender_organisation(session: Session, service_number: str | None) -> int | None:
    """The municipality of an SMS from an unknown number: the one whose service number it was
    sent to; else the only municipality; else the oldest one (the deployment's default, see
    docs/routing.md). None only when there is no municipality at all."""
    if service_number:
        found = session.scalar(select(Organisation.id)
                               .where(Organisation.sms_number == service_number))
        if found is not None:
            return found
    return session.scalar(select(Organisation.id).order_by(Organisation.id).limit(1))


def address_for(person: Caseworker, channel: Channel) -> str | None:
    """Where ``person`` can be reached on ``channel``, or None."""
    if channel is Channel.SMS:
        return person.phone or None
    if channel is Channel.TELEGRAM:
        return str(person.telegram_chat_id) if person.telegram_chat_id is not None else None
    if channel is Channel.EMAIL:
        return person.email or None
    return None


MISSING_ADDRESS = {Channel.SMS: "no phone", Channel.TELEGRAM: "no Telegram chat",
            Channel.EMAIL: "no e-mail"}


def recipients(session: Session, alert: Alert, target: Target) -> list[Caseworker]:
    """Who a policy step's target means for this alert (active caseworkers)."""
    if target is Target.ASSIGNED:
        owner = alert.owner
        return [owner] if owner is not None and owner.active else []
    if alert.team_id is None:
        # No team: the municipality's intake route stands in for the team and its lead.
        return intake_people(session, alert.organisation_id)
    query = select(Caseworker).where(Caseworker.team_id == alert.team_id,
                                     Caseworker.active.is_(True)).order_by(Caseworker.id)
    if target is Target.TEAM_LEAD:
        query = query.where(Caseworker.role == Role.TEAM_LEAD)
    return list(session.scalars(query))


def route_reachable(session: Session, alert: Alert, delivery: Delivery) -> bool:
    """Whether someone the alert's escalation would notify has an address on a configured
    channel that notifies them: a person a step of its policy targets, on that step's channels,
    or the fallback (the intake route and the team's leads, on every channel; as
    `bot.alerts.escalator` sends it). Then a notification that waits for working hours will
    reach a person when its time comes. A colleague the policy never names does not count. Not
    while the alert is flagged undelivered: its route has addresses, and they have been
    reaching nobody. Only channels that would count as telling a person about it
    (`counts_as_told`: no e-mail for a high or critical alert)."""
    if alert.undelivered_at is not None:
        return False
    configured = {Channel(c) for c in delivery.person_channels()
                  if counts_as_told(alert.severity, c)}
    policy, _ = policy_and_hours(session, alert, delivery.settings)  # read by its escalation
    wanted: dict[Target, set[Channel]] = {}  # target: the channels its steps notify it on
    for step in policy.steps:
        wanted.setdefault(step.target, set()).update(configured.intersection(step.channels))
    # Group by group, nearest first, so the usual answer (the owner) costs no query.
    groups: list[tuple[Callable[[], list[Caseworker]], Collection[Channel]]] = [
        (partial(recipients, session, alert, target), wanted[target])
        for target in (Target.ASSIGNED, Target.TEAM_LEAD, Target.TEAM) if wanted.get(target)]
    fallback = configured.intersection(FALLBACK_CHANNELS)
    groups += [(partial(intake_people, session, alert.organisation_id), fallback),
               (partial(team_leads, session, alert.team_id), fallback)]
    return any(person.active and address_for(person, channel) is not None
               for group, channels in groups if channels
               for person in group() for channel in channels)
