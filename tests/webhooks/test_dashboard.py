"""Dashboard over Flask's test client: login rules, CSRF scope, tenant actions, i18n."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import raise_alert
from bot.casework.queries import LOGIN_MAX_FAILURES
from bot.core.tokens import matches
from bot.models import Alert, AuditEvent, Caseworker, OutboxItem, Tenant
from tests.support.dashboard import PASSWORD, admin, csrf_from, login, other_team, with_passwords
from tests.support.factories import World, make_world

DASH = Path(__file__).resolve().parents[2] / "webhooks" / "dashboard"


def test_home_redirects_to_login_then_dashboard(client: Any, session: Session) -> None:
    with_passwords(session, make_world(session))
    r = client.get("/")
    assert r.status_code == 302 and r.location.endswith("/dashboard/")
    r = client.get("/dashboard/")
    assert r.status_code == 302 and "/dashboard/login" in r.location
    assert login(client, "cw@odense.example").location.endswith("/dashboard/")
    assert client.get("/dashboard/").status_code == 200


def test_session_cookie_flags(client: Any, session: Session) -> None:
    with_passwords(session, make_world(session))
    r = login(client, "cw@odense.example")
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("session="))
    # PUBLIC_BASE_URL is https in the test settings, so the cookie is Secure.
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_wrong_password_inactive_and_unknown_are_refused(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    assert login(client, "cw@odense.example", "wrong").status_code == 401
    assert login(client, "nobody@odense.example").status_code == 401
    assert login(client, w.landlord.email).status_code == 401  # landlords have no account
    w.colleague.active = False
    session.commit()
    assert login(client, "cw2@odense.example").status_code == 401
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions == ["login_failed"] * 4


def test_open_redirect_is_refused(client: Any, session: Session) -> None:
    with_passwords(session, make_world(session))
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    r = client.post("/dashboard/login", data={"email": "cw@odense.example", "password": PASSWORD,
                                               "csrf_token": token, "next": "//evil.example/"})
    assert r.location.endswith("/dashboard/")


def test_login_throttling(client: Any, session: Session) -> None:
    with_passwords(session, make_world(session))
    for _ in range(LOGIN_MAX_FAILURES):
        assert login(client, "cw@odense.example", "wrong").status_code == 401
    r = login(client, "cw@odense.example")  # right password, but locked for now
    assert r.status_code == 429
    assert "15" in r.get_data(as_text=True)
    # Other accounts are not affected.
    assert login(client.application.test_client(), "lead@odense.example").status_code == 302


def test_password_change_ends_other_sessions(client: Any, session: Session) -> None:
    from bot.casework.passwords import set_password

    w = with_passwords(session, make_world(session))
    login(client, "cw@odense.example")
    assert client.get("/dashboard/").status_code == 200
    set_password(session.get(Caseworker, w.caseworker.id), "a brand new passphrase")
    session.commit()
    assert client.get("/dashboard/").status_code == 302


def test_dashboard_post_needs_csrf_token(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant)
    session.commit()
    login(client, "cw@odense.example")
    page = client.get(f"/dashboard/alerts/{alert.id}").get_data(as_text=True)
    url = f"/dashboard/alerts/{alert.id}/act"
    r = client.post(url, data={"action": "acknowledge"})
    assert r.status_code == 400
    assert client.post(url, data={"action": "acknowledge", "csrf_token": "forged"}
                       ).status_code == 400
    session.expire_all()
    assert session.get(Alert, alert.id).state == "open"
    r = client.post(url, data={"action": "acknowledge", "csrf_token": csrf_from(page)})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(Alert, alert.id).state == "acknowledged"


def test_login_form_needs_csrf_token(client: Any, session: Session) -> None:
    with_passwords(session, make_world(session))
    r = client.post("/dashboard/login", data={"email": "cw@odense.example",
                                               "password": PASSWORD})
    assert r.status_code == 400


def test_webhook_posts_are_not_blocked_by_csrf(runtime: Any) -> None:
    """Provider webhooks carry their own signatures; CSRF must never answer them with 400."""
    from webhooks import create_app

    app = create_app(runtime)
    for prefix in ("/webhooks", "/demo"):
        bp = Blueprint(f"probe{prefix.strip('/')}", __name__, url_prefix=prefix)
        bp.add_url_rule("/probe", view_func=lambda: ("ok", 200), methods=["POST"])
        app.register_blueprint(bp)
    c = app.test_client()
    for path in ("/webhooks/probe", "/demo/probe"):
        r = c.post(path, data={"Body": "3", "From": "+4528000301"})
        assert r.status_code == 200, (path, r.get_data(as_text=True))
    # Whatever webhook blueprints are merged in: none of them answers with a CSRF refusal.
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/webhooks/", "/demo/")) and "POST" in (rule.methods or ()) \
                and "<" not in rule.rule:
            assert "CSRF" not in c.post(rule.rule, data={}).get_data(as_text=True), rule.rule


def test_other_team_cannot_open_tenant_or_alert(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    _team, south = other_team(session, w)
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant)
    session.commit()
    login(client, south.email)
    assert client.get(f"/dashboard/tenants/{w.tenant.id}").status_code == 404
    assert client.get(f"/dashboard/alerts/{alert.id}").status_code == 404
    assert "Anna" not in client.get("/dashboard/").get_data(as_text=True)
    assert "Anna" not in client.get("/dashboard/tenants").get_data(as_text=True)
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "view")).all() == []


def _form_token(client: Any, url: str) -> str:
    return csrf_from(client.get(url).get_data(as_text=True))


def test_tenant_actions(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    login(client, "lead@odense.example")
    page = f"/dashboard/tenants/{w.tenant.id}"
    token = _form_token(client, page)
    until = date.today() + timedelta(days=14)
    r = client.post(f"{page}/pause", data={"until": until.isoformat(), "csrf_token": token})
    assert r.status_code == 302
    client.post(f"{page}/pause", data={"until": "next tuesday", "csrf_token": token})
    client.post(f"{page}/consent", data={"consent": "withdrawn", "csrf_token": token})
    client.post(f"{page}/notes", data={"body": "Besøg aftalt", "csrf_token": token})
    r = client.post(f"{page}/export", data={"csrf_token": token})
    assert r.status_code == 200 and r.get_json()["profile"]["name"] == "Anna Sørensen"
    assert "attachment" in r.headers["Content-Disposition"]
    # Team leads may export but not erase.
    assert client.post(f"{page}/erase", data={"confirm": "yes", "csrf_token": token}
                       ).status_code == 403
    session.expire_all()
    t = session.get(Tenant, w.tenant.id)
    assert t.checkins_paused_until == until and t.consent == "withdrawn" and t.opted_out
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_type == "tenant").order_by(AuditEvent.id)).all()
    assert actions == ["view", "checkins.pause", "consent_withdrawn", "add_note", "export"]
    html = client.get(page).get_data(as_text=True)
    assert "Besøg aftalt" in html and until.isoformat() in html


def test_caseworker_cannot_export(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    login(client, "cw@odense.example")
    page = f"/dashboard/tenants/{w.tenant.id}"
    html = client.get(page).get_data(as_text=True)
    assert "/export" not in html
    assert client.post(f"{page}/export", data={"csrf_token": csrf_from(html)}).status_code == 403


def test_admin_erases_and_reads_audit_log(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    boss = admin(session, w)
    login(client, "admin@odense.example")
    page = f"/dashboard/tenants/{w.tenant.id}"
    token = _form_token(client, page)
    client.post(f"{page}/erase", data={"csrf_token": token})  # unconfirmed: nothing happens
    session.expire_all()
    assert session.get(Tenant, w.tenant.id).erased_at is None
    r = client.post(f"{page}/erase", data={"confirm": "yes", "csrf_token": token})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(Tenant, w.tenant.id).erased_at is not None
    assert client.get(page).status_code == 404
    html = client.get("/dashboard/audit").get_data(as_text=True)
    # Readable: the person's name and the action in words, not "caseworker:4" and "erase".
    entries = html[html.index('id="audit"'):]
    assert "Slettede personoplysninger" in entries and boss.name in entries
    assert f"caseworker:{boss.id}" not in entries
    other = client.application.test_client()
    login(other, "lead@odense.example")
    assert other.get("/dashboard/audit").status_code == 403


def test_erasure_waits_until_the_tenants_alert_is_resolved(client: Any,
                                                           session: Session) -> None:
    """An open alert keeps its tenant's data (nobody could act on a blanked cry for help): the
    admin is told which alert to resolve first, and nothing is erased."""
    w = with_passwords(session, make_world(session))
    admin(session, w)
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant)
    session.commit()
    login(client, "admin@odense.example")
    page = f"/dashboard/tenants/{w.tenant.id}"
    token = _form_token(client, page)
    html = client.post(f"{page}/erase", data={"confirm": "yes", "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Ikke slettet: alarm #{alert.id}" in html
    session.expire_all()
    assert session.get(Tenant, w.tenant.id).erased_at is None


def test_reassign_and_invalid_transition_flash(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    _team, south = other_team(session, w)
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant)
    session.commit()
    login(client, "cw@odense.example")
    url = f"/dashboard/alerts/{alert.id}"
    token = _form_token(client, url)
    client.post(f"{url}/reassign", data={"owner_id": south.id, "csrf_token": token})
    session.expire_all()
    assert session.get(Alert, alert.id).owner_id == w.caseworker.id  # other team: refused
    client.post(f"{url}/reassign", data={"owner_id": w.colleague.id, "csrf_token": token})
    client.post(f"{url}/act", data={"action": "resolve", "csrf_token": token})
    r = client.post(f"{url}/act", data={"action": "acknowledge", "csrf_token": token},
                    follow_redirects=True)
    assert "Ikke muligt" in r.get_data(as_text=True)
    session.expire_all()
    a = session.get(Alert, alert.id)
    assert a.owner_id == w.colleague.id and a.state == "resolved"
    kinds = [e.kind for e in a.events]
    assert kinds[:2] == ["raised", "reassigned"] and kinds[-1] == "resolved"
    # The new owner was told at once (not at the next escalation step), and the timeline says so.
    told = [e for e in a.events if e.kind == "notified"]
    assert told and all(e.detail["caseworker_id"] == w.colleague.id
                        and e.detail["why"] == "handover" for e in told)
    rows = session.scalars(select(OutboxItem).where(OutboxItem.caseworker_id == w.colleague.id)
                           ).all()
    assert [(r.channel, r.recipient) for r in rows] == [("sms", w.colleague.phone)]


def _hand_to_colleague(client: Any, session: Session, w: World) -> tuple[str, str]:
    """A need-help alert, handed by its owner to their colleague in the dashboard: the alert's
    page address and the page the handover lands on."""
    alert, _ = raise_alert(session, source="need_help", summary="x", tenant=w.tenant)
    session.commit()
    login(client, "cw@odense.example")
    url = f"/dashboard/alerts/{alert.id}"
    page = client.post(f"{url}/reassign", data={"owner_id": w.colleague.id,
                                                "csrf_token": _form_token(client, url)},
                       follow_redirects=True).get_data(as_text=True)
    return url, page

def test_the_handover_flash_says_told_only_when_the_new_owner_was_reached(
        client: Any, session: Session) -> None:
    """The new owner has no phone and no Telegram chat: nothing reaches them, so the dashboard
    must not say they have been told; it says to tell them, and so does the timeline."""
    w = with_passwords(session, make_world(session))
    w.colleague.phone = None
    url, page = _hand_to_colleague(client, session, w)
    assert session.scalars(select(OutboxItem).where(
        OutboxItem.caseworker_id == w.colleague.id)).all() == []
    assert "som har fået besked" not in page
    assert f"givet videre til {w.colleague.name}, men vedkommende kunne ikke nås" in page
    assert f"{w.colleague.name} kunne ikke nås på nogen kanal" in page  # the timeline
    # In English too, through the catalogue.
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert f"{w.colleague.name} could not be reached on any channel" in page


def test_telegram_link_shown_once_and_hashed(client: Any, session: Session, app: Any) -> None:
    from dataclasses import replace

    from bot.core.config import TelegramSettings

    w = with_passwords(session, make_world(session))
    runtime = app.extensions["trygthjem"]
    runtime.settings = replace(runtime.settings, telegram=TelegramSettings(
        "123:token", bot_username="TrygtHjemBot"))
    login(client, "cw@odense.example")
    token = _form_token(client, "/dashboard/me")
    html = client.post("/dashboard/me/telegram", data={"csrf_token": token}).get_data(
        as_text=True)
    m = re.search(r'href="https://t\.me/TrygtHjemBot\?start=cw-([\w-]+)"', html)
    assert m, html
    session.expire_all()
    stored = session.get(Caseworker, w.caseworker.id).telegram_link_code_hash
    assert stored and matches(m.group(1), stored) and m.group(1) not in stored
    assert m.group(1) not in client.get("/dashboard/me").get_data(as_text=True)


def test_language_toggle(client: Any, session: Session) -> None:
    with_passwords(session, make_world(session))
    assert "Log ind" in client.get("/dashboard/login").get_data(as_text=True)
    assert "Log in" in client.get("/dashboard/login?lang=en").get_data(as_text=True)
    login(client, "cw@odense.example")
    assert "Alerts" in client.get("/dashboard/").get_data(as_text=True)  # remembered
    assert "Alarmer" in client.get("/dashboard/?lang=da").get_data(as_text=True)


def test_pause_from_dashboard_closes_the_open_checkin(client: Any, session: Session) -> None:
    """The dashboard pauses through bot.checkins: nothing the pause covers can count as missed."""
    from bot.models import CheckIn, CheckInStatus, utcnow

    w = with_passwords(session, make_world(session))
    checkin = CheckIn(tenant=w.tenant, slot_at=utcnow() - timedelta(hours=30),
                      status=CheckInStatus.REMINDED, sent_at=utcnow() - timedelta(hours=30))
    session.add(checkin)
    session.commit()
    login(client, "cw@odense.example")
    page = f"/dashboard/tenants/{w.tenant.id}"
    token = _form_token(client, page)
    past = (date.today() - timedelta(days=2)).isoformat()
    client.post(f"{page}/pause", data={"until": past, "csrf_token": token})
    session.expire_all()
    assert session.get(Tenant, w.tenant.id).checkins_paused_until is None
    until = date.today() + timedelta(days=7)
    client.post(f"{page}/pause", data={"until": until.isoformat(), "csrf_token": token})
    session.expire_all()
    assert session.get(CheckIn, checkin.id).status == CheckInStatus.SKIPPED
    client.post(f"{page}/pause", data={"until": "", "csrf_token": token})
    session.expire_all()
    assert session.get(Tenant, w.tenant.id).checkins_paused_until is None


@pytest.mark.parametrize("worker", [True, False], ids=["worker running", "no worker"])
def test_the_handover_flash_says_told_only_while_a_worker_sends(
        client: Any, session: Session, sessions: sessionmaker[Session], worker: bool) -> None:
    """The new owner has a phone and their SMS is queued, but it goes out only if a worker
    is sending: without one the flash says so, as a tenant's reply would."""
    if worker:
        from bot.ops.heartbeat import beat

        with sessions() as s, s.begin():
            beat(s, "worker", process="worker:tests")
    _url, page = _hand_to_colleague(client, session,
                                    with_passwords(session, make_world(session)))
    assert ("som har fået besked" in page) is worker
    assert ("ingen worker sender beskeder lige nu" in page) is not worker
