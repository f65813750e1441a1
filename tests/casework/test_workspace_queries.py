"""The caseworker's queue (scopes, search, counts), alert summaries in the viewer's language,
triggers in full, allowed actions, wellbeing weeks and changing the contact person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import staff_texts
from bot.alerts.lifecycle import raise_alert
from bot.casework import alert_view, queue
from bot.casework.queries import NotAllowed, viewer_for
from bot.casework.tenant_view import change_contact_person, contact_candidates, wellbeing
from bot.models import (
    AlertEvent,
    AuditEvent,
    CheckIn,
    CheckInStatus,
    Direction,
    Message,
    Tenant,
)
from bot.models.enums import Action
from tests.support.dashboard import other_team
from tests.support.factories import World


def _tenants(session: Session, w: World) -> tuple[Tenant, Tenant]:
    bo = Tenant(organisation=w.org, name="Bo Christiansen", phone="+4528000302",
                caseworker=w.colleague, home=w.other_home)
    session.add(bo)
    session.flush()
    return w.tenant, bo


def test_scopes_search_and_counts(session: Session, world: World) -> None:
    anna, bo = _tenants(session, world)
    mine, _ = raise_alert(session, source="need_help", summary="a", tenant=anna)
    theirs, _ = raise_alert(session, source="crisis", summary="b", tenant=bo)
    _team, south = other_team(session, world)
    stranger = Tenant(organisation=world.org, name="Anna Syd", phone="+4528000399",
                      caseworker=south)
    session.add(stranger)
    session.flush()
    hidden, _ = raise_alert(session, source="need_help", summary="c", tenant=stranger)
    session.commit()
    viewer = viewer_for(world.caseworker)

    def ids(scope: str = "all", tab: str = "active", search: str = "") -> list[int]:
        return [a.id for a in queue.alerts(session, viewer, queue.QueueFilter(scope, tab, search))]

    assert ids() == [theirs.id, mine.id]  # critical first; the other team's never
    assert ids("mine") == [mine.id]
    assert ids("team") == [theirs.id, mine.id]
    assert ids(search="anna") == [mine.id]  # "Anna Syd" matches too, but is not visible
    assert ids(search="28 00 03 02") == [theirs.id]  # phone as typed
    assert ids(search="000302") == [theirs.id]  # part of the phone
    assert ids(search="Dalumvej") == [theirs.id]  # the home's address
    assert ids(search="100%_") == []  # LIKE wildcards are plain characters
    assert hidden.id not in ids(search="Syd")
    counts = queue.tab_counts(session, viewer, queue.QueueFilter("mine", "active", ""))
    assert counts == {"active": 1, "open": 1, "acknowledged": 0, "resolved": 0}
    assert queue.tab_counts(session, viewer, queue.QueueFilter())["active"] == 2


def test_filter_parse_falls_back_on_anything_unknown() -> None:
    f = queue.QueueFilter.parse("everyone", "deleted", " x\x00y " + "z" * 200)
    assert (f.scope, f.tab) == ("all", "active")
    assert "\x00" not in f.search and len(f.search) == queue.SEARCH_MAX


def test_search_tenants_by_name_or_phone_within_access(session: Session, world: World) -> None:
    _anna, bo = _tenants(session, world)
    session.commit()
    lead = viewer_for(world.lead)
    assert [t.name for t in queue.search_tenants(session, lead, "")] == [
        "Anna Sørensen", "Bo Christiansen"]
    assert [t.id for t in queue.search_tenants(session, lead, "+45 28000302")] == [bo.id]
    assert [t.id for t in queue.search_tenants(session, viewer_for(world.caseworker), "bo")] \
        == []


def test_summary_is_rendered_in_the_viewers_language(session: Session, world: World) -> None:
    alert, _ = raise_alert(session, source="missed", summary="Danish text stored at creation",
                           tenant=world.tenant, severity="high", detail={"missed": 3})
    session.commit()
    detail = alert_view.first_details(session, [alert.id])[alert.id]
    words = lambda group, value: value  # noqa: E731
    assert alert_view.render_summary(alert, detail, "en", words) == \
        staff_texts.missed_summary("en", "Anna Sørensen", 3)
    assert alert_view.render_summary(alert, detail, "da", words) == \
        staff_texts.missed_summary("da", "Anna Sørensen", 3)
    assert "Anna Sørensen" in alert_view.render_summary(alert, detail, "en", words)


def test_triggers_show_the_tenants_words_and_the_question(session: Session,
                                                          world: World) -> None:
    t = world.tenant
    at = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    question = Message(direction=Direction.OUT, channel="sms", body="Hej Anna. Hvordan går det?",
                       tenant_id=t.id, intent="checkin", created_at=at)
    words = Message(direction=Direction.IN, channel="sms", body="3 jeg har det skidt",
                    tenant_id=t.id, created_at=at + timedelta(hours=1))
    session.add_all([question, words])
    session.flush()
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=t,
                           detail={"answer": 3, "message_id": words.id, "text": "jeg har"},
                           now=at + timedelta(hours=1))
    session.add(AlertEvent(alert=alert, kind="retriggered", at=at + timedelta(hours=2),
                           detail={"text": "min bror er død"}))
    session.commit()
    session.refresh(alert)
    first, second = alert_view.triggers(session, alert)
    assert (first.words, first.answer, first.question) == (
        "3 jeg har det skidt", 3, "Hej Anna. Hvordan går det?")
    assert (second.kind, second.words, second.question) == ("retriggered", "min bror er død",
                                                            None)


@pytest.mark.parametrize(("state", "allowed"), [
    ("open", [Action.ACKNOWLEDGE, Action.RESOLVE]), ("acknowledged", [Action.RESOLVE]),
    ("resolved", [Action.REOPEN])])
def test_only_the_actions_the_state_allows(state: str, allowed: list[Action]) -> None:
    assert alert_view.allowed_actions(state) == allowed


def test_wellbeing_weeks(session: Session, world: World) -> None:
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday
    t = world.tenant
    session.add_all([
        CheckIn(tenant_id=t.id, slot_at=now - timedelta(days=1), status=CheckInStatus.ANSWERED,
                answered_at=now - timedelta(days=1), answer=3),
        CheckIn(tenant_id=t.id, slot_at=now - timedelta(days=8), status=CheckInStatus.ANSWERED,
                answered_at=now - timedelta(days=8), answer=1),
        CheckIn(tenant_id=t.id, slot_at=now - timedelta(days=15), status=CheckInStatus.MISSED,
                missed_at=now - timedelta(days=15)),
        CheckIn(tenant_id=t.id, slot_at=now - timedelta(weeks=30), status=CheckInStatus.ANSWERED,
                answered_at=now - timedelta(weeks=30), answer=2),  # older than 26 weeks
    ])
    raise_alert(session, source="need_help", summary="x", tenant=t, now=now - timedelta(days=1))
    session.commit()
    weeks = wellbeing(session, t, now=now)
    assert len(weeks) == 26 and weeks[-1].start.isoformat() == "2026-06-08"
    assert (weeks[-1].answers, weeks[-1].alerts, weeks[-1].mean) == ([3], 1, 3.0)
    assert weeks[-2].answers == [1] and weeks[-3].missed == 1
    assert sum(len(w.answers) for w in weeks) == 2


def test_contact_person_is_changed_by_the_team_lead_only(session: Session,
                                                         world: World) -> None:
    _team, south = other_team(session, world)
    assert contact_candidates(session, viewer_for(world.caseworker)) == []
    with pytest.raises(NotAllowed):
        change_contact_person(session, viewer_for(world.caseworker), world.tenant,
                              world.colleague)
    lead = viewer_for(world.lead)
    assert south not in contact_candidates(session, lead)
    with pytest.raises(NotAllowed):
        change_contact_person(session, lead, world.tenant, south)
    assert change_contact_person(session, lead, world.tenant, world.colleague)
    assert not change_contact_person(session, lead, world.tenant, world.colleague)
    session.commit()
    assert world.tenant.caseworker_id == world.colleague.id
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "change_caseworker"))
    assert event.detail == {"before": world.caseworker.id, "after": world.colleague.id}


@pytest.mark.parametrize("door", ["dashboard", "api"])
def test_an_alert_that_reached_nobody_is_never_cut_off_a_full_queue(session: Session,
                                                                     world: World,
                                                                     door: str) -> None:
    """Both queues show at most a page of alerts; the one that reached nobody (low severity,
    raised last) still comes first rather than falling beyond the page."""
    from bot.casework.queries import alert_queue
    from bot.models import Alert

    anna, bo = _tenants(session, world)
    raise_alert(session, source="crisis", summary="a", tenant=anna)
    raise_alert(session, source="crisis", summary="b", tenant=bo)
    carl = Tenant(organisation=world.org, name="Carl Holm", phone="+4528000303",
                  caseworker=world.caseworker)
    session.add(carl)
    lost, _ = raise_alert(session, source="delivery_failed", summary="c", tenant=carl)
    session.get_one(Alert, lost.id).undelivered_at = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    session.commit()
    viewer = viewer_for(world.lead)
    if door == "dashboard":
        page = queue.alerts(session, viewer, queue.QueueFilter(), limit=2)
    else:
        page = alert_queue(session, viewer, limit=2)
    assert page[0].id == lost.id
