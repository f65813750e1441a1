"""For an urgent alert an e-mail is not a person told (bot.alerts.routing.counts_as_told), on
both databases.

A high or critical alert's e-mail is still sent as its policy says, but the escalation goes on
as if that step had reached nobody: the next step fires at once, the reply to the tenant does
not say told, the intake route and team lead are tried when the policy ends, and a provider
taking the e-mail does not clear the undelivered flag. A low alert (it waits for working hours
anyway) counts an e-mail as before.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import RETRY_UNDELIVERED, run_escalation
from bot.alerts.lifecycle import raise_alert
from bot.alerts.routing import Delivery, counts_as_told, route_reachable
from bot.core.config import Settings
from bot.models import Alert, AlertEvent, Caseworker, OutboxItem, OutboxStatus
from bot.models.enums import Channel, Severity
from bot.tenants import texts
from bot.tenants.conversation import handle_tenant_sms
from tests.support.alerts import intake_team
from tests.support.factories import World, add_tenant
from webhooks.dashboard.timeline import describe

NIGHT = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)  # Wednesday 03:00 in Copenhagen
DAY = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # Tuesday 10:30 in Copenhagen, working hours
CHANNELS = frozenset({"sms", "telegram", "email"})
EVERY_CHANNEL = Delivery(Settings(), CHANNELS)
CRISIS_WORDS = "jeg vil ikke leve mere"


@pytest.mark.parametrize("severity", list(Severity))
def test_only_sms_and_telegram_tell_a_person_about_an_urgent_alert(severity: Severity) -> None:
    assert counts_as_told(severity, Channel.SMS) and counts_as_told(severity, "telegram")
    assert counts_as_told(severity, Channel.EMAIL) is (severity is Severity.LOW)
    assert not counts_as_told(severity, Channel.WEBHOOK)


def _no_phones(session: Session) -> None:
    """Nobody in the world's team has a phone or Telegram: e-mail only."""
    for cw in session.scalars(select(Caseworker)):
        cw.phone = None
        cw.telegram_chat_id = None
    session.commit()


def _outbox(session: Session) -> list[tuple[str, str]]:
    session.expire_all()
    return [(r.channel, r.recipient)
            for r in session.scalars(select(OutboxItem).order_by(OutboxItem.id))]


def _notified(session: Session, alert_id: int) -> list[tuple[str, bool]]:
    return [(e.detail["channel"], e.detail["counted"]) for e in session.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id, AlertEvent.kind == "notified")
        .order_by(AlertEvent.id))]


def test_a_crisis_at_night_e_mailed_to_the_lead_is_not_told_and_goes_to_intake(
        session: Session, sessions: sessionmaker[Session], settings: Settings,
        world: World) -> None:
    """The reviewer's scenario: the team has no phones or Telegram, its lead an e-mail address.
    The e-mail goes, but nobody reads it before morning: the tenant gets the reply with the
    help lines, the alert is flagged undelivered (a provider taking the e-mail does not clear
    it), and once the intake team has someone on call, the fallback SMS reaches them."""
    _no_phones(session)
    out = handle_tenant_sms(session, world.tenant, CRISIS_WORDS, now=NIGHT,
                            delivery=EVERY_CHANNEL)
    session.commit()
    assert out.alert is not None and not out.told
    assert out.reply == texts.crisis_reply("da", told=False)
    alert_id = out.alert.id
    assert _outbox(session) == [("email", world.lead.email)]  # as the policy says
    assert _notified(session, alert_id) == [("email", False)]
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.undelivered_at == NIGHT

    # The provider took the e-mail: still nobody told.
    mail = session.scalars(select(OutboxItem)).one()
    mail.status = OutboxStatus.SENT
    session.commit()
    member = intake_team(session, world, phone="+4526000201")
    run_escalation(sessions, settings, channels=CHANNELS, now=NIGHT + RETRY_UNDELIVERED)
    session.expire_all()
    # The intake team's member on call gets the SMS (and an e-mail); the lead's e-mail is not
    # sent again on every retry: it would tell nobody more.
    assert _outbox(session) == [("email", world.lead.email), ("sms", member.phone),
                                ("email", member.email)]
    assert _notified(session, alert_id)[-2:] == [("sms", True), ("email", False)]
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.undelivered_at is not None  # the SMS is only queued
    kinds = session.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == alert_id))
    assert "delivered" not in list(kinds)


def test_a_crisis_at_night_reaches_the_intake_member_on_call_at_once(
        session: Session, world: World) -> None:
    """The same team, an intake member with a phone from the start: the e-mail does not end
    the escalation, so its steps run through at once and the fallback SMS goes with the
    reply, which may then say a person was told."""
    _no_phones(session)
    member = intake_team(session, world, phone="+4526000201")
    out = handle_tenant_sms(session, world.tenant, CRISIS_WORDS, now=NIGHT,
                            delivery=EVERY_CHANNEL)
    session.commit()
    assert ("email", world.lead.email) in _outbox(session)
    assert ("sms", member.phone) in _outbox(session)
    assert out.told and out.reply == texts.crisis_reply("da", told=True)
    assert out.alert is not None and out.alert.undelivered_at is None


def test_a_low_alert_e_mailed_to_its_owner_is_told(session: Session, world: World) -> None:
    """Words for the caseworker in working hours, owner by e-mail only: that counts, as ever
    (the alert waits for working hours anyway); the lead's step keeps its working day."""
    _no_phones(session)
    out = handle_tenant_sms(session, world.tenant, "varmen virker ikke", now=DAY,
                            delivery=EVERY_CHANNEL)
    session.commit()
    assert out.alert is not None and out.alert.severity == "low"
    assert _outbox(session) == [("email", world.caseworker.email)]
    assert _notified(session, out.alert.id) == [("email", True)]
    assert out.told and out.reply == texts.free_text_received("da", told=True)
    assert out.alert.next_action_at is not None and out.alert.next_action_at > DAY
    assert out.alert.steps_done == 1


def test_a_route_reachable_only_by_e_mail_is_reachable_only_for_a_low_alert(
        session: Session, world: World) -> None:
    _no_phones(session)
    urgent, _ = raise_alert(session, source="need_help", summary="3", tenant=world.tenant,
                            now=DAY)
    other = add_tenant(session, world)
    low, _ = raise_alert(session, source="message", summary="hej", tenant=other, now=DAY)
    assert not route_reachable(session, urgent, EVERY_CHANNEL)
    assert route_reachable(session, low, EVERY_CHANNEL)


def test_the_timeline_says_an_e_mail_did_not_count() -> None:
    detail = {"channel": "email", "caseworker_id": 1, "target": "team_lead", "step": 2}
    names = {1: "Mette Holm"}
    plain = describe("notified", detail, names, "en")
    assert plain == "e-mail to Mette Holm (team lead), step 3."
    assert describe("notified", {**detail, "counted": True}, names, "en") == plain
    assert describe("notified", {**detail, "counted": False}, names, "en") == (
        plain + " Not counted as telling a person: the alert is urgent and an e-mail may lie "
        "unread.")
    assert "Tæller ikke" in describe("notified", {**detail, "counted": False}, names, "da")
