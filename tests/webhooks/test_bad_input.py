"""Hostile and broken input at every entry point: a clear 4xx, a helpful SMS answer or a clean
CLI error, never a 500 or a traceback, and a tenant's message is always stored.

Each test is one attack family; both databases run them (PostgreSQL refuses NUL in text and
overflows 32-bit ids, SQLite does neither, so a fix that only works on one shows up here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import raise_alert
from bot.casework.alert_buttons import ButtonOutcome, press
from bot.cli import main
from bot.core.config import Settings, TelegramSettings
from bot.models import (
    Alert,
    AuditEvent,
    CaseNote,
    Caseworker,
    Direction,
    Message,
    Tenant,
    utcnow,
)
from bot.runtime import Runtime
from bot.tenants import texts
from tests.support.dashboard import admin, csrf_from, login, with_passwords
from tests.support.emulators import TEST_BOT_TOKEN
from tests.support.factories import World, make_world
from tests.support.sms import (
    SMS_PATH,
    STATUS_PATH,
    inbound_form,
    new_sid,
    post_signed,
    sign,
    twiml_messages,
)
from tests.support.telegram_updates import message

# -- fixtures -----------------------------------------------------------------------------------


def post_raw(client: FlaskClient, path: str, form: dict[str, str]) -> Any:
    """Post the form as bytes; lone surrogates become invalid UTF-8 (what a broken gateway
    sends), signed over the form as the server decodes it, as a real gateway's would be."""
    from urllib.parse import quote

    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    raw = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}"
                   for k, v in form.items()).encode()
    kind = "application/x-www-form-urlencoded"
    seen = Request(EnvironBuilder(method="POST", data=raw, content_type=kind)
                   .get_environ()).form.to_dict()
    return client.post(path, data=raw, content_type=kind,
                       headers={"X-Twilio-Signature": sign(path, seen)})


def _inbound(session: Session) -> list[Message]:
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.direction == Direction.IN,
                                                      Message.channel == "sms")
                                .order_by(Message.id)))


# -- Twilio inbound SMS -------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    "", "   \n\t ", "x" * 2500, "ja\x00\x01\x07\x1b tak", "🙂🙏❤️", "مرحبا שלום", "\u202eok\u202c",
    "\ud800 lone surrogate",
])
def test_odd_bodies_from_a_tenant_are_stored_and_answered(
        sms_client: FlaskClient, session: Session, world: World, body: str) -> None:
    response = post_raw(sms_client, SMS_PATH, inbound_form(world.tenant.phone, body))
    assert len(twiml_messages(response)) <= 1
    [stored] = _inbound(session)
    assert stored.processed_at is not None and stored.tenant_id == world.tenant.id


@pytest.mark.parametrize("sender", ["1212", "TrygtHjem", "+45 28 00 03 01\x00", "\ud83d",
                                    "x" * 300, "‏+4528000301"])
def test_odd_senders_are_stored_not_a_500(sms_client: FlaskClient, session: Session,
                                          world: World, sender: str) -> None:
    response = post_raw(sms_client, SMS_PATH, inbound_form(sender, "hej"))
    assert response.status_code == 200, response.get_data(as_text=True)
    [stored] = _inbound(session)
    assert stored.body == "hej" and stored.processed_at is not None
    assert "\x00" not in stored.sender and len(stored.sender) <= 64


def test_nul_and_surrogates_in_sid_and_to_are_a_400_or_stored(
        sms_client: FlaskClient, session: Session, world: World) -> None:
    form = inbound_form(world.tenant.phone, "1", To="+4570103000\x00\ud800")
    assert len(twiml_messages(post_raw(sms_client, SMS_PATH, form))) == 1
    [stored] = _inbound(session)
    assert stored.body == "1" and "\x00" not in stored.recipient
    for sid in ("SM\x00" + "0" * 30, "SM\ud800", "SM" + "0" * 70, "SM 1", "SM1'--"):
        response = post_raw(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "1", sid=sid))
        assert response.status_code == 400 and response.is_json, sid
        response = post_raw(sms_client, STATUS_PATH, {"MessageSid": sid,
                                                      "MessageStatus": "delivered"})
        assert response.status_code == 400 and response.is_json, sid
    assert len(_inbound(session)) == 1


def test_picture_only_missing_from_and_wrong_method(sms_client: FlaskClient, session: Session,
                                                   world: World) -> None:
    form = inbound_form(world.tenant.phone, "", NumMedia="2")
    del form["Body"]
    assert twiml_messages(post_signed(sms_client, SMS_PATH, form)) == [
        texts.picture_received("da")]
    for media in ("-3", "lots", "9" * 40):
        form = inbound_form(world.tenant.phone, "", NumMedia=media)
        assert post_signed(sms_client, SMS_PATH, form).status_code == 200
    no_from = inbound_form(world.tenant.phone, "hej")
    del no_from["From"]
    response = post_signed(sms_client, SMS_PATH, no_from)
    assert response.status_code == 400 and response.is_json
    assert sms_client.get(SMS_PATH).status_code == 405
    assert sms_client.get(STATUS_PATH).status_code == 405


def test_duplicate_sid_with_a_different_body_keeps_the_first(
        sms_client: FlaskClient, session: Session, world: World) -> None:
    sid = new_sid()
    post_signed(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "1", sid=sid))
    response = post_signed(sms_client, SMS_PATH, inbound_form(world.tenant.phone, "3", sid=sid))
    assert response.status_code == 200
    [stored] = _inbound(session)
    assert stored.body == "1"
    assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_json_tampered_query_and_oversized_posts_are_refused(
        sms_client: FlaskClient, session: Session, world: World) -> None:
    form = inbound_form(world.tenant.phone, "hej")
    response = sms_client.post(SMS_PATH, json=form,
                               headers={"X-Twilio-Signature": sign(SMS_PATH, form)})
    assert response.status_code == 403 and response.is_json
    signed = sign(SMS_PATH + "?a=1", form)
    response = sms_client.post(SMS_PATH + "?a=2", data=form,
                               headers={"X-Twilio-Signature": signed})
    assert response.status_code == 403
    big = inbound_form(world.tenant.phone, "x" * (1024 * 1024 + 10))
    response = post_signed(sms_client, SMS_PATH, big)
    assert response.status_code == 413 and response.is_json
    assert _inbound(session) == []


@pytest.mark.parametrize("status,error", [("delivered", None), ("exploded", None),
                                          ("FAILED", "abc\x00" * 10), ("failed", "9" * 50),
                                          ("undelivered", "\ud800")])
def test_status_callbacks_with_garbage(sms_client: FlaskClient, session: Session, world: World,
                                       status: str, error: str | None) -> None:
    sid = new_sid()
    session.add(Message(direction=Direction.OUT, channel="sms", provider_id=sid,
                        recipient=world.tenant.phone, body="Hej", tenant_id=world.tenant.id,
                        status="sent"))
    session.commit()
    for target in (sid, new_sid()):
        form = {"MessageSid": target, "MessageStatus": status}
        if error is not None:
            form["ErrorCode"] = error
        response = post_raw(sms_client, STATUS_PATH, form)
        assert response.status_code == 204, response.get_data(as_text=True)


# -- Telegram webhook ---------------------------------------------------------------------------

SECRET = "s3cret-Token_1"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _Runner:
    """Stands in for the bot (handler behaviour is tested elsewhere): records what it got."""

    def __init__(self) -> None:
        self.updates: list[Any] = []

    def submit(self, data: Any) -> Any:
        import concurrent.futures

        self.updates.append(data)
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_result(None)
        return future


@pytest.fixture
def tg(runtime: Runtime) -> tuple[FlaskClient, _Runner]:
    from webhooks import create_app

    settings = Settings(database_url=runtime.settings.database_url,
                        telegram=TelegramSettings(TEST_BOT_TOKEN, SECRET),
                        secret_key="test-secret-key-0123456789")
    app: Flask = create_app(Runtime(settings, runtime.engine, runtime.sessions,
                                    runtime.channels))
    app.config["TESTING"] = True
    runner = _Runner()
    app.extensions["telegram_runner"] = runner
    return app.test_client(), runner


def _post(client: FlaskClient, body: Any = None, *, data: Any = None) -> Any:
    import json

    # json.dumps escapes lone surrogates as \udXXX, as a JSON sender may.
    raw = data if data is not None else json.dumps(body)
    return client.post("/webhooks/telegram", data=raw, content_type="application/json",
                       headers={HEADER: SECRET})


def test_telegram_malformed_updates_are_a_clear_400(tg: tuple[FlaskClient, _Runner]) -> None:
    client, runner = tg
    for body in ([], [{"update_id": 1}], "update", 7, None, {"update_id": "7"},
                 {"update_id": 7.5}, {"update_id": True}, {"update_id": None}):
        response = _post(client, body)
        assert response.status_code == 400 and response.is_json, body
    for raw in (b"\xff\xfe{", b"{", b"", b'{"update_id": 1'):
        assert _post(client, data=raw).status_code == 400
    assert runner.updates == []


@pytest.mark.parametrize("update_id", [-5, 0, 2**63 + 1, 10**80])
def test_telegram_odd_update_ids(tg: tuple[FlaskClient, _Runner], session: Session,
                                 update_id: int) -> None:
    client, _ = tg
    response = _post(client, message(7, "hej", update_id=update_id))
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    assert response.is_json


def test_telegram_unknown_update_types_and_odd_messages_are_stored(
        tg: tuple[FlaskClient, _Runner], session: Session) -> None:
    client, runner = tg
    bodies: list[dict[str, Any]] = [
        {"update_id": 9001, "edited_message": message(7, "rettet")["message"]},
        {"update_id": 9002, "channel_post": {"message_id": 1, "date": 0, "text": "x",
                                             "chat": {"id": -100, "type": "channel"}}},
        {"update_id": 9003, "my_chat_member": {"chat": {"id": 7}, "from": {"id": 7}}},
        {"update_id": 9004, "message": {"message_id": 1, "date": 0, "chat": {"id": 7},
                                        "from": {"id": 7}, "sticker": {"file_id": "s"}}},
        {"update_id": 9005, "message": "not an object"},
        {"update_id": 9006, "message": {"from": "nobody", "text": ["a"]}},
        {"update_id": 9007, "callback_query": {"id": "1", "from": {"id": 7},
                                               "data": "alert:999999999999:ack" + "x" * 80}},
        {"update_id": 9008, "message": message(7, "nul\x00 og \ud800 surrogat")["message"]},
        {"update_id": 9009, "message": {**message(7)["message"],
                                        "from": {"id": "7" * 300}, "text": "hej"}},
    ]
    for body in bodies:
        response = _post(client, body)
        assert response.status_code == 200, (body, response.get_data(as_text=True))
    assert _post(client, bodies[0]).get_json() == {"ok": True, "duplicate": True}
    session.expire_all()
    stored = session.scalars(select(Message).where(Message.channel == "telegram")).all()
    assert len(stored) == len(bodies) == len(runner.updates)
    assert all("\x00" not in m.body and len(m.sender) <= 254 for m in stored)


def test_forged_home_ids_from_a_landlord_button_are_refused(session: Session) -> None:
    from bot.landlords.flow import InvalidChoice, own_home

    w = make_world(session)
    for forged in ("99999999999", "2147483648", "-1", "0", "²", "9" * 5000, None, "1.5"):
        with pytest.raises(InvalidChoice):
            own_home(session, w.landlord, forged)
    assert own_home(session, w.landlord, str(w.home.id)) == w.home


def test_tenant_refs_that_look_numeric(db_url: str, session: Session) -> None:
    make_world(session)
    for ref in ("²", "١", "9" * 30, "1" * 8):
        result = _cli(db_url, "tenant", "pause", ref, "--until", "2099-01-01")
        assert result.exit_code == 1 and "no tenant" in result.output, (ref, result.output)


def test_telegram_button_with_an_id_beyond_the_column_is_not_found(session: Session) -> None:
    w = make_world(session)
    w.caseworker.telegram_chat_id = 4242
    session.commit()
    for data in ("alert:999999999999:ack", "alert:2147483648:resolve", "alert:0:ack"):
        assert press(session, 4242, data).outcome == ButtonOutcome.NOT_FOUND
    for data in ("alert:abc:ack", "alert:1:explode", "alert:1:ack" + "x" * 80, ""):
        assert press(session, 4242, data).outcome == ButtonOutcome.INVALID


# -- JSON API and dashboard forms ---------------------------------------------------------------


def _alert(session: Session, w: World) -> Alert:
    a, _ = raise_alert(session, source="message", summary="Vil tale", tenant=w.tenant,
                       now=utcnow())
    session.commit()
    return a


def test_api_wrong_types_and_notes(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    login(client, "cw@odense.example")
    a = _alert(session, w)
    url = f"/api/v1/tenants/{w.tenant.id}/notes"
    for payload in ([], "x", 5, {"body": 5}, {"body": ["x"]}, {"body": "   "},
                    {"body": "\x00"}, {"body": "x", "alert_id": "1"},
                    {"body": "x", "alert_id": -1}, {"body": "x", "alert_id": 1.5}):
        response = client.post(url, json=payload)
        assert response.status_code == 400 and response.is_json, payload
    response = client.post(url, json={"body": "x" * 5001})
    assert response.status_code == 400 and "5000" in response.get_json()["detail"]
    assert session.scalar(select(func.count()).select_from(CaseNote)) == 0  # refused, not cut
    assert client.post(url, json={"body": "y" * 5000}).status_code == 201
    r = client.post(url, json={"body": "hej\x00 med NUL", "alert_id": a.id})
    assert r.status_code == 201 and r.get_json()["body"] == "hej  med NUL"
    assert client.post(f"/api/v1/alerts/{a.id}/resolve", json={}).status_code == 200
    r = client.post(f"/api/v1/alerts/{a.id}/acknowledge", json={})
    assert r.status_code == 409 and r.is_json
    assert client.post(f"/api/v1/alerts/{a.id}/resolve", data="[]").status_code == 415
    assert client.get("/api/v1/alerts?state=%00").status_code == 400
    assert client.get("/api/v1/alerts/-1").status_code == 404


def test_dashboard_forms_with_garbage(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    login(client, "cw@odense.example")
    a = _alert(session, w)
    token = csrf_from(client.get(f"/dashboard/alerts/{a.id}").get_data(as_text=True))
    stranger_org = make_world_other_org(session)
    for owner in ("", "abc", "²", "١٢", "-1", "99999999999999", str(stranger_org.id), "0"):
        r = client.post(f"/dashboard/alerts/{a.id}/reassign",
                        data={"owner_id": owner, "csrf_token": token})
        assert r.status_code == 302, (owner, r.status_code)
    session.expire_all()
    assert session.get(Alert, a.id).owner_id == w.caseworker.id
    for until in ("2026-02-30", "99999-01-01", "1999-01-01", "i morgen", "9999-12-31",
                  "2026-13-01\x00"):
        r = client.post(f"/dashboard/tenants/{w.tenant.id}/pause",
                        data={"until": until, "csrf_token": token})
        assert r.status_code == 302, (until, r.status_code)
    r = client.post(f"/dashboard/tenants/{w.tenant.id}/notes",
                    data={"body": "z" * 5001, "csrf_token": token}, follow_redirects=True)
    assert "Noten er for lang: højst 5000 tegn." in r.get_data(as_text=True)
    for path, data in ((f"/dashboard/alerts/{a.id}/act", {"action": "explode"}),
                       (f"/dashboard/alerts/{a.id}/act", {}),
                       (f"/dashboard/alerts/{a.id}/notes", {"body": "nul\x00"}),
                       (f"/dashboard/tenants/{w.tenant.id}/notes", {}),
                       (f"/dashboard/tenants/{w.tenant.id}/consent", {})):
        r = client.post(path, data={**data, "csrf_token": token})
        assert r.status_code in (302, 400), (path, data, r.status_code)
    session.expire_all()
    assert [n.body for n in session.scalars(select(CaseNote))] == ["nul"]
    assert client.get("/dashboard/?state=%00").status_code == 200
    admin(session, w)
    login(client, "admin@odense.example")
    assert client.get("/dashboard/audit?subject_id=%00&subject_type=%00").status_code in (
        200, 400)


def make_world_other_org(session: Session) -> Caseworker:
    from bot.models import Organisation, Role, Team

    org = Organisation(name="Aarhus Kommune")
    team = Team(organisation=org, name="Aarhus HF")
    cw = Caseworker(team=team, email="x@aarhus.example", name="Ole Aarhus",
                    phone="+4526009999", role=Role.CASEWORKER)
    session.add_all([org, team, cw])
    session.commit()
    return cw


def test_login_form_with_garbage(client: Any, session: Session) -> None:
    with_passwords(session, make_world(session))
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    for email, password in (("nul\x00@x.dk", "x"), ("", ""),
                            ("cw@odense.example", "\x00" * 10), ("a" * 5000, "b" * 100_000)):
        r = client.post("/dashboard/login", data={"email": email, "password": password,
                                                  "csrf_token": token})
        assert r.status_code in (200, 400, 401, 429), (email[:20], r.status_code)


# -- CLI ----------------------------------------------------------------------------------------


def _cli(db_url: str, *args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": db_url, **(env or {})},
                                catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def test_cli_import_of_files_that_are_not_csv(db_url: str, session: Session,
                                              tmp_path: Path) -> None:
    make_world(session)
    binary = tmp_path / "photo.csv"
    binary.write_bytes(bytes(range(256)) * 40)
    header_only = tmp_path / "header.csv"
    header_only.write_text("name,phone,language,home_reference,caseworker_email,"
                           "checkin_weekday,checkin_time\n")
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeff email , name , phone , team , role \n"
                    "ny@odense.example, Ny Person ,+4526001234, Housing First Odense , "
                    "caseworker\n".encode())
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("email,name,phone,team,role\nø@x.dk,Søren,+4526001235,T,caseworker\n"
                       .encode("latin-1"))
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"email,name,phone,team,role\nn@x.dk,N\x00ul,+4526001236,T,caseworker\n")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for kind, path in (("tenants", binary), ("tenants", header_only), ("caseworkers", nul),
                       ("homes", empty)):
        result = _cli(db_url, "import", kind, str(path))
        assert result.exit_code != 0 and "Error" in result.output, (path.name, result.output)
        assert "Traceback" not in result.output
    assert "not a text CSV file" in _cli(db_url, "import", "tenants", str(binary)).output
    assert "has a header but no rows" in _cli(db_url, "import", "tenants",
                                              str(header_only)).output
    assert _cli(db_url, "import", "tenants", str(tmp_path)).exit_code == 2
    for path in (bom, latin1):  # both are readable CSV: imported
        result = _cli(db_url, "import", "caseworkers", str(path))
        assert result.exit_code == 0, result.output
    assert session.scalar(select(Caseworker.name).where(Caseworker.email == "ny@odense.example"))
    assert session.scalar(select(Caseworker.name).where(Caseworker.email == "ø@x.dk")) == "Søren"


def test_cli_import_of_10000_bad_rows_is_bounded(db_url: str, session: Session,
                                                 tmp_path: Path) -> None:
    make_world(session)
    big = tmp_path / "big.csv"
    big.write_text("email,name,phone,team,role\n" + "".join(
        f"p{i}@x.dk,Person {i},not-a-phone,Nowhere,caseworker\n" for i in range(10_000)))
    result = _cli(db_url, "import", "caseworkers", str(big))
    assert result.exit_code == 1
    assert len(result.output) < 200_000
    assert "... and 9950 more bad value(s)" in result.output
    assert "10000 bad row(s) of 10000; nothing was written" in result.output


def test_cli_pause_policy_and_settings_errors(db_url: str, session: Session,
                                              tmp_path: Path) -> None:
    w = make_world(session)
    for until in ("2026-02-30", "99999-01-01", "yesterday", "1999-01-01"):
        result = _cli(db_url, "tenant", "pause", w.tenant.phone, "--until", until)
        assert result.exit_code != 0, (until, result.output)
    for step in ("", "x", "0:assigned", "-5:assigned:sms", "0:nobody:sms", "0:assigned:pigeon",
                 "99999999999999999999:team:sms", "0:assigned:"):
        result = _cli(db_url, "policy", "set", w.team.name, "high", "--step", step)
        assert result.exit_code != 0 and "Error" in result.output, (step, result.output)
    for ref in ("9" * 30, "²", "Nowhere"):
        result = _cli(db_url, "policy", "set", ref, "high", "--step", "0:assigned:sms")
        assert result.exit_code == 1 and "is not a team" in result.output, (ref, result.output)
    text_db = tmp_path / "notes.txt"
    text_db.write_text("this is not a database\n" * 50)
    for command in (["db", "current"], ["import", "homes", str(text_db)],
                    ["tenant", "resume", "+4528000301"], ["policy", "show"]):
        result = _cli(f"sqlite:///{text_db}", *command)
        assert result.exit_code != 0 and "Error" in result.output, (command, result.output)
    for name, value in (("DATABASE_URL", "mysql://nope"), ("DATABASE_URL", "::"),
                        ("LOG_LEVEL", "LOUD"), ("LOG_FORMAT", "xml"),
                        ("PUBLIC_BASE_URL", "not a url"), ("TWILIO_ACCOUNT_SID", "AC1"),
                        ("TELEGRAM_BOT_TOKEN", "x"), ("SECRET_KEY", "short")):
        result = _cli(db_url, "policy", "show", env={name: value})
        assert "Traceback" not in result.output, (name, result.output)


def test_cli_all_settings_with_bad_values(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    source = Path("bot/core/config.py").read_text()
    names = sorted(set(re.findall(r'_clean\(env, "([A-Z_]+)"\)', source))
                   | set(re.findall(r'env\.get\("([A-Z_]+)"', source)))
    assert "DATABASE_URL" in names
    for name in names:
        for value in ("-1", "not valid at all ☃", "9" * 40, "²", "9" * 5000):
            result = _cli(db_url, "policy", "show", env={name: value})
            assert "Traceback" not in result.output, (name, value, result.output)
    for name in ("SMTP_PORT", "CHECKIN_BATCH_SIZE", "RETENTION_DAYS", "MISSED_ALERT_THRESHOLDS"):
        for value in ("²", "9" * 5000, "²:low"):
            result = _cli(db_url, "policy", "show", env={name: value, "SMTP_HOST": "mail.test"})
            assert result.exit_code == 1 and name in result.output, (name, result.output)


def test_erased_or_audit_noise_is_not_created_by_refusals(client: Any, session: Session) -> None:
    """A refused request must not leave half-written rows (e.g. audit events)."""
    w = with_passwords(session, make_world(session))
    login(client, "cw@odense.example")
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    client.post(f"/api/v1/tenants/{w.tenant.id}/notes", json={"body": ""})
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert session.get(Tenant, w.tenant.id).erased_at is None


def test_demo_simulators_refuse_non_objects(client: Any, session: Session) -> None:
    make_world(session)
    for path in ("/demo/phone/send", "/demo/telegram/send"):
        for raw in ("[1, 2]", '"text"', "7", "{not json"):
            r = client.post(path, data=raw, content_type="application/json")
            assert r.status_code == 400 and r.is_json, (path, raw, r.status_code)
    r = client.post("/demo/phone/send", json={"phone": "+45\x00", "body": "hej"})
    assert r.status_code == 400


def test_landlord_description_with_nul_and_surrogates_is_kept(session: Session) -> None:
    from bot.landlords.flow import Draft, check_description, submit_concern
    from bot.models import Concern

    assert check_description("Vand\x00 i kælderen \ud83d") == "Vand  i kælderen ?"
    w = make_world(session)
    draft = Draft(home_id=w.home.id, category="damage", urgency="this_week",
                  description="Vand\x00 i kælderen")
    submit_concern(session, w.landlord, draft)
    session.commit()
    assert session.scalar(select(Concern.description)) == "Vand  i kælderen"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\r\nSet-Cookie: x=1",
                                    "//evil.example", "/\\evil.example", "https://evil.example",
                                    "/\u2028/evil.example"])
def test_login_next_cannot_leave_the_site_or_break_the_header(client: Any, session: Session,
                                                              target: str) -> None:
    from tests.support.dashboard import PASSWORD

    with_passwords(session, make_world(session))
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    r = client.post("/dashboard/login", data={"email": "cw@odense.example", "password": PASSWORD,
                                              "csrf_token": token, "next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/", r.headers


def test_deeply_nested_json_is_a_400(client: Any, session: Session,
                                     tg: tuple[FlaskClient, _Runner]) -> None:
    w = with_passwords(session, make_world(session))
    login(client, "cw@odense.example")
    deep = "[" * 200_000 + "]" * 200_000
    r = client.post(f"/api/v1/tenants/{w.tenant.id}/notes", data=deep,
                    content_type="application/json")
    assert r.status_code == 400 and r.is_json
    assert _post(tg[0], data=deep).status_code == 400
    assert client.post("/demo/telegram/send", data=deep,
                       content_type="application/json").status_code == 400
