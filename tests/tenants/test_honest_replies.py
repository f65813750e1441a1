"""Replies say a person was told only when one was; unknown senders cannot flood the queue or
our SMS budget; one case per tenant (bot.tenants.conversation, bot.tenants.inbound,
bot.landlords.flow), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import act
from bot.alerts.policies import save_policy
from bot.alerts.routing import Delivery
from bot.alerts.timetable import Policy, Step
from bot.core.config import Settings
from bot.landlords.flow import Draft, report_concern
from bot.landlords.texts import concern_received
from bot.models import Alert, AlertEvent, Caseworker, Organisation, OutboxItem, Role
from bot.models.enums import Channel, Target
from bot.ops.heartbeat import WORKER_STALE, beat
from bot.tenants import inbound as sms_inbound
from bot.tenants import texts
from bot.tenants.conversation import UNKNOWN_REPLIES_PER_DAY, handle_tenant_sms
from tests.support.alerts import intake_team
from tests.support.factories import World

NOW = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)  # a Tuesday, 11:30 in Copenhagen
SMS_ONLY = Delivery(Settings(), frozenset({"sms"}))
STRANGER = "+4520304050"


def _alerts(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).order_by(Alert.id)))


def _nobody_reachable(session: Session, w: World) -> None:
    for cw in (w.lead, w.caseworker, w.colleague):
        cw.phone = None
    session.flush()


# -- tenants -----------------------------------------------------------------------------------


def test_crisis_reply_claims_the_caseworker_was_alerted_only_when_an_sms_is_queued(
        session: Session, world: World) -> None:
    told = handle_tenant_sms(session, world.tenant, "jeg vil ikke leve mere", now=NOW,
                             delivery=SMS_ONLY)
    assert told.told and told.reply == texts.crisis_reply("da", told=True)
    assert "har fået besked" in told.reply
    [row] = session.scalars(select(OutboxItem)).all()
    assert row.recipient == world.caseworker.phone and row.kind == "alert"


@pytest.mark.parametrize("sender", [None, "stale worker", "dispatcher"])
def test_told_needs_a_running_worker_or_dispatcher(session: Session, world: World,
                                                   sender: str | None) -> None:
    """In a deployment the outbox reaches a person only while a worker or `trygthjem dispatch`
    beats: with none for minutes, the SMS is queued for when one starts, and the tenant gets the
    calm reply with the help lines instead of "your caseworker has been told"."""
    if sender == "stale worker":
        beat(session, "worker", now=NOW - WORKER_STALE - timedelta(seconds=1))
    elif sender == "dispatcher":
        beat(session, "dispatcher", now=NOW - timedelta(seconds=20))
    deployed = Delivery.of(Settings(), {"sms"})
    outcome = handle_tenant_sms(session, world.tenant, "jeg vil ikke leve mere", now=NOW,
                                delivery=deployed)
    [row] = session.scalars(select(OutboxItem)).all()  # queued either way
    assert row.recipient == world.caseworker.phone
    running = sender == "dispatcher"
    assert outcome.told is running
    assert outcome.reply == texts.crisis_reply("da", told=running)


def test_crisis_reply_when_nobody_can_be_reached_is_calm_and_gives_the_help_lines(
        session: Session, world: World) -> None:
    _nobody_reachable(session, world)
    outcome = handle_tenant_sms(session, world.tenant, "jeg vil ikke leve mere", now=NOW,
                                delivery=SMS_ONLY)
    assert not outcome.told and outcome.reply == texts.crisis_reply("da", told=False)
    assert "112" in outcome.reply and "70 201 201" in outcome.reply
    assert "besked" not in outcome.reply and "kontaktperson" not in outcome.reply
    assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0
    [alert] = _alerts(session)
    # The alert is not forgotten: flagged undelivered and due again for a retry.
    assert alert.undelivered_at == NOW and alert.next_action_at is not None


def test_violence_reply_says_the_caseworker_knows_only_when_one_was_told(
        session: Session, world: World) -> None:
    told = handle_tenant_sms(session, world.tenant, "han slår mig", now=NOW, delivery=SMS_ONLY)
    assert told.told and told.reply == texts.violence_reply("da", told=True)
    assert "1888" in told.reply and "har fået besked" in told.reply
    _nobody_reachable(session, world)
    other = handle_tenant_sms(session, world.tenant, "jeg er bange for min kæreste", now=NOW,
                              delivery=SMS_ONLY)
    # Joins the same case; with nobody reachable now, no claim, but 1888 and 112 always.
    assert other.reply is not None and "1888" in other.reply and "112" in other.reply


def test_need_help_call_me_and_words_when_nobody_can_be_reached(
        session: Session, world: World) -> None:
    _nobody_reachable(session, world)
    need = handle_tenant_sms(session, world.tenant, "3", now=NOW, delivery=SMS_ONLY)
    assert need.reply == texts.reply_need_help("da", told=False)
    assert "70 201 201" in (need.reply or "")
    call = handle_tenant_sms(session, world.tenant, "ring mig", now=NOW, delivery=SMS_ONLY)
    assert call.reply == texts.call_me_ack("da", told=False)
    words = handle_tenant_sms(session, world.tenant, "varmen virker ikke", now=NOW,
                              delivery=SMS_ONLY)
    assert words.reply == texts.free_text_received("da", told=False)


def test_words_for_the_caseworker_at_night_say_sent_when_someone_will_see_them(
        session: Session, world: World) -> None:
    """A low alert waits for working hours: not told yet, but its owner can be reached then."""
    night = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    words = handle_tenant_sms(session, world.tenant, "varmen virker ikke", now=night,
                              delivery=SMS_ONLY)
    assert not words.told and words.reply == texts.free_text_received("da", told=True)


NIGHT = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)  # a Tuesday, 22:00 in Copenhagen


def _owner_gone_lead_without_phone(session: Session, w: World) -> None:
    """The tenant's caseworker has left and the lead has no phone; a colleague has one."""
    w.caseworker.active = False
    w.lead.phone = None
    session.flush()


def test_words_at_night_are_not_called_sent_when_only_a_colleague_the_policy_skips_has_a_phone(
        session: Session, world: World) -> None:
    """The low policy names the owner and the lead, the fallback the intake route and the lead:
    a colleague's phone is no route for these words, so the reply may not say they were sent
    (at 08:00 nobody would be told)."""
    _owner_gone_lead_without_phone(session, world)
    words = handle_tenant_sms(session, world.tenant, "min bror er død, jeg ved ikke hvad jeg "
                              "skal gøre", now=NIGHT, delivery=SMS_ONLY)
    assert words.reply == texts.free_text_received("da", told=False)
    assert "sendt til din kontaktperson" not in (words.reply or "")


@pytest.mark.parametrize("route", ["team step", "intake route"])
def test_words_at_night_are_called_sent_when_the_policy_or_fallback_names_someone_reachable(
        session: Session, world: World, route: str) -> None:
    """The same team, but a policy step to the whole team (the colleague), or an intake team
    with a phone (the fallback): someone will be told when the hours come."""
    _owner_gone_lead_without_phone(session, world)
    if route == "team step":
        save_policy(session, world.team.id, "low", Policy(
            steps=(Step(0, Target.ASSIGNED, (Channel.SMS,)), Step(60, Target.TEAM, (Channel.SMS,))),
            repeat=0, working_hours_only=True))
    else:
        intake_team(session, world)
    words = handle_tenant_sms(session, world.tenant, "varmen virker ikke", now=NIGHT,
                              delivery=SMS_ONLY)
    assert words.reply == texts.free_text_received("da", told=True)


def test_the_owners_phone_counts_only_when_the_policy_texts_them(
        session: Session, world: World) -> None:
    """The low policy reaches the owner by Telegram only, and they have not linked it: their
    phone will never carry these words."""
    world.lead.phone = None
    world.colleague.phone = None
    save_policy(session, world.team.id, "low", Policy(
        steps=(Step(0, Target.ASSIGNED, (Channel.TELEGRAM,)),), repeat=0,
        working_hours_only=True))
    both = Delivery(Settings(), frozenset({"sms", "telegram"}))
    words = handle_tenant_sms(session, world.tenant, "varmen virker ikke", now=NIGHT,
                              delivery=both)
    assert words.reply == texts.free_text_received("da", told=False)


def test_a_channel_that_is_not_configured_does_not_count_as_told(
        session: Session, world: World) -> None:
    """Only Telegram configured, and nobody has linked Telegram: nobody can be told."""
    telegram_only = Delivery(Settings(), frozenset({"telegram"}))
    outcome = handle_tenant_sms(session, world.tenant, "3", now=NOW, delivery=telegram_only)
    assert not outcome.told and outcome.reply == texts.reply_need_help("da", told=False)


# -- one case per tenant ----------------------------------------------------------------------


def test_one_case_per_tenant_severity_only_rises(session: Session, world: World) -> None:
    handle_tenant_sms(session, world.tenant, "varmen virker ikke", now=NOW)
    handle_tenant_sms(session, world.tenant, "ring mig", now=NOW + timedelta(minutes=1))
    handle_tenant_sms(session, world.tenant, "jeg vil ikke leve mere",
                      now=NOW + timedelta(minutes=2))
    handle_tenant_sms(session, world.tenant, "undskyld", now=NOW + timedelta(minutes=3))
    [case] = _alerts(session)
    assert (case.severity, case.source, case.trigger_count) == ("critical", "crisis", 4)
    triggers = [e.kind for e in case.events if e.kind in ("raised", "folded", "retriggered")]
    assert triggers == ["raised", "retriggered", "retriggered", "folded"]
    texts_seen = [e.detail.get("text") for e in case.events
                  if e.kind in ("raised", "folded", "retriggered")]
    assert texts_seen == ["varmen virker ikke", "ring mig", "jeg vil ikke leve mere", "undskyld"]


def test_need_help_after_acknowledgement_tells_the_owner_again_at_once(
        session: Session, world: World) -> None:
    first = handle_tenant_sms(session, world.tenant, "3", now=NOW, delivery=SMS_ONLY)
    assert first.alert is not None
    act(session, first.alert, "acknowledge", actor=world.caseworker, via="sms", now=NOW)
    chatter = handle_tenant_sms(session, world.tenant, "tak", now=NOW + timedelta(minutes=5),
                                delivery=SMS_ONLY)
    assert chatter.alert is first.alert and first.alert.state == "acknowledged"  # folded
    again = handle_tenant_sms(session, world.tenant, "3", now=NOW + timedelta(minutes=10),
                              delivery=SMS_ONLY)
    assert again.alert is first.alert and first.alert.state == "open" and again.told
    rows = session.scalars(select(OutboxItem).where(
        OutboxItem.recipient == world.caseworker.phone).order_by(OutboxItem.id)).all()
    # The "tak" stays on the timeline (no SMS for a thank-you); the new "3" tells the owner at
    # once, in the same transaction as the message.
    assert len(rows) == 2 and "har sendt en besked" not in rows[1].body
    kinds = [e.kind for e in first.alert.events]
    assert kinds.count("retriggered") == 1 and kinds.count("folded") == 1


# -- unknown senders --------------------------------------------------------------------------


def _inbound(session: Session, body: str, sid: str, now: datetime,
             to: str = "+4570103000") -> str | None:
    message_id, _ = sms_inbound.store(session, provider_id=sid, sender=STRANGER,
                                      recipient=to, body=body, now=now)
    reply = sms_inbound.process(session, message_id, delivery=SMS_ONLY, now=now).reply
    session.commit()
    return reply


def test_unknown_sender_flood_is_one_alert_and_capped_replies_but_always_the_help_lines(
        session: Session, world: World) -> None:
    admin = Caseworker(team=world.team, email="admin@odense.example", name="Karen Dahl",
                       phone="+4526000108", role=Role.ADMIN)
    session.add(admin)
    session.commit()
    replies = [_inbound(session, "jeg vil ikke leve mere", f"SMf{i}",
                        NOW + timedelta(seconds=20 * i)) for i in range(162)]
    [alert] = _alerts(session)
    assert alert.trigger_count == 162 and alert.sender_phone == STRANGER
    assert alert.organisation_id == world.org.id
    full = [r for r in replies if r == texts.crisis_reply_stranger(told=True)]
    assert len(full) == UNKNOWN_REPLIES_PER_DAY
    assert replies[UNKNOWN_REPLIES_PER_DAY:] == [texts.crisis_lines()] * (
        162 - UNKNOWN_REPLIES_PER_DAY)
    assert all(r is not None and "112" in r and "70 201 201" in r for r in replies)
    # Words without crisis join the open alert; no reply once the day's replies are used.
    assert _inbound(session, "hallo?", "SMf-x", NOW + timedelta(hours=1)) is None
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Alert)) == 1
    folded = session.scalars(select(AlertEvent).where(AlertEvent.kind == "folded")
                             .order_by(AlertEvent.id.desc())).first()
    assert folded is not None and folded.detail["text"] == "hallo?"
    # The intake route (the admin) is told as the policy says (steps at 0, 15, 30, 45 min in
    # these 54 minutes), not once per message.
    to_admin = session.scalars(select(OutboxItem).where(
        OutboxItem.recipient == admin.phone)).all()
    assert 1 <= len(to_admin) <= 4


def test_unknown_sender_alert_belongs_to_the_municipality_it_texted(
        session: Session, world: World) -> None:
    svendborg = Organisation(name="Svendborg Kommune", sms_number="+4570104000")
    session.add(svendborg)
    session.commit()
    _inbound(session, "jeg vil dø", "SMs1", NOW, to="+4570104000")
    [alert] = _alerts(session)
    assert alert.organisation_id == svendborg.id and alert.tenant_id is None


# -- landlords ---------------------------------------------------------------------------------


def _draft(home_id: int, urgency: str = "urgent_today") -> Draft:
    return Draft(home_id=home_id, category="wellbeing", urgency=urgency,
                 description="Ingen har set ham i en uge")


def test_concern_about_an_empty_home_receipt_says_alerted_when_the_intake_route_was(
        session: Session, world: World) -> None:
    admin = Caseworker(team=world.team, email="admin@odense.example", name="Karen Dahl",
                       phone="+4526000108", role=Role.ADMIN)
    session.add(admin)
    session.flush()
    receipt = report_concern(session, world.other_landlord, _draft(world.other_home.id),
                             SMS_ONLY, NOW)
    assert receipt.told
    [row] = session.scalars(select(OutboxItem)).all()
    assert row.recipient == admin.phone
    text = concern_received("da", receipt.reference, told=receipt.told, waits=receipt.waits)
    assert "har fået besked nu" in text and "Lejerens" not in text


def test_concern_receipt_when_nobody_can_be_reached(session: Session, world: World) -> None:
    _nobody_reachable(session, world)
    receipt = report_concern(session, world.other_landlord, _draft(world.other_home.id),
                             SMS_ONLY, NOW)
    assert not receipt.told and not receipt.waits
    text = concern_received("da", receipt.reference, told=False, waits=False)
    assert "har fået besked" not in text and "112" in text
    assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0


def test_a_landlord_concern_keeps_its_own_alert_beside_the_tenants_case(
        session: Session, world: World) -> None:
    """The landlord follows the concern's status, so it never disappears into the tenant's
    case, and the tenant's case is not mixed with the landlord's report."""
    case = handle_tenant_sms(session, world.tenant, "3", now=NOW).alert
    receipt = report_concern(session, world.landlord, _draft(world.home.id), SMS_ONLY, NOW)
    alerts = _alerts(session)
    assert len(alerts) == 2 and case is alerts[0] and case.trigger_count == 1
    assert alerts[1].concern is not None and alerts[1].concern.reference == receipt.reference
