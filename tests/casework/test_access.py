"""Access rules: the pure predicates, and the SQL scoping that must agree with them."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from bot.alerts.lifecycle import raise_alert
from bot.casework import queries as casework
from bot.casework.access import (
    AlertRef,
    TenantRef,
    Viewer,
    can_act_on_alert,
    can_erase,
    can_export,
    can_read_audit_log,
    can_reassign_to,
    can_view_alert,
    can_view_tenant,
)
from bot.models import Caseworker, Organisation, Role, Team, Tenant
from tests.support.factories import World, make_world

CW = Viewer(id=1, role="caseworker", team_id=10, organisation_id=100)
COLLEAGUE = Viewer(id=2, role="caseworker", team_id=10, organisation_id=100)
LEAD = Viewer(id=3, role="team_lead", team_id=10, organisation_id=100)
ADMIN = Viewer(id=4, role="admin", team_id=10, organisation_id=100)
OTHER_TEAM = Viewer(id=5, role="caseworker", team_id=20, organisation_id=100)
OTHER_LEAD = Viewer(id=6, role="team_lead", team_id=20, organisation_id=100)
OTHER_ORG_ADMIN = Viewer(id=7, role="admin", team_id=30, organisation_id=200)

MINE = TenantRef(organisation_id=100, caseworker_id=1, caseworker_team_id=10)
UNASSIGNED = TenantRef(organisation_id=100, caseworker_id=None, caseworker_team_id=None)


def test_caseworker_sees_only_own_tenants() -> None:
    assert can_view_tenant(CW, MINE)
    assert not can_view_tenant(COLLEAGUE, MINE)
    assert not can_view_tenant(OTHER_TEAM, MINE)
    assert not can_view_tenant(CW, UNASSIGNED)


def test_team_lead_sees_team_and_admin_sees_organisation() -> None:
    assert can_view_tenant(LEAD, MINE)
    assert not can_view_tenant(OTHER_LEAD, MINE)
    assert not can_view_tenant(LEAD, UNASSIGNED)
    assert can_view_tenant(ADMIN, MINE) and can_view_tenant(ADMIN, UNASSIGNED)
    assert not can_view_tenant(OTHER_ORG_ADMIN, MINE)


def test_alerts_visible_to_the_team() -> None:
    team_alert = AlertRef(organisation_id=100, team_id=10)
    for viewer in (CW, COLLEAGUE, LEAD, ADMIN):
        assert can_view_alert(viewer, team_alert), viewer
    for viewer in (OTHER_TEAM, OTHER_LEAD, OTHER_ORG_ADMIN):
        assert not can_view_alert(viewer, team_alert), viewer


def test_alert_with_no_team_is_for_admins_and_the_intake_team_of_its_municipality() -> None:
    orphan = AlertRef(organisation_id=100, team_id=None)
    intake = Viewer(id=8, role="caseworker", team_id=40, organisation_id=100, intake=True)
    far_intake = Viewer(id=9, role="caseworker", team_id=50, organisation_id=200, intake=True)
    assert can_view_alert(ADMIN, orphan) and can_view_alert(intake, orphan)
    assert not can_view_alert(CW, orphan) and not can_view_alert(LEAD, orphan)
    assert not can_view_alert(OTHER_ORG_ADMIN, orphan) and not can_view_alert(far_intake, orphan)


def test_nothing_crosses_a_municipality() -> None:
    """The bug found from outside: an alert with no team read as everyone's."""
    far = AlertRef(organisation_id=200, team_id=None)
    nowhere = AlertRef(organisation_id=None, team_id=None)
    for viewer in (CW, LEAD, ADMIN):
        assert not can_view_alert(viewer, far) and not can_act_on_alert(viewer, far)
    assert can_view_alert(OTHER_ORG_ADMIN, far)
    for viewer in (CW, LEAD, ADMIN, OTHER_ORG_ADMIN):
        assert not can_view_alert(viewer, nowhere)
    # The owner keeps an alert reassigned to them, also outside their team.
    owned = AlertRef(organisation_id=100, team_id=20, owner_id=CW.id)
    assert can_act_on_alert(CW, owned) and not can_act_on_alert(COLLEAGUE, owned)


def test_inactive_or_unknown_role_sees_nothing() -> None:
    gone = Viewer(id=1, role="admin", team_id=10, organisation_id=100, active=False)
    landlordish = Viewer(id=9, role="landlord", team_id=10, organisation_id=100)
    team_alert = AlertRef(organisation_id=100, team_id=10)
    for viewer in (gone, landlordish):
        assert not can_view_tenant(viewer, MINE)
        assert not can_view_alert(viewer, team_alert)
        assert not (can_export(viewer) or can_erase(viewer) or can_read_audit_log(viewer))


def test_privileges_by_role() -> None:
    assert [can_export(v) for v in (CW, LEAD, ADMIN)] == [False, True, True]
    assert [can_erase(v) for v in (CW, LEAD, ADMIN)] == [False, False, True]
    assert [can_read_audit_log(v) for v in (CW, LEAD, ADMIN)] == [False, False, True]
    assert can_reassign_to(CW, COLLEAGUE) and can_reassign_to(LEAD, CW)
    assert not can_reassign_to(CW, OTHER_TEAM)
    assert can_reassign_to(ADMIN, OTHER_TEAM) and not can_reassign_to(ADMIN, OTHER_ORG_ADMIN)


def test_sql_scoping_agrees_with_the_predicates(session: Session) -> None:
    w = make_world(session)
    south = Team(organisation=w.org, name="Syd")
    south_cw = Caseworker(team=south, email="s@x.example", name="S", role=Role.CASEWORKER)
    admin = Caseworker(team=w.team, email="a@x.example", name="A", role=Role.ADMIN)
    other_org = Organisation(name="Aarhus Kommune")
    far_team = Team(organisation=other_org, name="Aarhus")
    far_admin = Caseworker(team=far_team, email="f@x.example", name="F", role=Role.ADMIN)
    t2 = Tenant(organisation=w.org, name="Bo", phone="+4528000302", caseworker=south_cw)
    t3 = Tenant(organisation=w.org, name="Ulla", phone="+4528000303")  # no caseworker
    t4 = Tenant(organisation=other_org, name="Far", phone="+4528000304", caseworker=far_admin)
    session.add_all([south, south_cw, admin, other_org, far_team, far_admin, t2, t3, t4])
    session.flush()
    for tenant in (w.tenant, t2, t3, t4):
        raise_alert(session, source="need_help", summary="x", tenant=tenant)
    session.commit()
    people = [w.caseworker, w.colleague, w.lead, south_cw, admin, far_admin]
    tenants = session.query(Tenant).all()
    alerts = casework.alert_queue(session, casework.viewer_for(admin), limit=100)
    all_alerts = session.query(casework.Alert).all()
    assert len(all_alerts) == 4
    for person, tenant in itertools.product(people, tenants):
        viewer = casework.viewer_for(person)
        seen = {t.id for t in casework.visible_tenants(session, viewer)}
        assert (tenant.id in seen) == casework.can_view_tenant(viewer, tenant), \
            (person.email, tenant.name)
    for person, alert in itertools.product(people, all_alerts):
        viewer = casework.viewer_for(person)
        seen = {a.id for a in casework.alert_queue(session, viewer)}
        assert (alert.id in seen) == (casework.get_alert(session, viewer, alert.id) is not None)
    # Spot checks of the intended outcome, not just agreement.
    assert {t.name for t in casework.visible_tenants(session, casework.viewer_for(w.lead))} \
        == {"Anna Sørensen"}
    assert {a.tenant.name for a in alerts} == {"Anna Sørensen", "Bo", "Ulla"}


def _scope(w: World) -> dict[str, int]:
    return {"team_id": w.team.id, "organisation_id": w.org.id}


def test_queue_sorts_by_rank_never_by_string(session: Session) -> None:
    from datetime import timedelta

    from bot.models import Alert, utcnow

    w = make_world(session)
    now = utcnow()
    # Alphabetically "critical" < "high" < "low": string order would be wrong here.
    for i, sev in enumerate(("low", "critical", "high")):
        session.add(Alert(source="need_help", severity=sev, **_scope(w),
                          next_action_at=now + timedelta(minutes=i)))
    session.add(Alert(source="missed", severity="critical", **_scope(w),
                      next_action_at=now - timedelta(minutes=5)))
    session.commit()
    queue = casework.alert_queue(session, casework.viewer_for(w.caseworker))
    assert [(a.severity, a.source) for a in queue] == [
        ("critical", "missed"), ("critical", "need_help"), ("high", "need_help"),
        ("low", "need_help")]


def test_queue_limit_keeps_the_most_urgent(session: Session) -> None:
    from bot.models import Alert, utcnow

    w = make_world(session)
    now = utcnow()
    session.add(Alert(source="crisis", severity="critical", **_scope(w), next_action_at=None))
    session.add_all([Alert(source="missed", severity="low", **_scope(w),
                           next_action_at=now) for _ in range(5)])
    session.commit()
    queue = casework.alert_queue(session, casework.viewer_for(w.caseworker), limit=2)
    assert [a.severity for a in queue] == ["critical", "low"]
