"""Words passed on to a dormant case's holder, and reminders, reach the next person when their
messages die (bot.alerts.passon), on both databases: the holder's dead SMS goes to the owner,
then the team, then the intake route and the team lead; nobody at all is one `unreachable`
event, not a retry every run; a second run (or a second worker) sends nothing twice.

Times are real (`utcnow`): the dispatcher that kills the messages sends by the real clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from bot.alerts.escalator import escalate_now, run_escalation
from bot.alerts.lifecycle import act, raise_alert
from bot.alerts.passon import DeadAttempt, dead_attempts
from bot.alerts.routing import Delivery
from bot.channels.base import OutgoingMessage, PermanentError
from bot.core.config import Settings
from bot.delivery.dispatcher import Dispatcher
from bot.models import Alert, AlertEvent, Caseworker, OutboxItem, Tenant, utcnow
from bot.models.enums import Source
from bot.tenants import texts
from bot.tenants.conversation import handle_tenant_sms
from tests.support.alerts import (
    RefusingNumbers,
    first_step_queued,
    intake_team,
    pending_recipients,
    told_once,
)
from tests.support.concurrency import run_together
from tests.support.factories import World, make_world
from webhooks.dashboard.timeline import describe

SMS_ONLY = Delivery(Settings(), frozenset({"sms"}))
WORDS = "varmen virker stadig ikke"


def _rows(session: Session, after: int = 0) -> list[OutboxItem]:
    session.expire_all()
    return list(session.scalars(select(OutboxItem).where(OutboxItem.id > after)
                                .order_by(OutboxItem.id)))


def _last_row(session: Session) -> int:
    rows = _rows(session)
    return rows[-1].id if rows else 0


def _events(session: Session, alert_id: int, kind: str) -> list[AlertEvent]:
    session.expire_all()
    return list(session.scalars(select(AlertEvent).where(
        AlertEvent.alert_id == alert_id, AlertEvent.kind == kind).order_by(AlertEvent.id)))


def _dispatch(sessions: sessionmaker[Session], *dead: str | None) -> int:
    """Send what is due; the numbers in ``dead`` are refused for good. Returns how many died."""
    return Dispatcher(sessions, {"sms": RefusingNumbers(*dead)}).run_once().dead  # type: ignore[dict-item]


def _escalate(sessions: sessionmaker[Session], settings: Settings) -> None:
    run_escalation(sessions, settings, channels={"sms"}, now=utcnow())


def _acknowledged(session: Session, sessions: sessionmaker[Session], settings: Settings,
                  w: World, by: Caseworker, at: datetime) -> int:
    """A need-help case raised at ``at``, its owner's SMS sent, acknowledged by ``by``."""
    alert_id = first_step_queued(sessions, settings, w, at)
    assert _dispatch(sessions) == 0
    with sessions() as s, s.begin():
        act(s, s.get_one(Alert, alert_id), "acknowledge", actor=s.get_one(Caseworker, by.id),
            via="sms", now=at + timedelta(minutes=5))
    return alert_id


def _words(session: Session, w: World, at: datetime) -> bool:
    """The tenant's free text on their case; whether the reply says it was passed on."""
    outcome = handle_tenant_sms(session, session.get_one(Tenant, w.tenant.id), WORDS, now=at,
                                delivery=SMS_ONLY)
    session.commit()
    assert outcome.reply == texts.free_text_received("da", told=outcome.told)
    return outcome.told


def test_words_whose_sms_to_the_acknowledger_dies_go_to_the_owner(
        session: Session, sessions: sessionmaker[Session], settings: Settings) -> None:
    """The tenant was told the words were passed on to the colleague who acknowledged the case;
    that SMS is dead-lettered: the owner gets the words instead, once, under a key of its own."""
    w = make_world(session)
    alert_id = _acknowledged(session, sessions, settings, w, w.colleague, utcnow())
    mark = _last_row(session)
    assert _words(session, w, utcnow())
    [passed] = _rows(session, mark)
    assert passed.recipient == w.colleague.phone

    assert _dispatch(sessions, w.colleague.phone) == 1
    _escalate(sessions, settings)
    [again] = _rows(session, passed.id)
    assert again.recipient == w.caseworker.phone and again.kind == "alert"
    assert "har sendt en besked" in again.body  # Danish: "has sent a message"
    assert again.idempotency_key.startswith(f"alert:{alert_id}:joined:2:r")
    notified = _events(session, alert_id, "notified")[-1].detail
    assert notified["why"] == "joined" and notified["caseworker_id"] == w.caseworker.id

    _escalate(sessions, settings)  # a second tick: nothing twice
    assert _rows(session, again.id) == []
    alert = session.get_one(Alert, alert_id)
    assert alert.state == "acknowledged" and alert.next_action_at is not None
    assert alert.next_action_at > utcnow() + timedelta(hours=12)  # waits for the reminder


def test_words_whose_team_is_all_dead_numbers_reach_intake_and_the_lead(
        session: Session, sessions: sessionmaker[Session], settings: Settings) -> None:
    """Holder, owner and the rest of the team are desk landlines the provider refuses: each
    death moves the words one group on, to the intake route (and the lead, who died already)
    as the last resort, who may then act on the other team's alert."""
    w = make_world(session)
    member = intake_team(session, w)
    alert_id = _acknowledged(session, sessions, settings, w, w.colleague, utcnow())
    mark = _last_row(session)
    assert _words(session, w, utcnow())
    dead = (w.colleague.phone, w.caseworker.phone, w.lead.phone)
    for _ in range(5):
        _dispatch(sessions, *dead)
        _escalate(sessions, settings)
    assert [r.recipient for r in _rows(session, mark)] == [
        w.colleague.phone, w.caseworker.phone, w.lead.phone, member.phone]
    assert [r.status for r in _rows(session, mark)] == ["dead", "dead", "dead", "sent"]
    alert = session.get_one(Alert, alert_id)
    assert alert.intake_at is not None and alert.undelivered_at is None
    assert _events(session, alert_id, "unreachable") == []


def test_words_that_can_reach_nobody_after_their_death_are_unreachable_once(
        session: Session, sessions: sessionmaker[Session], settings: Settings) -> None:
    """Every number on the route is dead and there is no intake route: the last retry reaches
    nobody, which goes on the timeline and in the log once; later runs do not try again."""
    w = make_world(session)
    alert_id = _acknowledged(session, sessions, settings, w, w.colleague, utcnow())
    mark = _last_row(session)
    assert _words(session, w, utcnow())
    dead = (w.colleague.phone, w.caseworker.phone, w.lead.phone)
    with capture_logs() as logs:
        for _ in range(6):
            _dispatch(sessions, *dead)
            _escalate(sessions, settings)
    assert [r.recipient for r in _rows(session, mark)] == list(dead)
    [unreachable] = _events(session, alert_id, "unreachable")
    assert unreachable.detail == {"joined": 2, "retry_of": "joined:2"}
    assert describe("unreachable", unreachable.detail, {}, "da") == (
        "Beskederne om de nye ord kom ikke frem, og ingen andre kunne nås.")
    assert [e["event"] for e in logs if e["log_level"] == "error"
            and e["event"].startswith("alert.passon")] == ["alert.passon_unreachable"]
    alert = session.get_one(Alert, alert_id)
    assert alert.next_action_at is not None
    assert alert.next_action_at > utcnow() + timedelta(hours=12)  # no retry every run


def test_a_reminder_whose_sms_dies_goes_to_the_next_person(
        session: Session, sessions: sessionmaker[Session], settings: Settings) -> None:
    """An acknowledged case's reminder (a day later) dies at the provider: the owner is
    reminded instead, and the reminders keep their own rhythm."""
    w = make_world(session)
    start = utcnow() - timedelta(days=2)
    alert_id = _acknowledged(session, sessions, settings, w, w.colleague, start)
    mark = _last_row(session)
    _escalate(sessions, settings)  # the reminder, 24 h after the acknowledgement
    [reminder] = _rows(session, mark)
    assert reminder.recipient == w.colleague.phone and reminder.kind == "alert_reminder"
    reminded_at = session.get_one(Alert, alert_id).last_reminder_at

    assert _dispatch(sessions, w.colleague.phone) == 1
    _escalate(sessions, settings)
    _escalate(sessions, settings)
    [again] = _rows(session, reminder.id)
    assert again.recipient == w.caseworker.phone and again.kind == "alert_reminder"
    assert again.body == reminder.body
    assert again.idempotency_key.startswith(
        reminder.idempotency_key.rsplit(":", 2)[0] + ":r")
    alert = session.get_one(Alert, alert_id)
    assert describe("unreachable", {"reminder": True, "retry_of": "reminder:1"}, {}, "en") == (
        "The reminder's messages all failed, and nobody else could be reached.")
    assert alert.last_reminder_at == reminded_at and alert.next_action_at is not None
    assert reminded_at is not None and alert.next_action_at == reminded_at + timedelta(days=1)


def test_a_reminder_whose_acknowledger_has_left_goes_to_the_owner(
        session: Session, sessions: sessionmaker[Session], settings: Settings) -> None:
    """The colleague who acknowledged the case has left (deactivated) before its reminder is
    due: the reminder goes to the case's owner, not only an 'unreachable' on the timeline."""
    w = make_world(session)
    start = utcnow() - timedelta(days=2)
    alert_id = _acknowledged(session, sessions, settings, w, w.colleague, start)
    w.colleague.active = False
    session.commit()
    mark = _last_row(session)
    _escalate(sessions, settings)  # the reminder, 24 h after the acknowledgement
    [reminder] = _rows(session, mark)
    assert reminder.recipient == w.caseworker.phone and reminder.kind == "alert_reminder"
    assert session.get_one(Alert, alert_id).last_reminder_at is not None

def test_words_on_a_case_whose_policy_ended_go_to_the_team_when_the_owners_sms_dies(
        session: Session, sessions: sessionmaker[Session], settings: Settings) -> None:
    """Open, its policy done (the owner's SMS went out). The words passed on to the owner die:
    the rest of the team gets them. The escalation's own SMS to the owner is still delivered,
    so this is no reason for the intake route and lead fallback, nor for 'undelivered'."""
    w = make_world(session)
    member = intake_team(session, w)
    alert_id = told_once(session, sessions, settings, w, utcnow())
    assert _dispatch(sessions) == 0  # the owner's SMS is sent
    mark = _last_row(session)
    assert _words(session, w, utcnow())
    assert pending_recipients(session) == {w.caseworker.phone}

    assert _dispatch(sessions, w.caseworker.phone) == 1
    _escalate(sessions, settings)
    assert pending_recipients(session) == {w.lead.phone, w.colleague.phone}
    assert member.phone not in {r.recipient for r in _rows(session, mark)}
    alert = session.get_one(Alert, alert_id)
    assert alert.undelivered_at is None and alert.next_action_at is None
    _escalate(sessions, settings)
    assert len(_rows(session, mark)) == 3


class _RefusingPassOns:
    """A provider that refuses the words passed on (their keys) and takes everything else."""

    name = "sms"
    sender = "+4570000000"

    def send(self, message: OutgoingMessage) -> str:
        if ":joined:" in message.idempotency_key:
            raise PermanentError("21211: invalid 'To' number", code="21211")
        return "SM" + "0" * 32


def test_a_dead_pass_on_is_not_the_death_of_the_new_escalations_sms_to_the_same_person(
        session: Session, sessions: sessionmaker[Session], settings: Settings) -> None:
    """Words passed on to the owner, then a cry that escalates the case anew: its first SMS
    goes to the owner too. The words' SMS dies after that: the new escalation's SMS is alive,
    so its team step waits its 30 minutes instead of firing at once."""
    w = make_world(session)
    alert_id = _acknowledged(session, sessions, settings, w, w.caseworker, utcnow())
    assert _words(session, w, utcnow())
    cry = handle_tenant_sms(session, session.get_one(Tenant, w.tenant.id), "3", now=utcnow(),
                            delivery=SMS_ONLY)
    session.commit()
    assert cry.told and cry.alert is not None and cry.alert.id == alert_id
    mark = _last_row(session)
    assert Dispatcher(sessions, {"sms": _RefusingPassOns()}).run_once().dead == 1  # type: ignore[dict-item]
    _escalate(sessions, settings)
    assert _rows(session, mark) == []  # the team is not told yet
    alert = session.get_one(Alert, alert_id)
    assert alert.steps_done == 1 and alert.next_action_at is not None
    assert alert.next_action_at > utcnow() + timedelta(minutes=25)


def test_two_workers_retry_a_dead_pass_on_once(
        session: Session, sessions: sessionmaker[Session], settings: Settings,
        backend: str) -> None:
    """Two escalators at the same moment (alerts claimed FOR UPDATE SKIP LOCKED): every dead
    pass-on is sent again once."""
    if backend != "postgresql":
        pytest.skip("row claims with SKIP LOCKED are a PostgreSQL feature; SQLite has one writer")
    w = make_world(session)
    tenants = [Tenant(organisation=w.org, name=f"T{i}", phone=f"+452900{i:04d}", home=w.home,
                      caseworker=w.caseworker) for i in range(20)]
    session.add_all(tenants)
    session.commit()
    at = utcnow()
    with sessions() as s, s.begin():
        colleague = s.get_one(Caseworker, w.colleague.id)
        for t in tenants:
            tenant = s.get_one(Tenant, t.id)
            alert, _ = raise_alert(s, source="need_help", summary="3", tenant=tenant, now=at)
            escalate_now(s, alert, SMS_ONLY, at, new=True)
            act(s, alert, "acknowledge", actor=colleague, via="sms", now=at)
            raise_alert(s, source="message", summary=WORDS, tenant=tenant, now=at)
            assert escalate_now(s, alert, SMS_ONLY, at, source=Source.MESSAGE)
    mark = _last_row(session)
    assert _dispatch(sessions, w.colleague.phone) == 20
    later = utcnow()
    run_together(lambda _: run_escalation(sessions, settings, channels={"sms"}, now=later,
                                          batch=3))
    again = [r for r in _rows(session, mark) if ":r" in r.idempotency_key]
    assert len(again) == 20 and {r.recipient for r in again} == {w.caseworker.phone}


def _notified(key: str, person: int, cause: str | None = "message") -> tuple[
        str, dict[str, object], datetime]:
    detail: dict[str, object] = {"key": key, "caseworker_id": person, "channel": "sms"}
    if cause:
        detail["cause"] = cause
    return ("notified", detail, utcnow())


def _died(key: str | None, person: int) -> tuple[str, dict[str, object], datetime]:
    detail: dict[str, object] = {"caseworker_id": person, "channel": "sms"}
    if key:
        detail["key"] = key
    return ("notification_failed", detail, utcnow())


def test_dead_attempts_finds_what_died_and_who_it_went_to() -> None:
    """Pure: only pass-ons and reminders; the latest attempt of each counts, and its keys with
    no death on the timeline are left to the outbox to confirm."""
    rows = [
        _notified("alert:1:e0:step:0:sms:7", 7),  # the escalation's own: never sent again
        _died("alert:1:e0:step:0:sms:7", 7),
        _notified("alert:1:joined:2:sms:8", 8, cause="missed"),
        _died("alert:1:joined:2:sms:8", 8),
        _notified("alert:1:joined:2:r40:sms:7", 7, cause="missed"),
        _notified("alert:1:joined:2:r40:sms:9", 9, cause="missed"),
        _died("alert:1:joined:2:r40:sms:9", 9),
        _notified("alert:1:joined:3:sms:8", 8),  # alive
        _notified("alert:1:reminder:1700000000:sms:8", 8, cause=None),
        _died(None, 8),  # recorded before deaths named their key: all of 8's on SMS so far
    ]
    assert dead_attempts(rows) == [
        DeadAttempt("joined:2", frozenset({7, 8, 9}), Source.MISSED,
                    frozenset({"alert:1:joined:2:r40:sms:7"})),
        DeadAttempt("joined:3", frozenset({8}), Source.MESSAGE, frozenset()),
        DeadAttempt("reminder:1700000000", frozenset({8}), None, frozenset()),
    ]
    assert dead_attempts(rows[:3]) == []
    assert DeadAttempt("joined:2", frozenset(), None, frozenset()).unreachable == {
        "joined": 2, "retry_of": "joined:2"}
    assert DeadAttempt("reminder:17", frozenset(), None, frozenset()).unreachable == {
        "reminder": True, "retry_of": "reminder:17"}
