"""End to end: alerts that belong to no team still reach a real person on the municipality's
intake route, through the emulators (Prism for Twilio, telegram-test-api for the landlord bot).

Three ways an alert used to reach nobody (issue 10): crisis words from an unknown number, a
landlord's concern about a home with no tenant, and a landlord who blocked the bot. Each must
end in an SMS that Prism accepts, addressed to the intake team's caseworker. telegram-test-api
cannot answer "blocked" (403), so for the third a local HTTP server plays the Bot API's 403.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import time_machine
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core import outbox
from bot.core.config import TelegramSettings
from bot.landlords import texts as landlord_texts
from bot.landlords.invites import create_invite
from bot.models import Alert, Concern, Landlord
from bot.telegram_bot import configure
from bot.tenants import texts
from tests.e2e.test_end_to_end import (
    CRISIS_WORDS,
    T_TUE,
    LandlordChat,
    Stack,
    _settings,
    _stack,
    assert_handed_to_prism,
)
from tests.support.alerts import intake_team
from tests.support.emulators import TEST_BOT_TOKEN, TelegramEmulator
from tests.support.factories import World
from tests.support.ptb_emulator import emulator_app_builder, running_application

pytestmark = pytest.mark.emulator

STRANGER = "+4520304050"
INTAKE_PHONE = "+4526000201"


def _to_intake(stack: Stack, alert_id: int) -> list[object]:
    rows = [r for r in stack.rows(alert_id=alert_id) if r.recipient == INTAKE_PHONE]
    assert rows, "nothing went to the intake route"
    assert_handed_to_prism(rows)
    return rows


@pytest.fixture
def stack(db_url: str, prism_dynamic_url: str, engine: Engine,
          sessions: sessionmaker[Session]) -> Stack:
    return _stack(_settings(db_url, prism_dynamic_url), engine, sessions)


def test_crisis_words_from_an_unknown_number_reach_the_intake_team(
        stack: Stack, world: World, session: Session) -> None:
    member = intake_team(session, world, phone=INTAKE_PHONE)
    with time_machine.travel(T_TUE, tick=False):
        # The first step went into the outbox with the reply, so the reply may say so.
        assert stack.text(STRANGER, CRISIS_WORDS) == [texts.crisis_reply_stranger(told=True)]
        for _ in range(5):  # they keep writing: the same case, not new alerts
            stack.text(STRANGER, CRISIS_WORDS)
        stack.tick()
    [alert] = stack.alerts()
    assert (alert.tenant_id, alert.sender_phone, alert.organisation_id) == (
        None, STRANGER, world.org.id)
    assert alert.trigger_count == 6 and alert.team_id == world.org.intake_team_id
    [sms] = _to_intake(stack, alert.id)
    sent = stack.sms_http._test_only_last_request
    assert (sent.data["To"], sent.data["Body"]) == (member.phone, sms.body)  # type: ignore[attr-defined]
    assert f"{alert.id} OK" in sms.body  # type: ignore[attr-defined]


def test_a_concern_about_an_empty_home_reaches_the_intake_team(
        db_url: str, prism_dynamic_url: str, engine: Engine,
        sessions: sessionmaker[Session], world: World, session: Session,
        telegram_emulator_clean: TelegramEmulator) -> None:
    emulator = telegram_emulator_clean
    settings = replace(_settings(db_url, prism_dynamic_url),
                       telegram=TelegramSettings(TEST_BOT_TOKEN, api_url=emulator.url))
    stack = _stack(settings, engine, sessions)
    stack.worker_beats()
    intake_team(session, world, phone=INTAKE_PHONE)
    landlord = world.other_landlord  # their home OE-2001 has no tenant
    token = create_invite(session, landlord)
    session.commit()

    async def report() -> str:
        chat = LandlordChat(emulator)
        app = configure(emulator_app_builder(TEST_BOT_TOKEN, emulator.url), stack.sessions,
                        delivery=stack.runtime.delivery)
        async with running_application(app):
            await chat.command(f"/start {token}")
            homes = await chat.command("/concern")
            categories = await chat.press(homes, f"c:home:{world.other_home.id}")
            # No sign of life is always urgent: "call 112" and the description question.
            await chat.press(categories, "c:cat:no_sign_of_life", count=2)
            photo = await chat.say("Ingen har set beboeren i en uge")
            summary = await chat.press(photo, "c:skip")
            receipt = await chat.press(summary, "c:confirm")
            return str(receipt["message"]["text"])

    receipt = asyncio.run(report())
    with stack.sessions() as s:
        concern = s.scalar(select(Concern))
        assert concern is not None
        alert = s.scalar(select(Alert).where(Alert.concern_id == concern.id))
        assert alert is not None and alert.tenant_id is None and alert.owner_id is None
        assert alert.team_id == world.org.intake_team_id
        reference, alert_id = concern.reference, alert.id
    assert receipt == landlord_texts.concern_received("da", reference, told=True, waits=False)
    stack.tick()
    _to_intake(stack, alert_id)


def test_a_landlord_who_blocked_the_bot_reaches_the_intake_team(
        db_url: str, prism_dynamic_url: str, engine: Engine,
        sessions: sessionmaker[Session], world: World, session: Session,
        httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/bot{TEST_BOT_TOKEN}/sendMessage").respond_with_json(
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        status=403)
    settings = replace(_settings(db_url, prism_dynamic_url), telegram=TelegramSettings(
        TEST_BOT_TOKEN, api_url=httpserver.url_for("/")))
    stack = _stack(settings, engine, sessions)
    intake_team(session, world, phone=INTAKE_PHONE)
    landlord = world.other_landlord  # no tenant in their home: no tenant's team to tell
    landlord.telegram_user_id = landlord.telegram_chat_id = 4242
    with time_machine.travel(T_TUE, tick=False):
        outbox.enqueue(session, channel="telegram", recipient="4242",
                       body="Status: TH-2026-0001", key="concern:1:acknowledged",
                       kind="concern_status", landlord_id=landlord.id)
        session.commit()
        stack.tick()  # the push meets the 403: the landlord is marked, an alert is raised
        stack.tick()  # the alert escalates to the intake route; Prism takes the SMS
    with stack.sessions() as s:
        assert s.get(Landlord, landlord.id).telegram_active is False  # type: ignore[union-attr]
    [alert] = stack.alerts()
    assert (alert.source, alert.organisation_id, alert.team_id) == (
        "delivery_failed", world.org.id, world.org.intake_team_id)
    _to_intake(stack, alert.id)
