"""The bot end to end against telegram-test-api: linking, the concern flow with buttons, cancel,
bad tokens, forged button data, /mine, the status push, and a restart mid-conversation.

Emulator gaps (covered in test_telegram_handlers.py with the in-process Bot API instead): users
cannot send photos or files, and answerCallbackQuery texts are not kept, so refusals shown as a
button pop-up are checked there.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import act
from bot.channels.telegram import TelegramChannel
from bot.delivery.dispatcher import Dispatcher
from bot.landlords.invites import create_invite
from bot.models import Alert, Concern, Landlord, utcnow
from bot.telegram_bot import configure
from tests.support.emulators import TEST_BOT_TOKEN, TelegramEmulator
from tests.support.factories import World, make_world
from tests.support.ptb_emulator import emulator_app_builder, running_application

pytestmark = pytest.mark.emulator
USER = 5151


class Chat:
    """The landlord's side of the chat, against the emulator."""

    def __init__(self, emulator: TelegramEmulator, user: int = USER) -> None:
        self.emulator = emulator
        self.user = user

    async def command(self, text: str, count: int = 1) -> list[dict[str, Any]]:
        await asyncio.to_thread(self.emulator.send_command, TEST_BOT_TOKEN, self.user, self.user,
                                text)
        return await self.wait(count)

    async def say(self, text: str, count: int = 1) -> list[dict[str, Any]]:
        await asyncio.to_thread(self.emulator.send_message, TEST_BOT_TOKEN, self.user, self.user,
                                text)
        return await self.wait(count)

    async def press(self, shown: dict[str, Any], data: str, count: int = 1) -> list[dict[str, Any]]:
        assert data in self.button_data(shown) or data.startswith("c:home:"), data
        await asyncio.to_thread(self.emulator.send_callback, TEST_BOT_TOKEN, self.user, self.user,
                                shown["messageId"], data, message_text=shown["message"]["text"])
        return await self.wait(count)

    async def wait(self, count: int) -> list[dict[str, Any]]:
        return await self.emulator.await_bot_messages(TEST_BOT_TOKEN, self.user, count)

    @staticmethod
    def button_data(shown: dict[str, Any]) -> list[str]:
        markup = shown["message"].get("reply_markup") or {}
        return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def _app(emulator: TelegramEmulator, sessions: sessionmaker[Session]) -> Any:
    return configure(emulator_app_builder(TEST_BOT_TOKEN, emulator.url), sessions)


def _world(sessions: sessionmaker[Session]) -> tuple[World, str]:
    with sessions() as session:
        w = make_world(session)
        token = create_invite(session, w.landlord)
        session.commit()
    return w, token


def test_link_and_report_a_concern(telegram_emulator_clean: TelegramEmulator,
                                   sessions: sessionmaker[Session]) -> None:
    w, token = _world(sessions)
    chat = Chat(telegram_emulator_clean)

    async def scenario() -> str:
        async with running_application(_app(telegram_emulator_clean, sessions)):
            [welcome] = await chat.command(f"/start {token}")
            assert welcome["message"]["text"].startswith("Velkommen, Peter Lund")
            keyboard = welcome["message"]["reply_markup"]["keyboard"]
            assert [b["text"] for b in keyboard[0]] == ["Ny henvendelse", "Mine henvendelser"]
            [homes] = await chat.say("Ny henvendelse")
            assert Chat.button_data(homes) == [f"c:home:{w.home.id}", "c:cancel"]
            [categories] = await chat.press(homes, f"c:home:{w.home.id}")
            assert categories["message"]["text"].startswith("Vollsmose Allé 12")
            assert "c:cat:no_sign_of_life" in Chat.button_data(categories)
            # Always urgent: no urgency question, and 112 before the remaining steps.
            [call_112, ask] = await chat.press(categories, "c:cat:no_sign_of_life", count=2)
            assert call_112["message"]["text"].startswith("Frygter du for lejerens liv, så ring "
                                                          "112 nu.")
            assert "Beskriv kort" in ask["message"]["text"]
            assert not Chat.button_data(call_112) and not Chat.button_data(ask)
            [photo] = await chat.say("Post hober sig op, ingen har set ham i en uge")
            assert Chat.button_data(photo) == ["c:skip", "c:cancel"]
            [summary] = await chat.press(photo, "c:skip")
            assert "Intet livstegn" in summary["message"]["text"]
            assert "Haster, i dag" in summary["message"]["text"]
            [done] = await chat.press(summary, "c:confirm")
            # The pressed messages were edited to show the choice (edits stay in the history).
            history = telegram_emulator_clean.history(TEST_BOT_TOKEN)
            edited = [h["message"]["text"] for h in history if "message" in h
                      and h.get("messageId") == homes["messageId"]]
            assert edited and edited[0].endswith("✓ Vollsmose Allé 12, 2. tv.")
            return str(done["message"]["text"])

    text = asyncio.run(scenario())
    with sessions() as session:
        concern = session.scalar(select(Concern))
        assert concern is not None and concern.reference in text
        assert "har fået besked nu" in text  # urgent: the caseworker was alerted at once
        alert = session.scalar(select(Alert).where(Alert.concern_id == concern.id))
        assert alert is not None and alert.severity == "critical"
        assert alert.tenant_id == w.tenant.id


def test_wrong_expired_and_reused_tokens(telegram_emulator_clean: TelegramEmulator,
                                         sessions: sessionmaker[Session]) -> None:
    w, token = _world(sessions)
    with sessions() as session:
        landlord = session.get(Landlord, w.other_landlord.id)
        assert landlord is not None
        expired = create_invite(session, landlord, now=utcnow() - timedelta(days=8))
        session.commit()

    async def scenario() -> None:
        async with running_application(_app(telegram_emulator_clean, sessions)):
            first, second = Chat(telegram_emulator_clean, 6001), Chat(telegram_emulator_clean,
                                                                      6002)
            [wrong] = await first.command("/start not-a-real-token")
            assert "ikke gyldigt" in wrong["message"]["text"]
            [late] = await first.command(f"/start {expired}")
            assert "udløbet" in late["message"]["text"]
            [ok] = await first.command(f"/start {token}")
            assert ok["message"]["text"].startswith("Velkommen")
            [reused] = await second.command(f"/start {token}")
            assert "allerede brugt" in reused["message"]["text"]
            [nothing] = await second.command("/mine")
            assert "invitationslinket" in nothing["message"]["text"]

    asyncio.run(scenario())
    with sessions() as session:
        assert session.get(Landlord, w.landlord.id).telegram_user_id == 6001  # type: ignore[union-attr]
        assert session.get(Landlord, w.other_landlord.id).telegram_user_id is None  # type: ignore[union-attr]


def test_cancel_mid_way_and_forged_home(telegram_emulator_clean: TelegramEmulator,
                                        sessions: sessionmaker[Session]) -> None:
    w, token = _world(sessions)
    chat = Chat(telegram_emulator_clean)

    async def scenario() -> None:
        async with running_application(_app(telegram_emulator_clean, sessions)):
            await chat.command(f"/start {token}")
            [homes] = await chat.command("/concern")
            # Forged callback data naming another landlord's home: refused, own homes again.
            [again] = await chat.press(homes, f"c:home:{w.other_home.id}")
            assert Chat.button_data(again) == [f"c:home:{w.home.id}", "c:cancel"]
            [categories] = await chat.press(again, f"c:home:{w.home.id}")
            [urgencies] = await chat.press(categories, "c:cat:arrears")
            await chat.press(urgencies, "c:urg:can_wait")
            [cancelled] = await chat.command("/cancel")
            assert cancelled["message"]["text"].startswith("Annulleret")
            [mine] = await chat.command("/mine")
            assert mine["message"]["text"] == "Du har ingen åbne eller nylige henvendelser."

    asyncio.run(scenario())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Concern)) == 0


def test_restart_mid_conversation(telegram_emulator_clean: TelegramEmulator,
                                  sessions: sessionmaker[Session]) -> None:
    w, token = _world(sessions)
    chat = Chat(telegram_emulator_clean)

    async def before() -> dict[str, Any]:
        async with running_application(_app(telegram_emulator_clean, sessions)):
            await chat.command(f"/start {token}")
            [homes] = await chat.command("/concern")
            [categories] = await chat.press(homes, f"c:home:{w.home.id}")
            [urgencies] = await chat.press(categories, "c:cat:noise")
            return urgencies

    async def after(urgencies: dict[str, Any]) -> None:
        async with running_application(_app(telegram_emulator_clean, sessions)):
            [ask] = await chat.press(urgencies, "c:urg:this_week")
            assert "Beskriv kort" in ask["message"]["text"]
            [photo] = await chat.say("Fest hver weekend")
            [summary] = await chat.press(photo, "c:skip")
            await chat.press(summary, "c:confirm")
            [mine] = await chat.command("/mine")
            assert "Larm eller konflikt med naboer" in mine["message"]["text"]

    urgencies = asyncio.run(before())  # the first process stops here ...
    asyncio.run(after(urgencies))  # ... and a new one carries on from the database
    with sessions() as session:
        concern = session.scalar(select(Concern))
        assert concern is not None and concern.description == "Fest hver weekend"


def test_status_push_after_acknowledgement(telegram_emulator_clean: TelegramEmulator,
                                           sessions: sessionmaker[Session]) -> None:
    w, token = _world(sessions)
    chat = Chat(telegram_emulator_clean)

    async def report() -> None:
        async with running_application(_app(telegram_emulator_clean, sessions)):
            await chat.command(f"/start {token}")
            [homes] = await chat.command("/concern")
            [categories] = await chat.press(homes, f"c:home:{w.home.id}")
            [urgencies] = await chat.press(categories, "c:cat:damage")
            [_ask] = await chat.press(urgencies, "c:urg:this_week")
            [photo] = await chat.say("Knust rude")
            [summary] = await chat.press(photo, "c:skip")
            await chat.press(summary, "c:confirm")

    asyncio.run(report())
    with sessions() as session:
        alert = session.scalar(select(Alert))
        assert alert is not None
        act(session, alert, "acknowledge", actor=w.caseworker, via="dashboard")
        session.commit()
        reference = session.scalar(select(Concern.reference))
    channel = TelegramChannel(TEST_BOT_TOKEN, telegram_emulator_clean.url)
    stats = Dispatcher(sessions, {"telegram": channel}).run_once()
    assert stats.sent == 1
    [push] = telegram_emulator_clean.wait_bot_messages(TEST_BOT_TOKEN, USER)
    assert push["message"]["text"] == (f"Din henvendelse {reference} bliver nu behandlet af "
                                       "lejerens sagsbehandler. Tak, fordi du sagde til.")
