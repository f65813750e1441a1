"""A reply says a person was told only about *this* message: never because of an old
escalation's notification (bot.alerts.rules.join_trigger, bot.alerts.escalator.escalate_now,
bot.tenants.conversation), on both databases.

A cry (need-help, crisis, violence, a call request) on a case that is acknowledged, or whose
escalation has ended with nobody acting, starts a new escalation; words for the caseworker on
such a case are passed on to the person holding it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import act
from bot.alerts.routing import Delivery
from bot.core.config import Settings
from bot.models import AlertEvent, OutboxItem
from bot.tenants import texts
from bot.tenants.conversation import handle_tenant_sms
from tests.support.factories import World

NOW = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)  # a Tuesday, working hours
SMS_ONLY = Delivery(Settings(), frozenset({"sms"}))


def _rows(session: Session) -> list[OutboxItem]:
    session.flush()
    return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def _kinds(session: Session, alert_id: int) -> list[str]:
    return list(session.scalars(select(AlertEvent.kind).where(
        AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)))


@pytest.mark.parametrize("words", ["ring til mig", "han slår mig"])
def test_a_cry_after_acknowledgement_is_told_only_by_a_new_notification(
        session: Session, world: World, words: str) -> None:
    """A call request or violence words after the case was acknowledged: the owner's SMS about
    the first cry is no news of this one, so the case escalates anew and the owner is told."""
    first = handle_tenant_sms(session, world.tenant, "3", now=NOW, delivery=SMS_ONLY)
    assert first.told and first.alert is not None
    act(session, first.alert, "acknowledge", actor=world.caseworker, via="sms",
        now=NOW + timedelta(minutes=5))
    queued = len(_rows(session))

    later = handle_tenant_sms(session, world.tenant, words, now=NOW + timedelta(hours=2),
                              delivery=SMS_ONLY)
    new_rows = _rows(session)[queued:]
    assert later.alert is first.alert and first.alert.state == "open"
    kinds = _kinds(session, first.alert.id)
    assert kinds[kinds.index("retriggered") + 1] == "notified"
    assert [(r.kind, r.recipient) for r in new_rows] == [("alert", world.caseworker.phone)]
    assert later.told


@pytest.mark.parametrize(("first_words", "words"), [
    ("3", "3"), ("3", "ring til mig"),
    ("jeg vil ikke leve mere", "jeg vil ikke leve mere")])
def test_a_new_cry_on_a_case_whose_escalation_ended_escalates_anew(
        session: Session, sessions: sessionmaker[Session], settings: Settings, world: World,
        first_words: str, words: str) -> None:
    """Not acknowledged, the policy ran out days ago (the owner was told then, nobody acted):
    a new cry of the same severity starts a new escalation, and only its notification makes the
    reply say told."""
    first = handle_tenant_sms(session, world.tenant, first_words, now=NOW, delivery=SMS_ONLY)
    session.commit()
    run_escalation(sessions, settings, channels={"sms"}, now=NOW + timedelta(hours=6))
    session.expire_all()
    assert first.alert is not None and first.alert.next_action_at is None  # policy done
    queued = len(_rows(session))

    later = handle_tenant_sms(session, world.tenant, words,
                              now=NOW + timedelta(days=2), delivery=SMS_ONLY)
    new_rows = _rows(session)[queued:]
    assert "retriggered" in _kinds(session, first.alert.id)
    assert [r.recipient for r in new_rows if r.kind == "alert"] == [world.caseworker.phone]
    assert later.told and first.alert.next_action_at is not None  # escalating again


def test_words_after_acknowledgement_are_passed_on_to_who_acknowledged(
        session: Session, world: World) -> None:
    """Free text on an acknowledged case keeps it acknowledged, and the colleague who
    acknowledged it gets an SMS saying a new message came: only then is it 'sent'."""
    first = handle_tenant_sms(session, world.tenant, "3", now=NOW, delivery=SMS_ONLY)
    assert first.alert is not None
    act(session, first.alert, "acknowledge", actor=world.colleague, via="sms",
        now=NOW + timedelta(minutes=5))
    queued = len(_rows(session))

    words = handle_tenant_sms(session, world.tenant, "varmen virker stadig ikke",
                              now=NOW + timedelta(hours=1), delivery=SMS_ONLY)
    [row] = _rows(session)[queued:]
    assert first.alert.state == "acknowledged" and words.alert is first.alert
    assert row.recipient == world.colleague.phone and row.kind == "alert"
    assert "har sendt en besked" in row.body  # Danish: "has sent a message"
    assert words.told and words.reply == texts.free_text_received("da", told=True)


def test_a_thank_you_after_acknowledgement_stays_on_the_timeline(
        session: Session, world: World) -> None:
    """'tak' on an acknowledged case joins its timeline but sends the colleague no SMS (at
    any hour): the reply only says the caseworker can see it."""
    first = handle_tenant_sms(session, world.tenant, "3", now=NOW, delivery=SMS_ONLY)
    assert first.alert is not None
    act(session, first.alert, "acknowledge", actor=world.colleague, via="sms",
        now=NOW + timedelta(minutes=5))
    queued = len(_rows(session))

    thanks = handle_tenant_sms(session, world.tenant, "tak", now=NOW + timedelta(hours=12),
                               delivery=SMS_ONLY)
    assert thanks.alert is first.alert and first.alert.state == "acknowledged"
    assert _rows(session)[queued:] == []
    assert _kinds(session, first.alert.id)[-1] == "folded"
    assert thanks.reply == texts.greeting_received("da")

def test_words_on_a_dormant_case_whose_holder_cannot_be_reached_are_not_claimed_sent(
        session: Session, world: World) -> None:
    """Nobody on the case can be reached now: the reply must not say the words were sent, even
    though the case's first notification (long ago) was delivered."""
    first = handle_tenant_sms(session, world.tenant, "3", now=NOW, delivery=SMS_ONLY)
    assert first.alert is not None
    act(session, first.alert, "acknowledge", actor=world.caseworker, via="sms",
        now=NOW + timedelta(minutes=5))
    for cw in (world.lead, world.caseworker, world.colleague):
        cw.phone = None
    queued = len(_rows(session))

    words = handle_tenant_sms(session, world.tenant, "varmen virker stadig ikke",
                              now=NOW + timedelta(hours=1), delivery=SMS_ONLY)
    assert _rows(session)[queued:] == []
    assert not words.told and words.reply == texts.free_text_received("da", told=False)


def test_words_after_a_handover_are_passed_on_to_who_holds_the_case_now(
        session: Session, world: World) -> None:
    """Acknowledged, then handed to a colleague (leave, illness): the tenant's new words go to
    the colleague who holds the case now, not to the one who acknowledged and handed it on."""
    from bot.casework.queries import reassign_and_tell, viewer_for

    first = handle_tenant_sms(session, world.tenant, "3", now=NOW, delivery=SMS_ONLY)
    assert first.alert is not None
    act(session, first.alert, "acknowledge", actor=world.caseworker, via="sms",
        now=NOW + timedelta(minutes=5))
    reassign_and_tell(session, viewer_for(world.caseworker), first.alert, world.colleague,
                      Settings(), ["sms"])
    queued = len(_rows(session))

    words = handle_tenant_sms(session, world.tenant, "varmen virker stadig ikke",
                              now=NOW + timedelta(hours=1), delivery=SMS_ONLY)
    [row] = _rows(session)[queued:]
    assert row.recipient == world.colleague.phone and words.told
