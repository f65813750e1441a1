"""POST /webhooks/telegram: secret check, dedup on update_id, hand-over to the bot (replies go
to telegram-test-api), and the CLI that registers the webhook.

Emulator gap: telegram-test-api's webhook delivery sends no X-Telegram-Bot-Api-Secret-Token, so
its POSTs are (rightly) refused here; updates are therefore posted by the test in Telegram's
format, and `set-webhook` is checked by letting the emulator deliver to a plain test server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import ApplicationBuilder

from bot.cli import main
from bot.core.config import Settings, TelegramSettings
from bot.landlords.invites import create_invite
from bot.models import Landlord, Message
from bot.runtime import Runtime
from bot.telegram_bot import BotRunner, configure
from bot.telegram_bot.local import LocalBotRequest
from tests.support.emulators import EMULATOR_BOT_USERNAME, TEST_BOT_TOKEN, TelegramEmulator
from tests.support.factories import make_world
from tests.support.ptb_emulator import emulator_app_builder
from tests.support.telegram_updates import message
from webhooks import create_app

SECRET = "s3cret-Token_1"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
USER = 7373


def _app(runtime: Runtime, telegram: TelegramSettings | None) -> Flask:
    settings = Settings(database_url=runtime.settings.database_url, telegram=telegram,
                        secret_key="test-secret-key-0123456789")
    app = create_app(Runtime(settings, runtime.engine, runtime.sessions, runtime.channels))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def bot_app(runtime: Runtime, telegram_emulator_clean: TelegramEmulator) -> Iterator[Flask]:
    app = _app(runtime, TelegramSettings(TEST_BOT_TOKEN, SECRET, telegram_emulator_clean.url))
    runner = BotRunner(configure(emulator_app_builder(TEST_BOT_TOKEN,
                                                      telegram_emulator_clean.url),
                                 runtime.sessions))
    app.extensions["telegram_runner"] = runner
    yield app
    runner.stop()


@pytest.mark.parametrize("headers", [{}, {HEADER: "wrong"}, {HEADER: SECRET + "x"}])
def test_wrong_or_missing_secret_is_403(runtime: Runtime, headers: dict[str, str]) -> None:
    app = _app(runtime, TelegramSettings(TEST_BOT_TOKEN, SECRET))
    response = app.test_client().post("/webhooks/telegram", json=message(USER, "/start"),
                                      headers=headers)
    assert response.status_code == 403
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_no_secret_configured_refuses_everything(runtime: Runtime) -> None:
    app = _app(runtime, TelegramSettings(TEST_BOT_TOKEN, None))
    response = app.test_client().post("/webhooks/telegram", json=message(USER, "/start"),
                                      headers={HEADER: ""})
    assert response.status_code == 403


def test_telegram_off_is_404_and_bad_body_is_400(runtime: Runtime) -> None:
    off = _app(runtime, None).test_client().post("/webhooks/telegram", json={"update_id": 1})
    assert off.status_code == 404
    client = _app(runtime, TelegramSettings(TEST_BOT_TOKEN, SECRET)).test_client()
    for body in ({"no": "update_id"}, {"update_id": "7"}, [1, 2]):
        response = client.post("/webhooks/telegram", json=body, headers={HEADER: SECRET})
        assert response.status_code == 400 and response.is_json
    response = client.post("/webhooks/telegram", data="not json", headers={HEADER: SECRET})
    assert response.status_code == 400


def test_update_is_processed_once(bot_app: Flask, telegram_emulator_clean: TelegramEmulator,
                                  sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        w = make_world(session)
        token = create_invite(session, w.landlord)
        session.commit()
    client = bot_app.test_client()
    update = message(USER, f"/start {token}", update_id=900001)
    first = client.post("/webhooks/telegram", json=update, headers={HEADER: SECRET})
    assert first.status_code == 200 and first.json == {"ok": True}
    [welcome] = telegram_emulator_clean.wait_bot_messages(TEST_BOT_TOKEN, USER)
    assert welcome["message"]["text"].startswith("Velkommen, Peter Lund")
    # Telegram retries the same update (e.g. our answer was lost): stored once, handled once.
    again = client.post("/webhooks/telegram", json=update, headers={HEADER: SECRET})
    assert again.status_code == 200 and again.json == {"ok": True, "duplicate": True}
    follow = client.post("/webhooks/telegram", json=message(USER, "/mine", update_id=900002),
                         headers={HEADER: SECRET})
    assert follow.status_code == 200
    [mine] = telegram_emulator_clean.wait_bot_messages(TEST_BOT_TOKEN, USER)
    assert mine["message"]["text"] == "Du har ingen åbne eller nylige henvendelser."
    with sessions() as session:
        rows = list(session.scalars(select(Message).order_by(Message.id)))
        assert [(r.provider_id, r.channel, r.direction) for r in rows] == [
            ("900001", "telegram", "in"), ("900002", "telegram", "in")]
        assert rows[0].body == "/start [link code]" and rows[0].sender == str(USER)
        assert rows[1].body == "/mine"
        deadline = time.monotonic() + 5
        while any(r.status != "processed" for r in rows) and time.monotonic() < deadline:
            time.sleep(0.02)
            rows = list(session.scalars(select(Message).order_by(Message.id)
                                        .execution_options(populate_existing=True)))
        assert [r.status for r in rows] == ["processed", "processed"]
        landlord = session.get(Landlord, w.landlord.id)
        assert landlord is not None and landlord.telegram_user_id == USER


# -- command line


def _cli(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(main, args, env={"LOG_FORMAT": "console", **env})


def test_cli_landlord_invite_and_caseworker_link(db_url: str, sessions: sessionmaker[Session],
                                                 telegram_emulator: TelegramEmulator) -> None:
    with sessions() as session:
        make_world(session)
    env = {"DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": TEST_BOT_TOKEN,
           "TELEGRAM_API_URL": telegram_emulator.url}
    result = _cli(["landlord", "invite", "DRIFT@fynbolig.example", "--days", "3"], env)
    assert result.exit_code == 0, result.output
    # Without TELEGRAM_BOT_USERNAME the bot's name comes from getMe.
    assert f"https://t.me/{EMULATOR_BOT_USERNAME}?start=" in result.output
    assert "Peter Lund" in result.output
    named = _cli(["landlord", "invite", "drift@fynbolig.example"],
                 {**env, "TELEGRAM_BOT_USERNAME": "TrygtHjemBot"})
    assert "https://t.me/TrygtHjemBot?start=" in named.output
    missing = _cli(["landlord", "invite", "nobody@example.org"], env)
    assert missing.exit_code == 1 and "no landlord with e-mail" in missing.output
    link = _cli(["caseworker", "telegram-link", "cw@odense.example"], env)
    assert link.exit_code == 0 and "?start=cw-" in link.output
    for args in (["landlord", "invite", "drift@fynbolig.example"], ["bot"],
                 ["telegram", "set-webhook"]):
        off = _cli(args, {"DATABASE_URL": db_url})
        assert off.exit_code == 1 and "TELEGRAM_BOT_TOKEN is not set" in off.output, args


def test_cli_set_webhook(telegram_emulator_clean: TelegramEmulator,
                         httpserver: HTTPServer) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TEST_BOT_TOKEN, "TELEGRAM_API_URL": telegram_emulator_clean.url}
    no_secret = _cli(["telegram", "set-webhook", "--url", "https://x.example/h"], env)
    assert no_secret.exit_code == 1 and "TELEGRAM_WEBHOOK_SECRET" in no_secret.output
    env["TELEGRAM_WEBHOOK_SECRET"] = SECRET
    no_url = _cli(["telegram", "set-webhook"], env)
    assert no_url.exit_code == 1 and "PUBLIC_BASE_URL" in no_url.output
    httpserver.expect_request("/webhooks/telegram", method="POST").respond_with_json({"ok": 1})
    url = httpserver.url_for("/webhooks/telegram")
    result = _cli(["telegram", "set-webhook"], {**env, "PUBLIC_BASE_URL": url.rsplit("/", 2)[0]})
    assert result.exit_code == 0 and f"Webhook set: {url}" in result.output
    # The emulator now delivers a user's message to the registered URL.
    telegram_emulator_clean.send_message(TEST_BOT_TOKEN, USER, USER, "hej")
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.02)
    [(request, _)] = httpserver.log
    assert request.get_json()["message"]["text"] == "hej"


def test_bot_not_starting_is_503_and_the_retry_is_processed(runtime: Runtime) -> None:
    app = _app(runtime, TelegramSettings(TEST_BOT_TOKEN, SECRET, "http://127.0.0.1:9"))

    class Broken:
        def submit(self, data: dict[str, Any]) -> Any:
            raise RuntimeError("getMe failed")

    app.extensions["telegram_runner"] = Broken()
    update = message(USER, "/start", update_id=123)
    client = app.test_client()
    assert client.post("/webhooks/telegram", json=update,
                       headers={HEADER: SECRET}).status_code == 503
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    app.extensions["telegram_runner"] = BotRunner(configure(
        ApplicationBuilder().token("1:local").request(LocalBotRequest())
        .get_updates_request(LocalBotRequest()), runtime.sessions))
    try:
        again = client.post("/webhooks/telegram", json=update, headers={HEADER: SECRET})
        assert again.status_code == 200 and again.json == {"ok": True}
    finally:
        app.extensions["telegram_runner"].stop()
