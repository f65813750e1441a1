import contextlib
import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import lifecycle
from bot.alerts.lifecycle import act, raise_alert
from bot.alerts.rules import InvalidTransition
from bot.models import Alert, AlertEvent, Home, Organisation, Tenant
from tests.support.concurrency import run_together
from tests.support.factories import make_world


def test_raise_then_fold_repeated_trigger(session: Session) -> None:
    w = make_world(session)
    alert, created = raise_alert(session, source="need_help", summary="svarede 3",
                                 tenant=w.tenant)
    assert created and alert.severity == "high" and alert.owner_id == w.caseworker.id
    assert alert.team_id == w.team.id and alert.home_id == w.home.id
    again, created2 = raise_alert(session, source="need_help", summary="svarede 3 igen",
                                  tenant=w.tenant)
    session.commit()
    assert not created2 and again.id == alert.id and again.trigger_count == 2
    kinds = list(session.scalars(select(AlertEvent.kind).order_by(AlertEvent.id)))
    assert kinds == ["raised", "folded"]


def test_more_severe_trigger_upgrades_the_case_and_restarts_escalation(session: Session) -> None:
    """One case per tenant: a second miss (high) joins the first (low), raises its severity and
    starts its escalation again from the first step (a `retriggered` event)."""
    w = make_world(session)
    first, _ = raise_alert(session, source="missed", summary="1 missed", tenant=w.tenant,
                           detail={"missed": 1})
    first.steps_done, first.next_action_at = 1, None
    again, created = raise_alert(session, source="missed", summary="2 missed", tenant=w.tenant,
                                 detail={"missed": 2})
    session.commit()
    assert not created and again.id == first.id
    assert session.scalar(select(func.count()).select_from(Alert)) == 1
    assert again.severity == "high" and again.steps_done == 0 and again.next_action_at is not None
    kinds = list(session.scalars(select(AlertEvent.kind).order_by(AlertEvent.id)))
    assert kinds == ["raised", "retriggered"]


def test_resolved_alert_does_not_absorb_new_trigger(session: Session) -> None:
    w = make_world(session)
    alert, _ = raise_alert(session, source="crisis", summary="x", tenant=w.tenant)
    assert alert.severity == "critical"
    assert act(session, alert, "resolve", actor=w.caseworker, via="dashboard")
    _, created = raise_alert(session, source="crisis", summary="y", tenant=w.tenant)
    assert created


def test_actions_and_invalid_transitions(session: Session) -> None:
    w = make_world(session)
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant)
    assert act(session, alert, "acknowledge", actor=w.caseworker, via="sms")
    assert alert.acknowledged_by_id == w.caseworker.id and alert.state == "acknowledged"
    assert not act(session, alert, "acknowledge", actor=w.colleague, via="sms")  # idempotent
    assert alert.acknowledged_by_id == w.caseworker.id
    assert act(session, alert, "resolve", actor=w.colleague, via="telegram")
    assert alert.next_action_at is None and alert.resolved_by_id == w.colleague.id
    with pytest.raises(InvalidTransition):
        act(session, alert, "acknowledge", actor=w.caseworker, via="sms")
    assert act(session, alert, "reopen", actor=w.lead, via="dashboard")
    assert alert.state == "open" and alert.steps_done == 0 and alert.next_action_at is not None


def test_every_alert_belongs_to_a_municipality(session: Session) -> None:
    """From the tenant; for a concern about an empty home from the home; never left open to
    every municipality's reading (the access rules scope by this column)."""
    w = make_world(session)
    other_org = Organisation(name="Svendborg Kommune")
    empty_home = Home(reference="SV-1", address="Havnegade 1", postcode="5700",
                      city="Svendborg", landlord=w.landlord, organisation=other_org)
    session.add_all([other_org, empty_home])
    session.flush()
    by_tenant, _ = raise_alert(session, source="need_help", summary="3", tenant=w.tenant)
    by_home, _ = raise_alert(session, source="concern", summary="bekymring", home=empty_home)
    given, _ = raise_alert(session, source="crisis", summary="ukendt nummer",
                           organisation_id=other_org.id)
    session.commit()
    assert by_tenant.organisation_id == w.org.id
    assert by_home.organisation_id == other_org.id and by_home.team_id is None
    assert given.organisation_id == other_org.id


def test_alert_with_no_clue_belongs_to_the_only_municipality(session: Session) -> None:
    w = make_world(session)
    alert, _ = raise_alert(session, source="crisis", summary="ukendt nummer")
    assert alert.organisation_id == w.org.id


@pytest.mark.parametrize("who", ["tenant", "unknown number"])
def test_two_triggers_at_the_same_instant_open_one_case(
        sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, who: str) -> None:
    """One case per tenant holds under concurrency: two transactions (the webhook and the
    missed-check-in sweep, say) that both look for the tenant's case before either commits
    must not both open one. The second waits for the first and joins its case."""
    with sessions() as s:
        tenant_id = make_world(s).tenant.id
        s.commit()
    phone = "+4520000099"
    looked = threading.Barrier(2)
    original = lifecycle._active_case

    def look_then_wait_for_the_other(*args: Any) -> Alert | None:
        found = original(*args)
        # Both look before either inserts, unless the first holds the other off.
        with contextlib.suppress(threading.BrokenBarrierError):
            looked.wait(timeout=1)
        return found

    monkeypatch.setattr(lifecycle, "_active_case", look_then_wait_for_the_other)

    def trigger(i: int) -> bool:
        with sessions() as s, s.begin():
            tenant = s.get(Tenant, tenant_id) if who == "tenant" else None
            _, created = raise_alert(s, source="need_help", summary=f"svarede 3 ({i})",
                                     tenant=tenant, sender_phone=None if tenant else phone)
            return created

    created = run_together(trigger, 2)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1
        assert sorted(created) == [False, True]
        assert s.scalar(select(Alert.trigger_count)) == 2
