"""Smoke tests of the test harness itself: the real emulators and the real browser."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler
from twilio.base import values
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from bot.channels.twilio.http import RebasedTwilioHttpClient
from tests.support.emulators import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_BOT_TOKEN,
    TelegramEmulator,
)
from tests.support.live_server import serve_wsgi
from tests.support.ptb_emulator import build_test_application, build_test_bot, running_application

TENANT_PHONE = "+4791234567"
SERVICE_PHONE = "+4759440000"
CHAT_ID = 4242
USER_ID = 4242


# -- Twilio via Prism ---------------------------------------------------------------------------


def test_rebased_client_rewrites_scheme_host_and_keeps_path_and_query() -> None:
    client = RebasedTwilioHttpClient("http://127.0.0.1:4010/prefix/")
    assert (
        client.rebase("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=5")
        == "http://127.0.0.1:4010/prefix/2010-04-01/Accounts/AC1/Messages.json?PageSize=5"
    )
    with pytest.raises(ValueError):
        RebasedTwilioHttpClient("127.0.0.1:4010")


@pytest.mark.emulator
def test_twilio_create_message_returns_sid(prism_url: str) -> None:
    client = Client(
        TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, http_client=RebasedTwilioHttpClient(prism_url)
    )
    message = client.messages.create(to=TENANT_PHONE, from_=SERVICE_PHONE, body="Hei!")
    assert message.sid.startswith("SM")
    last = client.http_client._test_only_last_request
    assert last is not None and last.url.startswith(prism_url + "/2010-04-01/")


@pytest.mark.emulator
def test_twilio_bad_account_sid_is_rejected(prism_url: str) -> None:
    client = Client(
        "ACnot-a-valid-sid", TEST_AUTH_TOKEN, http_client=RebasedTwilioHttpClient(prism_url)
    )
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=TENANT_PHONE, from_=SERVICE_PHONE, body="Hei!")
    assert caught.value.status == 422


@pytest.mark.emulator
def test_twilio_missing_to_is_rejected_with_reason(twilio_emulator_client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        twilio_emulator_client.messages.create(to=values.unset, from_=SERVICE_PHONE, body="Hei!")
    assert caught.value.status == 422
    # The exception only says "Unable to create record"; the reason is in the body.
    last = twilio_emulator_client.http_client._test_only_last_response
    assert last is not None and "To" in last.text


# -- Telegram via telegram-test-api -------------------------------------------------------------


@pytest.mark.emulator
def test_telegram_get_me_and_bot_message(telegram_emulator_clean: TelegramEmulator) -> None:
    emulator = telegram_emulator_clean

    async def scenario() -> Message:
        async with build_test_bot(TEST_BOT_TOKEN, emulator.url) as bot:
            me = await bot.get_me()
            assert me.is_bot and me.username
            sent = await bot.send_message(CHAT_ID, "Husleia er betalt")
            edited = await bot.edit_message_text("Husleia er betalt ✔", CHAT_ID, sent.message_id)
            assert isinstance(edited, Message) and edited.message_id == sent.message_id
            with pytest.raises(BadRequest):  # emulator's "HTTP 200, ok:false" becomes a 400
                await bot.delete_message(CHAT_ID, 999_999)
            return sent

    sent = asyncio.run(scenario())
    assert sent.date.year >= 2024  # milliseconds would have overflowed or landed in year 50000+
    [stored] = emulator.bot_messages(TEST_BOT_TOKEN, CHAT_ID)
    assert stored["messageId"] == sent.message_id
    assert stored["message"]["text"] == "Husleia er betalt ✔"  # the edit reached the emulator
    assert emulator.bot_messages(TEST_BOT_TOKEN, CHAT_ID) == []  # each one is returned once


@pytest.mark.emulator
def test_telegram_user_message_arrives_via_get_updates(
    telegram_emulator_clean: TelegramEmulator,
) -> None:
    emulator = telegram_emulator_clean
    emulator.send_message(
        TEST_BOT_TOKEN, CHAT_ID, USER_ID, "Hei, vannet lekker", language_code="nb"
    )

    async def scenario() -> tuple[Update, ...]:
        async with build_test_bot(TEST_BOT_TOKEN, emulator.url) as bot:
            return await bot.get_updates(timeout=0)

    [update] = asyncio.run(scenario())
    assert update.message is not None
    assert update.message.text == "Hei, vannet lekker"
    assert update.message.chat.id == CHAT_ID
    assert update.effective_user is not None and update.effective_user.language_code == "nb"


@pytest.mark.emulator
def test_telegram_application_command_and_callback_round_trip(
    telegram_emulator_clean: TelegramEmulator,
) -> None:
    emulator = telegram_emulator_clean
    queries: list[CallbackQuery] = []

    async def start(update: Update, context: CallbackContext) -> None:  # type: ignore[type-arg]
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="confirm:1")]])
        await update.effective_message.reply_text(
            f"Velkommen, kode {context.args[0] if context.args else '-'}", reply_markup=keyboard
        )

    async def pressed(update: Update, context: CallbackContext) -> None:  # type: ignore[type-arg]
        assert update.callback_query is not None
        queries.append(update.callback_query)
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Bekreftet")

    application = build_test_application(
        TEST_BOT_TOKEN,
        emulator.url,
        [CommandHandler("start", start), CallbackQueryHandler(pressed)],
    )

    async def scenario() -> None:
        async with running_application(application):
            await asyncio.to_thread(
                emulator.send_command, TEST_BOT_TOKEN, CHAT_ID, USER_ID, "/start abc123"
            )
            [welcome] = await emulator.await_bot_messages(TEST_BOT_TOKEN, CHAT_ID)
            assert welcome["message"]["text"] == "Velkommen, kode abc123"
            button = welcome["message"]["reply_markup"]["inline_keyboard"][0][0]
            await asyncio.to_thread(
                emulator.send_callback,
                TEST_BOT_TOKEN,
                USER_ID,
                CHAT_ID,
                welcome["messageId"],
                button["callback_data"],
            )
            for _ in range(200):
                if queries:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(scenario())
    [query] = queries
    assert query.data == "confirm:1"
    assert query.from_user.id == USER_ID
    history = emulator.history(TEST_BOT_TOKEN)
    assert any(item.get("message", {}).get("text") == "Bekreftet" for item in history)


@pytest.mark.emulator
def test_telegram_emulator_survives_failing_webhook_and_reset_clears_it(
    telegram_emulator_clean: TelegramEmulator,
) -> None:
    emulator = telegram_emulator_clean

    async def set_dead_webhook() -> bool:
        async with build_test_bot(TEST_BOT_TOKEN, emulator.url) as bot:
            return await bot.set_webhook("http://127.0.0.1:9/telegram")  # nothing listens on 9

    assert asyncio.run(set_dead_webhook()) is True
    # The failed delivery is an unhandled rejection in Node, fatal unless our script catches it.
    emulator.send_message(TEST_BOT_TOKEN, CHAT_ID, USER_ID, "til webhook")
    time.sleep(0.2)
    assert emulator.process.alive(), emulator.process.log_tail()
    emulator.reset()
    emulator.send_message(TEST_BOT_TOKEN, CHAT_ID, USER_ID, "etter reset")

    async def fetch() -> tuple[Update, ...]:
        async with build_test_bot(TEST_BOT_TOKEN, emulator.url) as bot:
            return await bot.get_updates(timeout=0)

    assert [u.message.text for u in asyncio.run(fetch()) if u.message] == ["etter reset"]


# -- Browser ------------------------------------------------------------------------------------


def _button_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        return """<!doctype html><html lang="nb"><body>
            <p id="status">Ikke bekreftet</p>
            <button id="confirm" onclick="document.getElementById('status').textContent =
                'Bekreftet'">Bekreft</button>
            </body></html>"""

    return app


@pytest.mark.browser
def test_browser_clicks_button_and_takes_screenshot(page: Page, tmp_path: Path) -> None:
    with serve_wsgi(_button_app()) as base_url:
        page.goto(base_url + "/")
        assert page.text_content("#status") == "Ikke bekreftet"
        page.get_by_role("button", name="Bekreft").click()
        page.wait_for_function(
            "document.getElementById('status').textContent === 'Bekreftet'", timeout=5_000
        )
        shot = tmp_path / "confirm.png"
        page.screenshot(path=str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_asyncio_run_works_after_the_browser_started() -> None:
    # Runs after a browser test (file order): Playwright's sync API leaves its loop marked as
    # running, which browser.py's guard must clear, or every asyncio.run() below would fail.
    assert asyncio.run(asyncio.sleep(0, result="ok")) == "ok"


@pytest.mark.browser
def test_browser_still_works_after_asyncio_run(page: Page) -> None:
    with serve_wsgi(_button_app()) as base_url:
        page.goto(base_url + "/")
        assert page.get_by_role("button").inner_text() == "Bekreft"
