"""The JSON API under /api/v1: auth, access rules, actions, audit, and its OpenAPI document."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import raise_alert
from bot.models import Alert, AuditEvent, CaseNote, Tenant, utcnow
from tests.support.dashboard import login, other_team, with_passwords
from tests.support.factories import add_tenant, make_world


def _world(session: Session) -> Any:
    return with_passwords(session, make_world(session))


def test_unauthenticated_gets_json_401(client: Any, session: Session) -> None:
    _world(session)
    r = client.get("/api/v1/alerts")
    assert r.status_code == 401 and r.get_json()["error"] == "Unauthorized"


def test_list_get_and_act(client: Any, session: Session) -> None:
    w = _world(session)
    now = utcnow()
    low, _ = raise_alert(session, source="missed", summary="quiet", tenant=add_tenant(session, w),
                         severity="low", now=now - timedelta(hours=2))
    crit, _ = raise_alert(session, source="crisis", summary="crisis", tenant=w.tenant, now=now)
    session.commit()
    assert login(client, "cw@odense.example").status_code == 302
    r = client.get("/api/v1/alerts")
    assert r.status_code == 200
    assert [a["id"] for a in r.get_json()["alerts"]] == [crit.id, low.id]
    assert client.get("/api/v1/alerts?state=bogus").status_code == 400

    r = client.post(f"/api/v1/alerts/{crit.id}/acknowledge", json={})
    assert r.status_code == 200 and r.get_json()["changed"] is True
    assert r.get_json()["alert"]["state"] == "acknowledged"
    r = client.post(f"/api/v1/alerts/{crit.id}/acknowledge", json={})
    assert r.get_json()["changed"] is False
    r = client.post(f"/api/v1/alerts/{crit.id}/reopen", json={})
    assert r.status_code == 409 and "resolved alert can be reopened" in r.get_json()["detail"]
    assert client.post(f"/api/v1/alerts/{crit.id}/resolve", json={}).status_code == 200
    r = client.get(f"/api/v1/alerts/{crit.id}")
    assert [e["kind"] for e in r.get_json()["timeline"]] == ["raised", "acknowledged",
                                                            "resolved"]
    assert r.get_json()["timeline"][1]["actor"] == f"caseworker:{w.caseworker.id}"
    session.expire_all()
    assert session.get(Alert, crit.id).state == "resolved"


def test_post_needs_json_content_type(client: Any, session: Session) -> None:
    w = _world(session)
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant)
    session.commit()
    login(client, "cw@odense.example")
    r = client.post(f"/api/v1/alerts/{alert.id}/acknowledge", data={"x": "1"})
    assert r.status_code == 415 and r.get_json()["error"] == "Unsupported Media Type"
    session.expire_all()
    assert session.get(Alert, alert.id).state == "open"


def test_tenant_read_is_audited_and_scoped(client: Any, session: Session) -> None:
    w = _world(session)
    _team, south = other_team(session, w)
    login(client, "cw@odense.example")
    r = client.get(f"/api/v1/tenants/{w.tenant.id}")
    assert r.status_code == 200 and r.get_json()["name"] == "Anna Sørensen"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "view"))
    assert (event.actor, event.subject_type, event.subject_id, event.detail) == (
        f"caseworker:{w.caseworker.id}", "tenant", str(w.tenant.id), {"via": "api"})

    other = client.application.test_client()
    login(other, south.email)
    r = other.get(f"/api/v1/tenants/{w.tenant.id}")
    assert r.status_code == 404 and r.get_json()["error"] == "Not Found"
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant)
    session.commit()
    assert other.get(f"/api/v1/alerts/{alert.id}").status_code == 404
    assert other.post(f"/api/v1/alerts/{alert.id}/resolve", json={}).status_code == 404
    assert other.get("/api/v1/alerts").get_json()["alerts"] == []
    # The colleague on the same team sees the alert but not the tenant's file.
    colleague = client.application.test_client()
    login(colleague, "cw2@odense.example")
    assert colleague.get(f"/api/v1/alerts/{alert.id}").status_code == 200
    assert colleague.get(f"/api/v1/tenants/{w.tenant.id}").status_code == 404


def test_add_note(client: Any, session: Session) -> None:
    w = _world(session)
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant)
    session.commit()
    login(client, "cw@odense.example")
    url = f"/api/v1/tenants/{w.tenant.id}/notes"
    assert client.post(url, json={"body": "  "}).status_code == 400
    assert client.post(url, json=["not", "an", "object"]).status_code == 400
    assert client.post(url, json={"body": "x", "alert_id": 999}).status_code == 400
    r = client.post(url, json={"body": "Ringede, alt vel", "alert_id": alert.id})
    assert r.status_code == 201 and r.get_json()["body"] == "Ringede, alt vel"
    note = session.scalar(select(CaseNote))
    assert (note.alert_id, note.author_id) == (alert.id, w.caseworker.id)
    assert session.get(Tenant, w.tenant.id) is not None


def _documented(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}


def test_openapi_documents_every_route(client: Any, app: Any) -> None:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    assert spec["openapi"].startswith("3.1")
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == _documented(spec)
    # Every $ref resolves.
    text = r.get_data(as_text=True)
    for ref in set(re.findall(r'"\$ref": ?"#/components/(\w+)/(\w+)"', text)):
        assert ref[1] in spec["components"][ref[0]], ref
    # Path parameters are declared.
    for path, ops in spec["paths"].items():
        for name in re.findall(r"{(\w+)}", path):
            for op in ops.values():
                assert name in {p["name"] for p in op.get("parameters", [])}, (path, name)


def test_bad_input_is_a_clear_answer_not_a_500(client: Any, session: Session) -> None:
    w = _world(session)
    login(client, "cw@odense.example")
    huge = 10**20
    assert client.get(f"/api/v1/alerts/{huge}").status_code == 404
    assert client.get(f"/api/v1/tenants/{huge}").status_code == 404
    assert client.post(f"/api/v1/alerts/{huge}/resolve", json={}).status_code == 404
    url = f"/api/v1/tenants/{w.tenant.id}/notes"
    assert client.post(url, json={"body": "x", "alert_id": True}).status_code == 400
    assert client.post(url, json={"body": "x", "alert_id": huge}).status_code == 400
    r = client.post(url, data="{not json", content_type="application/json")
    assert r.status_code == 400
    assert client.get(f"/dashboard/alerts/{huge}").status_code == 404
