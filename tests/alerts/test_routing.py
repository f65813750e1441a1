"""Every alert reaches a person: the intake route, moving on past unreachable steps, the
fallback to intake + team lead, the undelivered flag and its retries (bot.alerts.escalator,
bot.alerts.routing), against a real database.

T0 is Tuesday 3 March 2026, 10:00 in Copenhagen.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import CHECK_UNDELIVERED, RETRY_UNDELIVERED, run_escalation
from bot.alerts.lifecycle import act, raise_alert
from bot.alerts.policies import save_policy
from bot.alerts.routing import unknown_sender_organisation
from bot.alerts.timetable import Policy, Step
from bot.alerts.told import person_told
from bot.casework.queries import alert_queue, viewer_for
from bot.casework.sms_replies import handle_caseworker_sms
from bot.channels.base import OutgoingMessage, TransientError
from bot.channels.console import ConsoleChannel
from bot.core.config import Settings
from bot.delivery.dispatcher import Dispatcher
from bot.models import (
    Alert,
    AlertEvent,
    Caseworker,
    Home,
    Organisation,
    OutboxItem,
    Role,
    utcnow,
)
from tests.support.alerts import (
    RefusingSms,
    first_step_queued,
    intake_team,
    pending_recipients,
    told_once,
)
from tests.support.factories import World, make_world

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _outbox(session: Session) -> list[OutboxItem]:
    session.expire_all()
    return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def _kinds(session: Session, alert_id: int) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == alert_id)
                                .order_by(AlertEvent.id)))


def _admin(session: Session, w: World, *, phone: str | None = "+4526000208") -> Caseworker:
    cw = Caseworker(team=w.team, email="admin@odense.example", name="Karen Dahl", phone=phone,
                    role=Role.ADMIN)
    session.add(cw)
    session.commit()
    return cw


def _unknown_crisis(sessions: sessionmaker[Session], org_id: int | None = None) -> int:
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="crisis", summary="ukendt nummer", now=T0,
                               sender_phone="+4520304050", organisation_id=org_id)
        return alert.id


def test_a_teamless_alert_goes_to_theintake_team(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    member = intake_team(session, w)
    alert_id = _unknown_crisis(sessions)
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.team_id == w.org.intake_team_id
    assert alert.organisation_id == w.org.id
    run_escalation(sessions, settings, channels={"sms"}, now=T0)
    # No owner: the first step (assigned) reaches nobody and the team step fires at once.
    assert {r.recipient for r in _outbox(session)} == {member.phone}
    session.expire_all()
    assert session.get(Alert, alert_id).next_action_at is not None  # type: ignore[union-attr]


def test_without_an_intake_team_the_admins_are_the_route(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    admin = _admin(session, w)
    alert_id = _unknown_crisis(sessions)
    run_escalation(sessions, settings, channels={"sms"}, now=T0)
    assert {r.recipient for r in _outbox(session)} == {admin.phone}
    assert "undelivered" not in _kinds(session, alert_id)
    # Reached by the policy's team step (the admins stand in for the team), not the fallback.
    [told] = session.scalars(select(AlertEvent).where(AlertEvent.kind == "notified")).all()
    assert told.detail["target"] == "team" and not told.detail["fallback"]


def test_an_empty_intake_team_falls_back_to_the_admins(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    member = intake_team(session, w)
    member.active = False
    admin = _admin(session, w)
    session.commit()
    _unknown_crisis(sessions)
    run_escalation(sessions, settings, channels={"sms"}, now=T0)
    assert {r.recipient for r in _outbox(session)} == {admin.phone}


def test_a_concern_about_an_empty_home_reaches_the_intake_route(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    member = intake_team(session, w)
    with sessions() as s, s.begin():
        home = s.get(Home, w.other_home.id)  # nobody lives there
        alert, _ = raise_alert(s, source="concern", summary="TH-1", home=home, now=T0,
                               detail={"category": "wellbeing", "urgency": "urgent_today"})
        assert alert.team_id == w.org.intake_team_id and alert.owner_id is None
    run_escalation(sessions, settings, channels={"sms"}, now=T0)
    assert {r.recipient for r in _outbox(session)} == {member.phone}


def test_unreachable_steps_move_on_and_end_on_intake_and_the_lead(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """A policy that only names the owner, who has no phone: its step reaches nobody, the
    policy is exhausted at once, and the intake route and the team lead are told."""
    w = make_world(session)
    member = intake_team(session, w)
    save_policy(session, w.team.id, "high",
                Policy(steps=(Step(0, "assigned", ("sms",)),), repeat=0,  # type: ignore[arg-type]
                       working_hours_only=False))
    w.caseworker.phone = None
    session.commit()
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="need_help", summary="3", now=T0,
                               tenant=s.get(type(w.tenant), w.tenant.id))
        alert_id = alert.id
    stats = run_escalation(sessions, settings, channels={"sms"}, now=T0)
    assert stats.unreachable == 1
    assert {r.recipient for r in _outbox(session)} == {member.phone, w.lead.phone}
    kinds = _kinds(session, alert_id)
    assert kinds[:2] == ["raised", "skipped"] and "unreachable" in kinds
    assert kinds.count("notified") == 2 and "undelivered" not in kinds
    notified = session.scalars(select(AlertEvent).where(AlertEvent.kind == "notified")).all()
    assert all(e.detail["fallback"] for e in notified)
    session.expire_all()
    alert_row = session.get(Alert, alert_id)
    assert alert_row is not None and alert_row.next_action_at is None  # a person was told
    # The intake caseworker who was told can open and act on the other team's alert, by SMS
    # code too; before the fallback they could not.
    assert alert_row.intake_at == T0 and alert_row.team_id == w.team.id
    assert alert_id in {a.id for a in alert_queue(session, viewer_for(member))}
    answer = handle_caseworker_sms(session, member, f"{alert_id} OK")
    session.commit()
    assert session.get(Alert, alert_id).state == "acknowledged", answer  # type: ignore[union-attr]


def test_nobody_anywhere_is_undelivered_and_stays_due_until_someone_is_reached(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    for cw in (w.lead, w.caseworker, w.colleague):
        cw.phone = None
    session.commit()
    alert_id = _unknown_crisis(sessions)
    stats = run_escalation(sessions, settings, channels={"sms"}, now=T0)
    assert stats.undelivered == 1 and _outbox(session) == []
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.undelivered_at == T0
    assert alert.next_action_at == T0 + RETRY_UNDELIVERED  # never NULL while nobody knows
    assert _kinds(session, alert_id).count("undelivered") == 1
    # Still nobody: tried again, flagged once, still due.
    later = T0 + RETRY_UNDELIVERED
    run_escalation(sessions, settings, channels={"sms"}, now=later)
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.next_action_at == later + RETRY_UNDELIVERED
    assert _kinds(session, alert_id).count("undelivered") == 1
    # An admin with a phone arrives: the next retry queues an SMS for them. Queued is not yet
    # reached (it may die too): the flag clears once the provider has taken it.
    admin = _admin(session, w)
    retry = later + RETRY_UNDELIVERED
    run_escalation(sessions, settings, channels={"sms"}, now=retry)
    assert [r.recipient for r in _outbox(session)] == [admin.phone]
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.undelivered_at is not None
    assert alert.next_action_at == retry + CHECK_UNDELIVERED
    assert Dispatcher(sessions, {"sms": ConsoleChannel("sms", io.StringIO())}).run_once().sent == 1
    run_escalation(sessions, settings, channels={"sms"}, now=retry + CHECK_UNDELIVERED)
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.undelivered_at is None and alert.next_action_at is None
    assert _kinds(session, alert_id)[-1] == "delivered"


def test_an_undelivered_alert_heads_the_queue_and_acknowledging_clears_it(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    w = make_world(session)
    admin = _admin(session, w, phone=None)
    for cw in (w.lead, w.caseworker, w.colleague):
        cw.phone = None
    session.commit()
    with sessions() as s, s.begin():
        low, _ = raise_alert(s, source="message", summary="words", now=T0,
                             tenant=s.get(type(w.tenant), w.tenant.id))
        low_id = low.id
    lonely = _unknown_crisis(sessions)
    run_escalation(sessions, settings, channels={"sms"}, now=T0)
    session.expire_all()
    crit, _ = raise_alert(session, source="crisis", summary="x", now=T0,
                          tenant=_second_tenant(session, w))
    session.commit()
    queue = [a.id for a in alert_queue(session, viewer_for(admin))]
    assert queue[0] == lonely and set(queue) == {lonely, low_id, crit.id}
    # Also when the list is cut short (the database orders it, not only Python).
    assert [a.id for a in alert_queue(session, viewer_for(admin), limit=1)] == [lonely]
    alert = session.get(Alert, lonely)
    assert alert is not None and alert.undelivered_at is not None
    act(session, alert, "acknowledge", actor=admin, via="dashboard", now=T0)
    session.commit()
    assert alert.undelivered_at is None


def _second_tenant(session: Session, w: World) -> object:
    from tests.support.factories import add_tenant

    return add_tenant(session, w)


def test_an_unknown_senders_municipality_is_the_number_it_texted(session: Session) -> None:
    odense = Organisation(name="Odense Kommune", sms_number="+4570103000")
    svendborg = Organisation(name="Svendborg Kommune", sms_number="+4570104000")
    session.add_all([odense, svendborg])
    session.commit()
    assert unknown_sender_organisation(session, "+4570104000") == svendborg.id
    assert unknown_sender_organisation(session, "+4570103000") == odense.id
    # A number that is no municipality's: the oldest municipality (documented default).
    assert unknown_sender_organisation(session, "+4599999999") == odense.id
    assert unknown_sender_organisation(session, None) == odense.id


def test_a_reopened_or_retriggered_alert_escalates_anew(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """After acknowledgement a new need-help reopens the case and its owner is told again at
    once (a new epoch: new idempotency keys), never silently folded."""
    w = make_world(session)
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="need_help", summary="3", now=T0,
                               tenant=s.get(type(w.tenant), w.tenant.id))
        alert_id = alert.id
    run_escalation(sessions, settings, channels={"sms"}, now=T0)
    with sessions() as s, s.begin():
        act(s, s.get(Alert, alert_id), "acknowledge", actor=s.get(Caseworker, w.caseworker.id),
            via="sms", now=T0 + timedelta(minutes=2))
    with sessions() as s, s.begin():
        again, created = raise_alert(s, source="need_help", summary="3 igen",
                                     now=T0 + timedelta(minutes=5),
                                     tenant=s.get(type(w.tenant), w.tenant.id))
        assert not created and again.id == alert_id and again.state == "open"
    run_escalation(sessions, settings, channels={"sms"}, now=T0 + timedelta(minutes=5))
    to_owner = [r for r in _outbox(session) if r.recipient == w.caseworker.phone]
    assert len(to_owner) == 2 and to_owner[0].idempotency_key != to_owner[1].idempotency_key
    assert "retriggered" in _kinds(session, alert_id)


def test_a_notification_that_dies_at_the_provider_does_not_count_as_told(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """The owner's SMS is dead-lettered: the alert is due again at once and, its policy used up,
    goes to the intake route and the team lead instead of resting as 'a person was told'."""
    w = make_world(session)
    member = intake_team(session, w)
    alert_id = told_once(session, sessions, settings, w, T0)
    assert [r.recipient for r in _outbox(session)] == [w.caseworker.phone]
    with sessions() as s:
        row = s.get(Alert, alert_id)
        assert row is not None and person_told(s, row)

    stats = Dispatcher(sessions, {"sms": RefusingSms()}).run_once()  # type: ignore[dict-item]
    assert stats.dead == 1
    with sessions() as s:
        row = s.get(Alert, alert_id)
        died_at = utcnow()
        assert row is not None and not person_told(s, row)
        assert row.next_action_at is not None and row.next_action_at <= died_at  # due at once
    run_escalation(sessions, settings, channels={"sms"}, now=died_at)
    assert pending_recipients(session) == {member.phone, w.lead.phone}
    assert "notification_failed" in _kinds(session, alert_id)


def test_a_dead_first_step_moves_on_to_the_next_step_at_once(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """The default high policy (owner now, team after 30 min): the owner's SMS dies, so nobody
    was told, and the team is told at once, as if the first step had reached nobody, not when
    its 30 minutes are up."""
    w = make_world(session)
    now = utcnow()
    alert_id = first_step_queued(sessions, settings, w, now)
    assert pending_recipients(session) == {w.caseworker.phone}

    assert Dispatcher(sessions, {"sms": RefusingSms()}).run_once().dead == 1  # type: ignore[dict-item]
    died_at = utcnow()
    run_escalation(sessions, settings, channels={"sms"}, now=died_at)
    team = {w.lead.phone, w.caseworker.phone, w.colleague.phone}
    assert pending_recipients(session) == team
    with sessions() as s:
        row = s.get_one(Alert, alert_id)
        assert row.steps_done == 2 and person_told(s, row)


class _DownSms:
    """A provider that cannot take anything for now (down, or refusing our credentials):
    every attempt fails in a way worth retrying, for maybe an hour of backoff."""

    name = "sms"
    sender = "+4570000000"

    def send(self, message: OutgoingMessage) -> str:
        raise TransientError("Twilio rejected the credentials (HTTP 401)")


def test_an_alert_message_stuck_in_retries_stops_counting_as_told(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """The owner's SMS fails once (a blip: still told, retried within seconds), then again: it
    may keep retrying for an hour before it is dead-lettered, so the alert no longer rests on
    it and the team is told at once, while the owner's retry goes on."""
    w = make_world(session)
    now = utcnow()
    alert_id = first_step_queued(sessions, settings, w, now)
    ahead = [0.0]
    down = Dispatcher(sessions, {"sms": _DownSms()},  # type: ignore[dict-item]
                      clock=lambda: time.time() + ahead[0])
    assert down.run_once().retried == 1
    with sessions() as s:
        assert person_told(s, s.get_one(Alert, alert_id))  # one failure: retried in seconds
    ahead[0] = 60  # past the first backoff (15 s, jittered up to 22.5 s)
    assert down.run_once().retried == 1
    with sessions() as s:
        row = s.get_one(Alert, alert_id)
        assert not person_told(s, row) and row.next_action_at is not None
    run_escalation(sessions, settings, channels={"sms"}, now=utcnow() + timedelta(seconds=60))
    team = {w.lead.phone, w.caseworker.phone, w.colleague.phone}
    assert pending_recipients(session) == team
    with sessions() as s:
        assert s.get_one(Alert, alert_id).steps_done == 2


def test_a_route_of_dead_numbers_is_flagged_undelivered(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """Owner, intake and lead all have numbers the provider refuses for good (desk landlines):
    once the fallback's messages have all died the alert is flagged undelivered ('Reached
    nobody'), and the refused SMS go out again only every RETRY_UNDELIVERED, not every run."""
    w = make_world(session)
    intake_team(session, w)
    alert_id = told_once(session, sessions, settings, w, utcnow())
    refusing = Dispatcher(sessions, {"sms": RefusingSms()})  # type: ignore[dict-item]
    start = utcnow()
    flagged_at: list[int] = []
    for k in range(1, 6):
        refusing.run_once()
        run_escalation(sessions, settings, channels={"sms"}, now=start + timedelta(seconds=10 * k))
        with sessions() as s:
            if s.get_one(Alert, alert_id).undelivered_at is not None:
                flagged_at.append(k)
    assert flagged_at == [2, 3, 4, 5]  # the owner's SMS died, then the fallback's
    # owner, intake, lead
    assert len(_outbox(session)) == 3 and pending_recipients(session) == set()
    assert _kinds(session, alert_id).count("undelivered") == 1
    with sessions() as s:
        row = s.get_one(Alert, alert_id)
        assert row.next_action_at is not None and not person_told(s, row)
        retry_at = row.next_action_at
    assert retry_at - (start + timedelta(seconds=10)) == RETRY_UNDELIVERED
    run_escalation(sessions, settings, channels={"sms"}, now=retry_at)
    # tried again, still flagged
    assert pending_recipients(session) == {"+4526000201", w.lead.phone}
    with sessions() as s:
        assert s.get_one(Alert, alert_id).undelivered_at is not None


def test_a_fallback_in_the_same_second_as_a_dead_one_is_not_told_by_the_dead_rows(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """The worker's fast lane runs escalation, dispatch, escalation within a second. A second
    fallback in the same second as the one whose messages just died must not find the dead
    rows and rest as 'told', with every message dead and nothing left to send."""
    w = make_world(session)
    intake_team(session, w)
    alert_id = told_once(session, sessions, settings, w, utcnow())
    refusing = Dispatcher(sessions, {"sms": RefusingSms()})  # type: ignore[dict-item]
    refusing.run_once()  # the owner's SMS dies
    second = utcnow().replace(microsecond=0) + timedelta(seconds=2)
    run_escalation(sessions, settings, channels={"sms"}, now=second)  # fallback: intake + lead
    refusing.run_once()  # both die
    run_escalation(sessions, settings, channels={"sms"},
                   now=second + timedelta(milliseconds=600))
    with sessions() as s:
        row = s.get_one(Alert, alert_id)
        assert not person_told(s, row)
        assert row.undelivered_at is not None and row.next_action_at is not None


def _flag_dead_route(sessions: sessionmaker[Session], session: Session, settings: Settings,
                     w: World) -> tuple[int, datetime]:
    """Owner, intake and lead on numbers the provider refuses: the owner's SMS and then the
    fallback's die, and the alert is flagged undelivered, its next try RETRY_UNDELIVERED away."""
    intake_team(session, w)
    alert_id = told_once(session, sessions, settings, w, utcnow())
    refusing = Dispatcher(sessions, {"sms": RefusingSms()})  # type: ignore[dict-item]
    start = utcnow()
    for k in (1, 2):
        refusing.run_once()
        run_escalation(sessions, settings, channels={"sms"}, now=start + timedelta(seconds=k))
    with sessions() as s:
        row = s.get_one(Alert, alert_id)
        assert row.undelivered_at is not None and row.next_action_at is not None
        assert row.next_action_at > start + timedelta(minutes=4)
    return alert_id, start + timedelta(seconds=3)


def test_a_cry_on_a_case_that_reached_nobody_escalates_at_once_and_is_not_called_told(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """The tenant's case is flagged undelivered (every message on its route died) and waits
    minutes for its next try. A new '3' must not wait for it: the escalation starts again at
    once (the owner's number may work again), and since the route has been reaching nobody the
    reply gives the helplines instead of saying the caseworker has been told."""
    from bot.alerts.routing import Delivery
    from bot.tenants import texts
    from bot.tenants.conversation import handle_tenant_sms

    w = make_world(session)
    alert_id, now = _flag_dead_route(sessions, session, settings, w)
    sms_only = Delivery(settings, frozenset({"sms"}))
    with sessions() as s, s.begin():
        outcome = handle_tenant_sms(s, s.get_one(Alert, alert_id).tenant, "3", now=now,
                                    delivery=sms_only)
        assert outcome.alert is not None and outcome.alert.id == alert_id
        assert not outcome.told
        assert outcome.reply == texts.reply_need_help(w.tenant.language, told=False)
    kinds = _kinds(session, alert_id)
    assert kinds[-2:] == ["retriggered", "notified"]
    assert pending_recipients(session) == {w.caseworker.phone}  # queued now, not in 5 min
    with sessions() as s:
        row = s.get_one(Alert, alert_id)
        assert row.undelivered_at is not None  # until a provider takes one of its messages


def test_words_on_a_case_that_reached_nobody_are_not_called_passed_on(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """Free text on a case flagged undelivered folds into it, and the reply does not say it
    was passed on: the route it would go by has been reaching nobody."""
    from bot.alerts.routing import Delivery
    from bot.tenants import texts
    from bot.tenants.conversation import handle_tenant_sms

    w = make_world(session)
    alert_id, now = _flag_dead_route(sessions, session, settings, w)
    with sessions() as s, s.begin():
        outcome = handle_tenant_sms(s, s.get_one(Alert, alert_id).tenant,
                                    "Varmen virker ikke", now=now,
                                    delivery=Delivery(settings, frozenset({"sms"})))
        assert outcome.reply == texts.free_text_received(w.tenant.language, told=False)
    assert _kinds(session, alert_id)[-1] == "folded"


def test_the_webhook_reports_reaching_nobody_and_reaching_someone_again(
        sessions: sessionmaker[Session], session: Session, settings: Settings) -> None:
    """The case system hears that an alert reached nobody (`alert.undelivered`, when to try
    again) and when a provider took one of its messages after all (`alert.delivered`): the
    state every queue shows first, not only the dashboard's."""
    import json

    from bot.alerts import events as alert_webhook

    w = make_world(session)
    for cw in (w.lead, w.caseworker, w.colleague):
        cw.phone = None
    session.commit()
    alert_webhook.enable(sessions, "https://case.example/hook")
    alert_id = _unknown_crisis(sessions)
    run_escalation(sessions, settings, channels={"sms"}, now=T0)
    hooks = [r for r in _outbox(session) if r.channel == "webhook"]
    assert [r.kind for r in hooks] == ["alert.raised", "alert.undelivered"]
    body = json.loads(hooks[-1].body)
    assert body["event"] == "alert.undelivered" and body["alert"]["id"] == alert_id
    assert body["alert"]["undelivered_since"] == "2026-03-03T09:00:00Z"
    assert body["detail"] == {"retry_at": (T0 + RETRY_UNDELIVERED).isoformat()}
    # Someone with a phone; the provider takes the message: reached after all.
    _admin(session, w)
    retry = T0 + RETRY_UNDELIVERED
    run_escalation(sessions, settings, channels={"sms"}, now=retry)
    Dispatcher(sessions, {"sms": ConsoleChannel("sms", io.StringIO())}).run_once()
    run_escalation(sessions, settings, channels={"sms"}, now=retry + CHECK_UNDELIVERED)
    hooks = [r for r in _outbox(session) if r.channel == "webhook"]
    assert [r.kind for r in hooks][-2:] == ["alert.notified", "alert.delivered"]
    body = json.loads(hooks[-1].body)
    assert body["alert"]["undelivered_since"] is None and body["alert"]["id"] == alert_id
    assert "+4520304050" not in " ".join(r.body for r in hooks)  # the sender's number stays
