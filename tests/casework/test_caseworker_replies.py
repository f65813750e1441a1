"""Caseworkers acting on alerts by SMS reply code, unit-level and end to end over the webhook."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import staff_texts as sms_staff_texts
from bot.alerts.lifecycle import act, raise_alert
from bot.casework.sms_replies import handle_caseworker_sms, may_act
from bot.models import Alert, AlertEvent, AuditEvent, Caseworker, Direction, Message, Role, Team
from tests.support.factories import World, add_tenant
from tests.support.sms import SMS_PATH, inbound_form, post_signed, twiml_messages


@pytest.fixture
def outsider(session: Session, world: World) -> Caseworker:
    """A caseworker on another team of the same municipality."""
    team = Team(organisation=world.org, name="Bostøtte Syd")
    worker = Caseworker(team=team, email="syd@odense.example", name="Lars Syd",
                        phone="+4526000201", language="en")
    session.add_all([team, worker])
    session.commit()
    return worker


@pytest.fixture
def alert(session: Session, world: World) -> Alert:
    raised, _ = raise_alert(session, source="need_help", summary="x", tenant=world.tenant)
    session.commit()
    return raised


def _notified(session: Session, alert: Alert, person: Caseworker, channel: str) -> None:
    session.add(AlertEvent(alert=alert, kind="notified", detail={
        "step": 1, "target": "team", "channel": channel, "caseworker_id": person.id}))
    session.commit()


def test_who_may_act(session: Session, world: World, outsider: Caseworker, alert: Alert) -> None:
    assert may_act(world.caseworker, alert)  # owner
    assert may_act(world.colleague, alert)  # same team
    assert may_act(world.lead, alert)  # the team's lead
    assert not may_act(outsider, alert)
    outsider.role = Role.ADMIN
    assert may_act(outsider, alert)  # an admin of the municipality
    world.colleague.active = False
    assert not may_act(world.colleague, alert)


def test_acknowledge_then_resolve(session: Session, world: World, alert: Alert) -> None:
    for told in (world.colleague, world.lead):  # the team step reached them
        _notified(session, alert, told, "sms")
    assert handle_caseworker_sms(session, world.caseworker, f"{alert.id} ok") == \
        f"Alarm {alert.id} er kvitteret. Tak."
    assert alert.state == "acknowledged" and alert.acknowledged_by_id == world.caseworker.id
    assert handle_caseworker_sms(session, world.colleague, f"OK #{alert.id}") == \
        f"Alarm {alert.id} var allerede kvitteret af {world.caseworker.name}."
    assert handle_caseworker_sms(session, world.lead, f"{alert.id} LØST") == \
        f"Alarm {alert.id} er lukket. Tak."
    assert alert.state == "resolved" and alert.resolved_by_id == world.lead.id
    assert handle_caseworker_sms(session, world.caseworker, f"{alert.id} lost") == \
        sms_staff_texts.already_closed("da", alert.id)
    assert handle_caseworker_sms(session, world.caseworker, f"{alert.id} ok") == \
        sms_staff_texts.already_closed("da", alert.id)
    session.flush()
    events = [(e.kind, e.actor, e.detail.get("via")) for e in session.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                 AlertEvent.kind != "notified").order_by(AlertEvent.id))]
    assert events[1:] == [("acknowledged", f"caseworker:{world.caseworker.id}", "sms"),
                          ("resolved", f"caseworker:{world.lead.id}", "sms")]


@pytest.mark.parametrize("body", ["ok", "42", "hvad betyder det?", "", "42 ikke ok", "1 2 ok"])
def test_unclear_codes_get_the_how_to(session: Session, world: World, alert: Alert,
                                      body: str) -> None:
    assert handle_caseworker_sms(session, world.caseworker, body) == (
        f"Forstod ikke beskeden. Svar fx {alert.id} OK for at kvittere for alarm {alert.id}, "
        f"eller {alert.id} LØST for at lukke den.")
    assert alert.state == "open"


def test_the_how_to_uses_a_code_of_the_caseworkers_own_current_alert(
        session: Session, world: World, outsider: Caseworker, alert: Alert) -> None:
    """The example is a code that works for this caseworker, never 42 or someone else's."""
    owner, colleague = world.caseworker, world.colleague
    # The owner: their open alert, OK or LØST; once acknowledged, only LØST is of use.
    assert f"{alert.id} OK" in handle_caseworker_sms(session, owner, "hvad?")
    act(session, alert, "acknowledge", actor=owner, via="dashboard")
    assert handle_caseworker_sms(session, owner, "hvad?") == \
        f"Forstod ikke beskeden. Svar fx {alert.id} LØST for at lukke alarm {alert.id}."
    # A colleague told by e-mail only has no SMS to answer: no number, just how codes work.
    _notified(session, alert, colleague, "email")
    neutral = handle_caseworker_sms(session, colleague, "hvad?")
    assert neutral == sms_staff_texts.unknown_code("da")
    assert not any(ch.isdigit() for ch in neutral) and "OK eller LØST" in neutral
    # Told by SMS: that alert is theirs to answer.
    _notified(session, alert, colleague, "sms")
    assert f"{alert.id} LØST" in handle_caseworker_sms(session, colleague, "hvad?")
    # Another team's caseworker, even told by SMS (the intake route, say), may not act on it.
    _notified(session, alert, outsider, "sms")
    assert handle_caseworker_sms(session, outsider, "?") == sms_staff_texts.unknown_code("en")
    # An open alert comes before an acknowledged one; closed alerts are no example.
    bo = add_tenant(session, world)
    newer, _ = raise_alert(session, source="call_me", summary="x", tenant=bo)
    session.commit()
    assert f"{newer.id} OK" in handle_caseworker_sms(session, owner, "?")
    for each in (newer, alert):
        act(session, each, "resolve", actor=owner, via="dashboard")
    assert handle_caseworker_sms(session, owner, "?") == sms_staff_texts.unknown_code("da")


def test_the_how_to_in_english(session: Session, world: World, alert: Alert) -> None:
    world.caseworker.language = "en"
    assert handle_caseworker_sms(session, world.caseworker, "what?") == (
        f"Not understood. Reply e.g. {alert.id} OK to acknowledge alert {alert.id}, or "
        f"{alert.id} LØST to close it.")


def test_unknown_alert_and_other_team(session: Session, world: World, outsider: Caseworker,
                                      alert: Alert) -> None:
    assert handle_caseworker_sms(session, world.caseworker, "999999 ok") == \
        "Der findes ingen alarm 999999. Tjek nummeret i alarm-SMS'en."
    # English for an English-speaking caseworker.
    assert handle_caseworker_sms(session, outsider, f"{alert.id} ok") == \
        f"Alert {alert.id} belongs to another team, so you cannot change it."
    assert alert.state == "open"
    session.flush()
    refused = session.scalar(select(AuditEvent).where(AuditEvent.action == "refused"))
    assert refused is not None and refused.actor == f"caseworker:{outsider.id}"


def test_a_mistyped_code_never_silences_an_alert_the_replier_was_not_told_about(
        session: Session, world: World, alert: Alert) -> None:
    """"24 OK" instead of "42 OK": alert 24 is a team colleague's, and the replier was never
    told about it. Acting on it would stop its escalation while nobody knows of it, so the
    replier is told it is not one of theirs and nothing changes."""
    owner, colleague = world.caseworker, world.colleague
    theirs, _ = raise_alert(session, source="need_help", summary="x",
                            tenant=add_tenant(session, world, caseworker=colleague))
    session.commit()
    _notified(session, theirs, colleague, "sms")
    for typo in (f"{theirs.id} ok", f"{theirs.id} løst"):
        assert handle_caseworker_sms(session, owner, typo) == (
            f"Alarm {theirs.id} er ikke en af dine alarmer, så intet er ændret. Tjek nummeret "
            "i alarm-SMS'en.")
    assert theirs.state == "open" and theirs.acknowledged_at is None
    session.flush()
    assert [e.kind for e in theirs.events] == ["raised", "notified"]
    refused = session.scalar(select(AuditEvent).where(AuditEvent.action == "refused"))
    assert refused is not None and refused.detail["reason"] == "not_told"
    # Told about it (any channel), or its owner: the code is theirs to use.
    _notified(session, theirs, owner, "email")
    assert handle_caseworker_sms(session, owner, f"{theirs.id} ok") == \
        sms_staff_texts.acknowledged("da", theirs.id)
    # Whoever acknowledged it knows it, and may close it by SMS.
    assert handle_caseworker_sms(session, world.lead, f"{alert.id} ok") != \
        sms_staff_texts.acknowledged("da", alert.id)
    act(session, alert, "acknowledge", actor=world.lead, via="dashboard")
    assert handle_caseworker_sms(session, world.lead, f"{alert.id} løst") == \
        sms_staff_texts.resolved("da", alert.id)


def test_reopened_alert_can_be_acknowledged_again(session: Session, world: World,
                                                  alert: Alert) -> None:
    act(session, alert, "resolve", actor=world.caseworker, via="dashboard")
    act(session, alert, "reopen", actor=world.lead, via="dashboard")
    _notified(session, alert, world.colleague, "sms")
    assert handle_caseworker_sms(session, world.colleague, f"kvitter {alert.id}") == \
        sms_staff_texts.acknowledged("da", alert.id)


# -- end to end over the webhook ---------------------------------------------------------------


def test_caseworker_acknowledges_by_sms_over_the_webhook(
        sms_client: FlaskClient, session: Session, world: World, alert: Alert) -> None:
    reply = twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
        world.caseworker.phone, f"{alert.id} ok")))
    assert reply == [f"Alarm {alert.id} er kvitteret. Tak."]
    session.expire_all()
    assert session.get(Alert, alert.id).state == "acknowledged"
    [inbound] = session.scalars(select(Message).where(Message.direction == Direction.IN)).all()
    assert (inbound.caseworker_id, inbound.tenant_id, inbound.intent) == (
        world.caseworker.id, None, "reply_code")


def test_other_teams_caseworker_is_refused_over_the_webhook(
        sms_client: FlaskClient, session: Session, world: World, outsider: Caseworker,
        alert: Alert) -> None:
    reply = twiml_messages(post_signed(sms_client, SMS_PATH, inbound_form(
        outsider.phone, f"{alert.id} løst")))
    assert reply == [sms_staff_texts.not_yours("en", alert.id)]
    session.expire_all()
    assert session.get(Alert, alert.id).state == "open"


def test_retry_of_a_reply_code_is_not_applied_twice(
        sms_client: FlaskClient, session: Session, world: World, alert: Alert) -> None:
    form = inbound_form(world.caseworker.phone, f"{alert.id} ok")
    first = twiml_messages(post_signed(sms_client, SMS_PATH, form))
    second = twiml_messages(post_signed(sms_client, SMS_PATH, form))
    assert first == second == [sms_staff_texts.acknowledged("da", alert.id)]
    session.expire_all()
    kinds = list(session.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == alert.id)))
    assert kinds == ["raised", "acknowledged"]
