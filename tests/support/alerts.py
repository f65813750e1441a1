"""Alert set-ups that several test modules share: an intake route, an alert told to its owner,
a need-help alert at its first step, a provider that refuses every message (or some numbers')."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import raise_alert
from bot.alerts.policies import save_policy
from bot.alerts.timetable import Policy, Step
from bot.channels.base import OutgoingMessage, PermanentError
from bot.core.config import Settings
from bot.models import Caseworker, OutboxItem, Team, Tenant
from tests.support.factories import World


def intake_team(session: Session, w: World, *, phone: str | None = "+4526000201") -> Caseworker:
    """An intake team for the world's municipality, with one caseworker."""
    team = Team(organisation=w.org, name="Modtagelsen")
    member = Caseworker(team=team, email="modtag@odense.example", name="Ida Modtag",
                        phone=phone)
    session.add_all([team, member])
    session.flush()
    w.org.intake_team_id = team.id
    session.commit()
    return member


def told_once(session: Session, sessions: sessionmaker[Session], settings: Settings, w: World,
              now: datetime) -> int:
    """A high alert whose policy is one SMS to its owner, raised and escalated at `now`: the
    owner's SMS is in the outbox and the policy is used up. Returns the alert's id."""
    save_policy(session, w.team.id, "high",
                Policy(steps=(Step(0, "assigned", ("sms",)),), repeat=0,  # type: ignore[arg-type]
                       working_hours_only=False))
    session.commit()
    return first_step_queued(sessions, settings, w, now)


def first_step_queued(sessions: sessionmaker[Session], settings: Settings, w: World,
                      now: datetime) -> int:
    """A need-help alert under the team's high policy (by default: owner now, team after
    30 min), raised and escalated at `now`: the owner's SMS is in the outbox. Returns its id."""
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="need_help", summary="3", now=now,
                               tenant=s.get(Tenant, w.tenant.id))
        alert_id = alert.id
    run_escalation(sessions, settings, channels={"sms"}, now=now)
    return alert_id


def pending_recipients(session: Session) -> set[str]:
    """Who the outbox still has a message waiting for, read afresh."""
    session.expire_all()
    return {r.recipient for r in session.scalars(select(OutboxItem)) if r.status == "pending"}


class RefusingSms:
    """A provider that refuses every message for good (Twilio 21211: an invalid number)."""

    name = "sms"
    sender = "+4570000000"

    def send(self, message: OutgoingMessage) -> str:
        raise PermanentError("21211: invalid 'To' number", code="21211")


class RefusingNumbers:
    """A provider that refuses the messages to ``numbers`` for good (dead numbers) and takes
    every other one."""

    name = "sms"
    sender = "+4570000000"

    def __init__(self, *numbers: str | None) -> None:
        self.numbers = set(numbers)
        self.taken: list[str] = []

    def send(self, message: OutgoingMessage) -> str:
        if message.recipient in self.numbers:
            raise PermanentError("21211: invalid 'To' number", code="21211")
        self.taken.append(message.recipient)
        return f"SM{len(self.taken):032d}"
