"""A cry from a number we do not know reaches the intake route and gets an honest reply, every
time (bot.tenants.conversation.handle_unknown_sms through bot.tenants.inbound), on both
databases. Other words keep the once-a-day polite reply: two machines must not answer each other
forever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import texts as alert_texts
from bot.alerts.lifecycle import act
from bot.alerts.routing import Delivery
from bot.core.config import Settings
from bot.models import Alert, AlertEvent, Caseworker, OutboxItem
from bot.tenants import inbound as sms_inbound
from bot.tenants import texts
from bot.tenants.conversation import stranger_cry
from bot.tenants.intents import parse
from tests.support.alerts import intake_team
from tests.support.factories import World

NIGHT = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)  # 22:00 in Copenhagen, a Tuesday
SMS_ONLY = Delivery(Settings(), frozenset({"sms"}))
STRANGER = "+4529999999"


class _Texts:
    """One unknown number's SMS, each stored and processed in its own transactions, as the
    webhook does."""

    def __init__(self, sessions: sessionmaker[Session], sender: str = STRANGER) -> None:
        self.sessions, self.sender, self.sent = sessions, sender, 0

    def __call__(self, body: str, at: datetime) -> str | None:
        self.sent += 1
        with self.sessions() as s, s.begin():
            message_id, _ = sms_inbound.store(s, provider_id=f"SMu{self.sent}",
                                              sender=self.sender, recipient="+4570000000",
                                              body=body, now=at)
        with self.sessions() as s, s.begin():
            return sms_inbound.process(s, message_id, delivery=SMS_ONLY, now=at).reply


def _rows(session: Session) -> list[OutboxItem]:
    session.expire_all()
    return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def _alerts(session: Session) -> list[Alert]:
    session.expire_all()
    return list(session.scalars(select(Alert).order_by(Alert.id)))


def test_a_call_request_after_an_acknowledged_crisis_reaches_the_intake_route_and_is_answered(
        session: Session, sessions: sessionmaker[Session], world: World) -> None:
    """The reviewer's scenario: crisis words at 22:00, acknowledged by intake; two hours later
    "ring mig". The case starts a new escalation, the intake member's SMS names the call request
    and the number, and the sender is told a caseworker was asked to call."""
    member = intake_team(session, world)
    sms = _Texts(sessions)
    assert sms("jeg vil ikke leve mere", NIGHT) == texts.crisis_reply_stranger(told=True)
    [alert] = _alerts(session)
    with sessions() as s, s.begin():
        act(s, s.get(Alert, alert.id), "acknowledge", actor=s.get(Caseworker, member.id),
            via="sms", now=NIGHT + timedelta(minutes=10))
    before = len(_rows(session))

    reply = sms("ring mig", NIGHT + timedelta(hours=2))

    assert reply == texts.call_me_reply_stranger(told=True)
    [case] = _alerts(session)
    assert (case.id, case.state, case.source, case.severity) == (
        alert.id, "open", "call_me", "critical")
    retriggered = session.scalars(select(AlertEvent).where(
        AlertEvent.alert_id == case.id, AlertEvent.kind == "retriggered")).one()
    assert retriggered.detail["source"] == "call_me"
    [new] = _rows(session)[before:]
    assert (new.kind, new.recipient) == ("alert", member.phone)
    assert "beder om at blive ringet op" in new.body
    # The number, for calling back; never "a tenant" (it is nobody's case file).
    assert "29 99 99 99" in new.body and "lejer" not in new.body


@pytest.mark.parametrize(("body", "source", "cause"), [
    ("3", "need_help", "har bedt om hjælp"),
    ("hjælp", "need_help", "har bedt om hjælp"),
    ("ring mig", "call_me", "beder om at blive ringet op"),
])
def test_a_cry_from_an_unknown_number_without_a_case_raises_one_for_the_intake_route(
        session: Session, sessions: sessionmaker[Session], world: World, body: str,
        source: str, cause: str) -> None:
    member = intake_team(session, world)
    reply = _Texts(sessions)(body, NIGHT)

    [alert] = _alerts(session)
    assert (alert.source, alert.severity, alert.tenant_id, alert.sender_phone) == (
        source, "high", None, STRANGER)
    assert alert.team_id == world.org.intake_team_id and alert.owner_id is None
    assert STRANGER in alert.summary
    [row] = _rows(session)
    assert row.recipient == member.phone and cause in row.body
    expected = (texts.need_help_reply_stranger(told=True) if source == "need_help"
                else texts.call_me_reply_stranger(told=True))
    assert reply == expected
    assert "112" in reply and "70 201 201" in reply


@pytest.mark.parametrize("body", ["3", "ring mig"])
def test_a_cry_nobody_can_be_told_about_gets_the_help_lines_and_no_claim(
        session: Session, sessions: sessionmaker[Session], world: World, body: str) -> None:
    """An intake member without a phone, and no admin: nobody was told, so the reply says a
    caseworker will be asked, with 112 and Livslinien."""
    intake_team(session, world, phone=None)
    reply = _Texts(sessions)(body, NIGHT)
    [alert] = _alerts(session)
    assert alert.severity == "high"
    expected = (texts.need_help_reply_stranger(told=False) if body == "3"
                else texts.call_me_reply_stranger(told=False))
    assert reply == expected
    assert "112" in reply and "70 201 201" in reply
    assert "har fået besked" not in reply and "has been" not in reply


def test_a_cry_is_answered_after_the_days_polite_reply(
        session: Session, sessions: sessionmaker[Session], world: World) -> None:
    """The once-a-day reply stops two machines answering each other; it never silences a cry."""
    member = intake_team(session, world)
    sms = _Texts(sessions)
    assert sms("hej", NIGHT) == texts.unknown_sender()
    assert sms("hvem er det?", NIGHT + timedelta(minutes=1)) is None
    assert _alerts(session) == []
    assert sms("3", NIGHT + timedelta(minutes=2)) == texts.need_help_reply_stranger(told=True)
    assert [r.recipient for r in _rows(session)] == [member.phone]


def test_later_cries_join_the_numbers_running_case_and_every_one_is_answered(
        session: Session, sessions: sessionmaker[Session], world: World) -> None:
    """A cry on the number's case still escalating joins it (its timer unchanged); each gets a
    reply, the full one up to the day's limit, the help lines after it."""
    intake_team(session, world)
    sms = _Texts(sessions)
    replies = [sms(body, NIGHT + timedelta(minutes=i))
               for i, body in enumerate(["ring mig", "3", "hjælp", "ring mig"])]
    [alert] = _alerts(session)
    # No owner: its first step reached nobody, the intake route's came at once; no other.
    assert (alert.source, alert.trigger_count, alert.steps_done) == ("call_me", 4, 2)
    assert replies == [texts.call_me_reply_stranger(told=True),
                       texts.need_help_reply_stranger(told=True),
                       texts.need_help_reply_stranger(told=True),
                       texts.crisis_lines()]
    assert len(_rows(session)) == 1  # one notification: the escalation goes on as it was


def test_a_machine_saying_hej_every_minute_gets_one_reply_a_day(
        session: Session, sessions: sessionmaker[Session], world: World) -> None:
    intake_team(session, world)
    sms = _Texts(sessions)
    replies = [sms("hej", NIGHT + timedelta(minutes=i)) for i in range(90)]
    replies.append(sms("hej", NIGHT + timedelta(hours=23, minutes=59)))
    assert replies[0] == texts.unknown_sender() and set(replies[1:]) == {None}
    assert sms("hej", NIGHT + timedelta(hours=24, minutes=1)) == texts.unknown_sender()
    assert _alerts(session) == [] and _rows(session) == []


@pytest.mark.parametrize("body", ["3", "hjælp", "ring mig"])
def test_a_named_sender_cannot_ask_for_help(session: Session, sessions: sessionmaker[Session],
                                            world: World, body: str) -> None:
    """A short code or an alphanumeric sender is a machine (a carrier, a shop): no alert, and
    nothing to answer."""
    intake_team(session, world)
    assert _Texts(sessions, sender="Telenor")(body, NIGHT) is None
    assert _alerts(session) == []


def test_stranger_cries() -> None:
    assert stranger_cry(parse("3"), STRANGER) == "need_help"
    assert stranger_cry(parse("jeg har ingen mad"), STRANGER) == "need_help"
    assert stranger_cry(parse("kan du ringe til mig"), STRANGER) == "call_me"
    assert stranger_cry(parse("jeg vil dø"), "Telenor") == "crisis"
    for words in ("1", "2 træt", "hej", "stop", "hvem er du"):
        assert stranger_cry(parse(words), STRANGER) is None, words


@pytest.mark.parametrize("told", [True, False])
def test_a_stranger_reply_echoed_back_is_no_cry(told: bool) -> None:
    """A machine that echoes our reply must not make it a cry (a cry is always answered: that
    would be a loop)."""
    for reply in (texts.need_help_reply_stranger(told), texts.call_me_reply_stranger(told),
                  texts.crisis_reply_stranger(told), texts.violence_reply_stranger(),
                  texts.crisis_lines(), texts.violence_lines(), texts.unknown_sender()):
        for text in (reply, *reply.split("\n")):
            assert stranger_cry(parse(text), STRANGER) is None, text


def test_an_unknown_numbers_alert_text_shows_the_number() -> None:
    alert = Alert(id=9, source="call_me", severity="high", summary="x", sender_phone=STRANGER)
    assert alert_texts.headline(alert, "da") == (
        "Trygt Hjem #9 HØJ: ukendt nummer 29 99 99 99 beder om at blive ringet op.")
    assert alert_texts.headline(alert, "en") == (
        "Trygt Hjem #9 HIGH: unregistered number 29 99 99 99 asks to be called.")
