"""Dashboard sessions live in the database: logout, a password change and the timeouts end
them for every copy of the cookie; failed logins are throttled per client address."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.casework.passwords import set_password
from bot.casework.web_sessions import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    IP_MAX_FAILURES,
    IP_WINDOW,
    live_session,
    start_session,
)
from bot.models import Caseworker, LoginAttempt, WebSession, utcnow
from bot.runtime import Runtime
from tests.support.dashboard import csrf_from, login, with_passwords
from tests.support.factories import World
from webhooks import create_app

COOKIE = "session"


def _copy_cookie(source: FlaskClient, app: Flask) -> FlaskClient:
    """A second browser holding a copy of `source`'s session cookie (a stolen cookie)."""
    cookie = source.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value, domain=cookie.domain)
    return thief


def _logout(client: FlaskClient) -> Any:
    token = csrf_from(client.get("/dashboard/me").get_data(as_text=True))
    return client.post("/dashboard/logout", data={"csrf_token": token})


def test_a_copied_cookie_stops_working_at_logout(app: Flask, session: Session,
                                                 world: World) -> None:
    with_passwords(session, world)
    client = app.test_client()
    assert login(client, "cw@odense.example").status_code == 302
    thief = _copy_cookie(client, app)
    assert thief.get("/api/v1/alerts").status_code == 200  # the copy works while logged in
    assert thief.get(f"/api/v1/tenants/{world.tenant.id}").status_code == 200
    assert _logout(client).status_code == 302
    assert thief.get("/api/v1/alerts").status_code == 401
    assert thief.get(f"/api/v1/tenants/{world.tenant.id}").status_code == 401
    page = thief.get("/dashboard/")
    assert page.status_code == 302 and "/dashboard/login" in page.location
    row = session.scalar(select(WebSession))
    assert row is not None and row.ended_reason == "logout"


def test_password_change_ends_every_session_of_that_person(app: Flask, session: Session,
                                                           world: World) -> None:
    with_passwords(session, world)
    laptop, phone, lead = app.test_client(), app.test_client(), app.test_client()
    login(laptop, "cw@odense.example")
    login(phone, "cw@odense.example")
    login(lead, "lead@odense.example")
    cw = session.get(Caseworker, world.caseworker.id)
    assert cw is not None
    set_password(cw, "a brand new passphrase")
    session.commit()
    assert laptop.get("/api/v1/alerts").status_code == 401
    assert phone.get("/api/v1/alerts").status_code == 401
    assert lead.get("/api/v1/alerts").status_code == 200  # someone else's sessions stay
    assert login(laptop, "cw@odense.example", "a brand new passphrase").status_code == 302
    assert laptop.get("/api/v1/alerts").status_code == 200


def test_password_change_by_cli_ends_sessions(app: Flask, session: Session, world: World,
                                              db_url: str, monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    with_passwords(session, world)
    client = app.test_client()
    login(client, "cw@odense.example")
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["caseworker", "set-password", "cw@odense.example",
                                       "--password-stdin"], input="another long passphrase\n")
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/alerts").status_code == 401


def test_idle_timeout(app: Flask, session: Session, world: World) -> None:
    with_passwords(session, world)
    client = app.test_client()
    login(client, "cw@odense.example")
    start = utcnow()
    # Working steadily keeps the session: a request every 50 minutes for 3 hours.
    for step in range(1, 4):
        with time_machine.travel(start + step * (IDLE_TIMEOUT - timedelta(minutes=10))):
            assert client.get("/api/v1/alerts").status_code == 200
    with time_machine.travel(start + 3 * (IDLE_TIMEOUT - timedelta(minutes=10))
                             + IDLE_TIMEOUT + timedelta(minutes=1)):
        assert client.get("/api/v1/alerts").status_code == 401
    session.expire_all()
    assert session.scalar(select(WebSession.ended_reason)) == "idle"


def test_absolute_timeout(session: Session, world: World) -> None:
    now = utcnow()
    token = start_session(session, world.caseworker, now)
    session.commit()
    step = IDLE_TIMEOUT - timedelta(minutes=1)
    at = now
    while at + step < now + ABSOLUTE_TIMEOUT:  # never idle, always busy
        at += step
        assert live_session(session, token, at) is not None
    assert live_session(session, token, now + ABSOLUTE_TIMEOUT) is None
    session.commit()
    assert session.scalar(select(WebSession.ended_reason)) == "expired"
    assert live_session(session, "not a token", now) is None


def test_tokens_are_stored_hashed(session: Session, world: World) -> None:
    token = start_session(session, world.caseworker)
    session.commit()
    stored = session.scalar(select(WebSession.token_hash))
    assert stored is not None and token not in stored and len(stored) == 64


def test_eleventh_login_from_one_address_is_throttled(app: Flask, session: Session,
                                                      world: World) -> None:
    with_passwords(session, world)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    # Ten wrong guesses spread over ten accounts: no account reaches its own lockout.
    for n in range(IP_MAX_FAILURES):
        assert login(client, f"guess{n}@odense.example", "wrong").status_code == 401
    r = login(client, "cw@odense.example")  # the right password, but from that address
    assert r.status_code == 429
    text = r.get_data(as_text=True)
    assert "For mange forkerte login fra dette netværk" in text and "15 minutter" in text
    # Another address is not affected.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.5"
    assert login(other, "cw@odense.example").status_code == 302
    # After the window, the address may try again.
    with time_machine.travel(utcnow() + IP_WINDOW + timedelta(minutes=1)):
        assert login(client, "cw@odense.example").status_code == 302


def test_ip_throttle_holds_across_web_processes(runtime: Runtime, session: Session,
                                                world: World) -> None:
    """Two app instances (two gunicorn workers) share one count through the database."""
    with_passwords(session, world)
    one, two = create_app(runtime).test_client(), create_app(runtime).test_client()
    for n in range(IP_MAX_FAILURES):
        assert login(one if n % 2 else two, f"g{n}@x.example", "wrong").status_code == 401
    assert login(one, "cw@odense.example").status_code == 429
    assert login(two, "lead@odense.example").status_code == 429
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == IP_MAX_FAILURES


def test_operator_ends_all_sessions_of_one_caseworker(app: Flask, session: Session, world: World,
                                                      db_url: str, monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    with_passwords(session, world)
    laptop, lead = app.test_client(), app.test_client()
    login(laptop, "cw@odense.example")
    login(lead, "lead@odense.example")
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["caseworker", "end-sessions", "CW@odense.example"])
    assert result.exit_code == 0 and "Ended 1 dashboard session" in result.output
    assert laptop.get("/api/v1/alerts").status_code == 401
    assert lead.get("/api/v1/alerts").status_code == 200
    unknown = CliRunner().invoke(main, ["caseworker", "end-sessions", "nobody@x.example"])
    assert unknown.exit_code != 0 and "no caseworker" in unknown.output
