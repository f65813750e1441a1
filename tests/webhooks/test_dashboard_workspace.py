"""The caseworker workspace over HTTP: the alert page's trigger and timeline in words, answering
the tenant (dashboard and API), the tenant page, the chart, the own page, the landlord's photo."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import time
from typing import Any

from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import raise_alert
from bot.core.config import TelegramSettings
from bot.models import (
    AlertEvent,
    AuditEvent,
    Caseworker,
    Concern,
    Direction,
    Message,
    OutboxItem,
    Tenant,
    utcnow,
)
from tests.support.dashboard import csrf_from, login, with_passwords
from tests.support.factories import World, make_world

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _page(client: Any, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    return str(r.get_data(as_text=True))


def _post(client: Any, url: str, page: str, **form: Any) -> str:
    r = client.post(url, data={"csrf_token": csrf_from(_page(client, page)), **form},
                    follow_redirects=True)
    assert r.status_code == 200
    return str(r.get_data(as_text=True))


def _world(session: Session) -> World:
    w = with_passwords(session, make_world(session))
    w.org.quiet_start = w.org.quiet_end = time(8)  # no quiet hours: sends go at once
    session.commit()
    return w


def _crisis(session: Session, w: World) -> int:
    msg = Message(direction=Direction.IN, channel="sms", body="jeg har det skidt, min bror er død",
                  tenant_id=w.tenant.id, sender=w.tenant.phone)
    session.add(msg)
    session.flush()
    alert, _ = raise_alert(session, source="crisis", summary="Anna skrev et krise-ord",
                           tenant=w.tenant, detail={"message_id": msg.id, "text": msg.body})
    session.commit()
    return alert.id


def test_alert_page_shows_the_words_phone_and_conversation(client: Any, session: Session) -> None:
    w = _world(session)
    alert_id = _crisis(session, w)
    login(client, "cw@odense.example")
    html = _page(client, f"/dashboard/alerts/{alert_id}")
    trigger = html[html.index('id="trigger"'):html.index('id="alert-state"')]
    assert "jeg har det skidt, min bror er død" in trigger
    assert f'href="tel:{w.tenant.phone}"' in html
    assert 'id="messages"' in html and "Fra lejeren" in html
    # Only the actions an open alert allows.
    assert 'value="acknowledge"' in html and 'value="reopen"' not in html


def test_english_viewer_gets_english_summary_and_timeline(client: Any, session: Session,
                                                         runtime: Any) -> None:
    w = _world(session)
    alert_id = _crisis(session, w)
    run_escalation(runtime.sessions, runtime.settings, channels=["sms"])
    login(client, "cw@odense.example")
    html = _page(client, f"/dashboard/alerts/{alert_id}?lang=en")
    assert "Anna Sørensen wrote words that may mean a crisis" in html  # not the Danish summary
    assert "Anna skrev et krise-ord" not in html
    timeline = re.sub(r"<[^>]+>", " ", html[html.index('id="timeline"'):])
    assert "SMS to Jonas Berg (contact person), step 1." in timeline
    assert "Telegram to Jonas Berg not sent: the channel is not set up." in timeline
    assert "skipped" not in timeline and "unreachable" not in timeline


def test_answer_from_the_alert_page_once_audited_and_on_the_timeline(
        client: Any, session: Session) -> None:
    w = _world(session)
    alert_id = _crisis(session, w)
    login(client, "cw@odense.example")
    page = f"/dashboard/alerts/{alert_id}"
    html = _page(client, page)
    key = re.search(r'name="request_key" value="(\w+)"', html)
    assert key is not None
    form = {"csrf_token": csrf_from(html), "request_key": key.group(1), "ready": "call_today",
            "body": ""}
    first = client.post(f"{page}/message", data=form, follow_redirects=True)
    again = client.post(f"{page}/message", data=form, follow_redirects=True)  # double click
    assert "er på vej" in first.get_data(as_text=True)
    assert "allerede sendt" in again.get_data(as_text=True)
    [row] = session.scalars(select(OutboxItem).where(OutboxItem.kind == "caseworker_message"))
    assert (row.recipient, row.body) == (w.tenant.phone, "Jeg ringer til dig i dag.")
    [event] = session.scalars(select(AlertEvent).where(AlertEvent.kind == "message_sent"))
    assert event.alert_id == alert_id and event.detail["text"] == row.body
    assert session.scalars(select(AuditEvent).where(
        AuditEvent.action == "message_tenant")).one().detail["via"] == "dashboard"
    html = _page(client, page)
    assert "Venter på at blive sendt" in html[html.index('id="messages"'):]
    assert "SMS til lejeren" in html[html.index('id="timeline"'):]


def test_answer_refused_after_stop_with_the_reason(client: Any, session: Session) -> None:
    w = _world(session)
    w.tenant.opted_out_at = w.tenant.created_at
    session.commit()
    login(client, "cw@odense.example")
    page = f"/dashboard/tenants/{w.tenant.id}"
    html = _post(client, f"{page}/message", page, body="Hej")
    assert "har skrevet STOP" in html and "Ring i stedet" in html
    assert session.scalars(select(OutboxItem)).all() == []


def test_api_sends_refuses_and_is_idempotent(client: Any, session: Session) -> None:
    w = _world(session)
    login(client, "cw@odense.example")
    url = f"/api/v1/tenants/{w.tenant.id}/messages"
    r = client.post(url, json={"ready": "call_me"}, headers={"Idempotency-Key": "abc"})
    assert r.status_code == 202 and r.json["body"] == "Ring gerne til mig, når du kan."
    r2 = client.post(url, json={"ready": "call_me"}, headers={"Idempotency-Key": "abc"})
    assert r2.status_code == 200 and r2.json["duplicate"] is True
    assert client.post(url, json={"body": 42}).status_code == 400
    assert client.post(url, json={"body": "  "}).status_code == 400
    assert client.post(url, json={"body": "x", "alert_id": 999}).status_code == 400
    assert client.post(url, data="body=x").status_code == 415
    w.tenant.opted_out_at = w.tenant.created_at
    session.commit()
    r3 = client.post(url, json={"body": "Hej"})
    assert r3.status_code == 409 and "STOP" in r3.json["detail"]
    assert len(session.scalars(select(OutboxItem)).all()) == 1
    spec = client.get("/api/v1/openapi.json").json
    assert "post" in spec["paths"]["/tenants/{tenant_id}/messages"]


def test_tenant_page_schedule_language_and_cadence(client: Any, session: Session) -> None:
    w = _world(session)
    w.tenant.language = "en"
    w.tenant.consecutive_misses = 2
    session.commit()
    login(client, "cw@odense.example")
    page = f"/dashboard/tenants/{w.tenant.id}"
    html = _page(client, page)
    assert re.search(r'id="language">Engelsk<', html)
    assert re.search(r'id="misses">2<', html)
    assert re.search(r'id="cadence">tirsdag 10:00<', html)
    assert html.count('class="nowrap"') == 3  # the next three check-ins
    assert "Jeg ringer til dig i dag" not in html and "I will call you today." in html
    html = _post(client, f"{page}/cadence", page, weekday=["1", "4"], time="09:30")
    assert re.search(r'id="cadence">mandag, torsdag 09:30<', html)
    html = _post(client, f"{page}/cadence", page, time="09:30")  # no weekday
    assert "Vælg mindst én ugedag" in html
    session.expire_all()
    assert session.get(Tenant, w.tenant.id).checkin_weekdays == "1,4"


def test_tenant_page_shows_their_texts_that_were_not_handled(client: Any,
                                                              session: Session) -> None:
    """Only processing ties an inbound SMS to its tenant; one whose processing failed
    (bot.tenants.stranded) is still shown on their page, found by their number, saying so."""
    w = _world(session)
    session.add_all([
        Message(direction=Direction.IN, channel="sms", body="3", sender=w.tenant.phone,
                status="stuck"),
        Message(direction=Direction.IN, channel="sms", body="ring mig", sender=w.tenant.phone),
        Message(direction=Direction.IN, channel="sms", body="fra en anden", sender="+4528009999",
                status="stuck"),
        Message(direction=Direction.IN, channel="sms", body="1 tak", sender=w.tenant.phone,
                tenant_id=w.tenant.id, status="processed", processed_at=utcnow()),
    ])
    session.commit()
    login(client, "cw@odense.example")
    html = _page(client, f"/dashboard/tenants/{w.tenant.id}")
    lines = {body: line for line in html[html.index('id="messages"'):].split("</li>")
             for body in ("3", "ring mig", "1 tak") if f'<p class="body">{body}</p>' in line}
    assert "Kunne ikke behandles: ring til lejeren" in lines["3"]
    assert "Modtaget, endnu ikke behandlet" in lines["ring mig"]
    assert "delivery" not in lines["1 tak"]  # handled: nothing to say
    assert "fra en anden" not in html


def test_resume_and_contact_person(client: Any, session: Session) -> None:
    w = _world(session)
    login(client, "lead@odense.example")
    page = f"/dashboard/tenants/{w.tenant.id}"
    html = _post(client, f"{page}/pause", page, until="2099-01-01")
    assert "Genoptag nu" in html
    html = _post(client, f"{page}/pause", page, until="2099-01-01", resume="1")
    assert "Check-ins er genoptaget" in html and "Genoptag nu" not in html
    html = _post(client, f"{page}/contact", page, caseworker_id=str(w.colleague.id))
    assert "Aisha Khan er nu kontaktperson" in html
    session.expire_all()
    assert session.get(Tenant, w.tenant.id).caseworker_id == w.colleague.id


def test_caseworker_cannot_change_contact_person(client: Any, session: Session) -> None:
    w = _world(session)
    login(client, "cw@odense.example")
    page = f"/dashboard/tenants/{w.tenant.id}"
    assert 'name="caseworker_id"' not in _page(client, page)
    html = _post(client, f"{page}/contact", page, caseworker_id=str(w.colleague.id))
    assert "Du kan ikke gøre den medarbejder til kontaktperson" in html
    session.expire_all()
    assert session.get(Tenant, w.tenant.id).caseworker_id == w.caseworker.id


def test_wellbeing_chart_is_an_svg_without_script(client: Any, session: Session) -> None:
    w = _world(session)
    login(client, "cw@odense.example")
    html = _page(client, f"/dashboard/tenants/{w.tenant.id}")
    assert re.search(r'<img class="chart" [^>]*alt="0 svar', html)
    r = client.get(f"/dashboard/tenants/{w.tenant.id}/wellbeing.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    svg = r.get_data(as_text=True)
    assert "<svg" in svg and "<script" not in svg and "http://kozea" not in svg
    assert "Trivsel, de sidste 26 uger" in svg
    login(other := client.application.test_client(), "cw2@odense.example")
    assert other.get(f"/dashboard/tenants/{w.tenant.id}/wellbeing.svg").status_code == 404


def test_queue_tabs_count_and_search(client: Any, session: Session) -> None:
    w = _world(session)
    _crisis(session, w)
    login(client, "cw@odense.example")
    html = _page(client, "/dashboard/?scope=mine")
    assert re.search(r'Aktive <span class="count">1</span>', html)
    assert "data-alert-id" in html
    html = _page(client, "/dashboard/?scope=mine&q=nobody")
    assert re.search(r'Aktive <span class="count">0</span>', html) and "data-alert-id" not in html


def test_own_page_language_and_password(client: Any, session: Session) -> None:
    w = _world(session)
    login(client, "cw@odense.example")
    html = _post(client, "/dashboard/me/language", "/dashboard/me", language="en")
    assert "Language saved." in html
    session.expire_all()
    assert session.get(Caseworker, w.caseworker.id).language == "en"
    other = client.application.test_client()
    login(other, "cw@odense.example")
    html = _post(client, "/dashboard/me/password", "/dashboard/me",
                 current_password="wrong", new_password="x" * 12, repeat_password="x" * 12)
    assert "The current password is not right." in html
    html = _post(client, "/dashboard/me/password", "/dashboard/me",
                 current_password="correct horse battery", new_password="a new passphrase",
                 repeat_password="a new passphrase")
    assert "Password changed." in html
    assert client.get("/dashboard/").status_code == 200  # this session goes on
    assert other.get("/dashboard/").status_code == 302  # the other one ended
    assert session.scalars(select(AuditEvent).where(
        AuditEvent.action == "password_changed")).one()


def test_audit_log_pages_and_filters(client: Any, session: Session) -> None:
    from tests.support.dashboard import admin

    w = _world(session)
    boss = admin(session, w)
    for _ in range(60):
        session.add(AuditEvent(actor=f"caseworker:{w.caseworker.id}", action="view",
                               subject_type="tenant", subject_id=str(w.tenant.id),
                               organisation_id=w.org.id))
    session.commit()
    login(client, boss.email)
    first = _page(client, "/dashboard/audit")
    assert first.count("<li><time>") == 50 and 'rel="next"' in first and "Jonas Berg" in first
    second = _page(client, "/dashboard/audit?page=2")
    assert 'rel="prev"' in second and second.count("<li><time>") > 0
    only = _page(client, f"/dashboard/audit?actor={boss.id}")
    assert "Jonas Berg</strong>" not in only
    assert _page(client, "/dashboard/audit?page=x&actor=%C2%B2").count("<li><time>") == 50


def test_landlord_concern_shows_description_photo_and_contact(
        client: Any, session: Session, app: Any, httpserver: HTTPServer) -> None:
    w = _world(session)
    w.landlord.phone = "+4566112233"
    concern = Concern(reference="TH-2026-0007", landlord=w.landlord, home=w.home,
                      category="no_sign_of_life", urgency="urgent_today",
                      description="Posten hober sig op, og der lugter fra døren.",
                      photo_file_id="PHOTO-1")
    session.add(concern)
    session.flush()
    alert, _ = raise_alert(session, source="concern", concern=concern, home=w.home,
                           tenant=w.tenant, summary="TH-2026-0007: no_sign_of_life, urgent_today",
                           detail={"category": "no_sign_of_life", "urgency": "urgent_today"})
    session.commit()
    token = "123:test"
    httpserver.expect_request(f"/bot{token}/getFile").respond_with_json(
        {"ok": True, "result": {"file_id": "PHOTO-1", "file_path": "photos/p1.png"}})
    httpserver.expect_request(f"/file/bot{token}/photos/p1.png").respond_with_data(PNG)
    runtime = app.extensions["trygthjem"]
    runtime.settings = replace(runtime.settings, telegram=TelegramSettings(
        token, api_url=httpserver.url_for("/").rstrip("/")))
    login(client, "cw@odense.example")
    html = _page(client, f"/dashboard/alerts/{alert.id}")
    assert "Posten hober sig op, og der lugter fra døren." in html
    assert "Ingen livstegn" in html or "No sign of life" not in html
    assert "no_sign_of_life" not in html and "urgent_today" not in html
    assert "Peter Lund" in html and "Fyn Bolig A/S" in html and 'href="tel:+4566112233"' in html
    photo = client.get(f"/dashboard/alerts/{alert.id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/png" and photo.data == PNG
    assert "no-store" in photo.headers["Cache-Control"]  # the security layer sets it on all
    # Not an image: never served.
    httpserver.clear()
    httpserver.expect_request(f"/bot{token}/getFile").respond_with_json(
        {"ok": True, "result": {"file_id": "PHOTO-1", "file_path": "x.html"}})
    httpserver.expect_request(f"/file/bot{token}/x.html").respond_with_data("<script>")
    assert client.get(f"/dashboard/alerts/{alert.id}/photo").status_code == 404


def test_audit_log_names_only_people_of_the_own_municipality(client: Any,
                                                            session: Session) -> None:
    from bot.models import Organisation, Role, Team
    from tests.support.dashboard import admin

    w = _world(session)
    boss = admin(session, w)
    other = Organisation(name="Svendborg Kommune")
    stranger = Caseworker(team=Team(organisation=other, name="Svendborg"), name="Sigrid Fremmed",
                          email="sigrid@svendborg.example", role=Role.CASEWORKER)
    session.add_all([other, stranger])
    session.commit()
    login(client, boss.email)
    page = _page(client, "/dashboard/audit")
    assert "Jonas Berg" in page and "Sigrid Fremmed" not in page
