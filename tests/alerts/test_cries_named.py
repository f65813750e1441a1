"""A cry is named to the people told about it (bot.alerts.rules.join_trigger,
bot.alerts.lifecycle._join), on both databases.

A cry (need-help, crisis, violence, a call request) on a case about something else (missed
check-ins, a message) restarts its escalation even while it runs: none of its messages asked
anyone to act on this. Every restart takes the cry's source, so the new messages say what the
tenant just said. A cry on a case already about a cry, still escalating, folds: the team is
being told already, and restarting the timer would only delay them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import act, raise_alert
from bot.alerts.routing import Delivery
from bot.core.config import Settings
from bot.models import Alert, AlertEvent, OutboxItem, Tenant
from bot.tenants import texts
from bot.tenants.conversation import handle_tenant_sms
from tests.support.factories import World

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday, working hours
SMS_ONLY = Delivery(Settings(), frozenset({"sms"}))
# The Danish causes of bot.alerts.texts.CAUSES, as the owner reads them.
ASKS_TO_BE_CALLED = "beder om at blive ringet op"
ASKED_FOR_HELP = "har bedt om hjælp"
MISSED_CHECKINS = "har ikke svaret på check-ins"


def _missed_case(sessions: sessionmaker[Session], settings: Settings, w: World) -> int:
    """Two missed check-ins (high), its first step sent: the owner's SMS says check-ins."""
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="missed", summary="2 missed", detail={"missed": 2},
                               tenant=s.get(Tenant, w.tenant.id), now=NOW)
        alert_id = alert.id
    run_escalation(sessions, settings, channels={"sms"}, now=NOW)
    return alert_id


def _owner_sms(session: Session, w: World) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(OutboxItem.body).where(
        OutboxItem.recipient == w.caseworker.phone).order_by(OutboxItem.id)))


def _kinds(session: Session, alert_id: int) -> list[str]:
    return list(session.scalars(select(AlertEvent.kind).where(
        AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)))


def test_a_call_request_on_a_running_missed_checkin_case_restarts_it_and_is_named(
        session: Session, sessions: sessionmaker[Session], settings: Settings,
        world: World) -> None:
    """The owner was told "has not answered check-ins" minutes ago; then "ring mig". That SMS
    asks nobody to call, so the reply may say so only after a new one that does."""
    alert_id = _missed_case(sessions, settings, world)
    assert [MISSED_CHECKINS in b for b in _owner_sms(session, world)] == [True]

    out = handle_tenant_sms(session, world.tenant, "ring mig", now=NOW + timedelta(minutes=10),
                            delivery=SMS_ONLY)
    session.commit()
    case = session.get(Alert, alert_id)
    assert out.alert is case and case is not None
    assert (case.source, case.severity, case.state) == ("call_me", "high", "open")
    kinds = _kinds(session, alert_id)
    assert kinds[kinds.index("retriggered") + 1] == "notified"
    first, new = _owner_sms(session, world)
    assert MISSED_CHECKINS in first and ASKS_TO_BE_CALLED in new
    assert out.told and out.reply == texts.call_me_ack("da", True)
    # A new escalation: the team's step is 30 minutes from the call request, not the miss.
    assert case.next_action_at == NOW + timedelta(minutes=40)


def test_need_help_on_an_acknowledged_missed_checkin_case_names_the_need(
        session: Session, sessions: sessionmaker[Session], settings: Settings,
        world: World) -> None:
    """Acknowledged (someone is looking into the missed check-ins), then "3": the new SMS
    says the tenant asked for help, not the check-ins the owner already acknowledged."""
    alert_id = _missed_case(sessions, settings, world)
    case = session.get(Alert, alert_id)
    assert case is not None
    act(session, case, "acknowledge", actor=world.caseworker, via="sms",
        now=NOW + timedelta(minutes=5))
    session.commit()

    out = handle_tenant_sms(session, world.tenant, "3", now=NOW + timedelta(hours=3),
                            delivery=SMS_ONLY)
    session.commit()
    assert case.source == "need_help" and case.state == "open"
    retriggered = session.scalars(select(AlertEvent).where(
        AlertEvent.alert_id == alert_id, AlertEvent.kind == "retriggered")).one()
    assert retriggered.detail["from_source"] == "missed"
    _first, new = _owner_sms(session, world)
    assert ASKED_FOR_HELP in new and MISSED_CHECKINS not in new
    assert out.told and out.reply == texts.reply_need_help("da", told=True)


def test_a_call_request_on_a_running_need_help_case_folds_and_keeps_the_timer(
        session: Session, world: World) -> None:
    """ "3", then "ring mig" two minutes later: the owner was just told the tenant asked for
    help; a restart would push the team's step back by two minutes for nothing."""
    first = handle_tenant_sms(session, world.tenant, "3", now=NOW, delivery=SMS_ONLY)
    session.commit()
    case = first.alert
    assert case is not None and first.told
    due = case.next_action_at
    assert due == NOW + timedelta(minutes=30)

    out = handle_tenant_sms(session, world.tenant, "ring mig", now=NOW + timedelta(minutes=2),
                            delivery=SMS_ONLY)
    session.commit()
    session.expire_all()
    assert out.alert is case
    assert (case.source, case.next_action_at, case.trigger_count) == ("need_help", due, 2)
    assert _kinds(session, case.id).count("retriggered") == 0
    assert [ASKED_FOR_HELP in b for b in _owner_sms(session, world)] == [True]
    assert out.told and out.reply == texts.call_me_ack("da", True)


def test_words_on_a_running_missed_checkin_case_still_fold(
        session: Session, sessions: sessionmaker[Session], settings: Settings,
        world: World) -> None:
    """Only a cry restarts a running escalation: free text joins it as before."""
    alert_id = _missed_case(sessions, settings, world)
    handle_tenant_sms(session, world.tenant, "undskyld, glemte det",
                      now=NOW + timedelta(minutes=10), delivery=SMS_ONLY)
    session.commit()
    case = session.get(Alert, alert_id)
    assert case is not None and case.source == "missed"
    assert _kinds(session, alert_id)[-1] == "folded"
    assert len(_owner_sms(session, world)) == 1


def test_the_dashboard_does_not_call_every_restart_an_acknowledgement() -> None:
    """A cry restarts a case nobody acknowledged (above), as a rise in severity always did."""
    from webhooks.dashboard.labels import label

    assert label("en", "event", "retriggered") == "Triggered again: escalating anew"
    assert "kvittering" not in label("da", "event", "retriggered")
