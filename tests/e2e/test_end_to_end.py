"""End to end across the merged parts: tenant SMS webhook -> alert -> escalation job ->
Dispatcher -> Prism (Twilio's API) / telegram-test-api -> caseworker replies (SMS code or
Telegram button) -> landlord status push.

Everything real except the providers, which are their emulators: the signed Twilio webhook in
the Flask app, the worker's own job list (`scheduler.runner.run_once`), the product's channels
built by `build_channels` from settings (TwilioSmsChannel + RebasedTwilioHttpClient on Prism,
TelegramChannel on telegram-test-api), and the one PTB application for the buttons and the
landlord conversation. The clock is driven with time-machine (the webhook has no `now=`).

Prism runs here in dynamic mode (`prism mock -d`): in its default static mode it answers every
message with the same example sid, and the message log rightly keeps provider ids unique, so a
second SMS in one test could not be logged. Dynamic mode draws each sid from the spec's pattern
`^(SM|MM)[0-9a-fA-F]{32}$` and still validates every request against Twilio's spec.

T_TUE is Tuesday 3 March 2026, 10:00 in Copenhagen (09:00 UTC, CET).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import staff_texts as sms_staff_texts
from bot.alerts.escalator import run_escalation
from bot.channels.registry import build_channels
from bot.checkins import texts as checkin_texts
from bot.core import outbox
from bot.core.config import Settings, TelegramSettings
from bot.landlords import texts as landlord_texts
from bot.landlords.invites import create_invite
from bot.models import (
    Alert,
    AlertEvent,
    AlertState,
    Caseworker,
    Concern,
    Message,
    OutboxItem,
    OutboxStatus,
    Tenant,
)
from bot.ops.heartbeat import beat
from bot.runtime import Runtime
from bot.telegram_bot import BotRunner, configure
from bot.tenants import texts
from scheduler.runner import run_once
from tests.support.emulators import (
    TEST_BOT_TOKEN,
    TelegramEmulator,
)
from tests.support.factories import World, add_tenant
from tests.support.ptb_emulator import emulator_app_builder, running_application
from tests.support.sms import SMS_PATH, inbound_form, post_signed, sms_settings, twiml_messages
from tests.support.telegram_updates import callback

pytestmark = pytest.mark.emulator

T_TUE = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
CASEWORKER_CHAT = 7001
TELEGRAM_SECRET = "e2e-secret"
LANDLORD_USER = 5252
CRISIS_WORDS = "jeg vil tage mit liv"
TWILIO_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")  # the spec's pattern for Message.sid


class Stack:
    """The deployed parts as one thing a test drives: post SMS, run the worker, read rows."""

    def __init__(self, runtime: Runtime, app: Flask) -> None:
        self.runtime = runtime
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.sessions = runtime.sessions

    def text(self, phone: str, body: str) -> list[str]:
        """`phone` texts `body` to the service number; returns the TwiML reply messages."""
        self.worker_beats()
        return twiml_messages(post_signed(self.client, SMS_PATH, inbound_form(phone, body)))

    def worker_beats(self) -> None:
        """The deployment's worker is running: it beats every 15 s (replies may say "told")."""
        with self.sessions() as s, s.begin():
            beat(s, "worker", process="worker:e2e")

    def tick(self) -> dict[str, object]:
        """One pass of the worker: every job in order, dispatch last."""
        return run_once(self.runtime)

    def alerts(self) -> list[Alert]:
        with self.sessions() as s:
            return list(s.scalars(select(Alert).order_by(Alert.id)))

    def alert(self, alert_id: int) -> Alert:
        with self.sessions() as s:
            found = s.get(Alert, alert_id)
            assert found is not None
            return found

    def rows(self, *, after: int = 0, alert_id: int | None = None,
             kind: str | None = None) -> list[OutboxItem]:
        query = select(OutboxItem).where(OutboxItem.id > after).order_by(OutboxItem.id)
        if kind is not None:
            query = query.where(OutboxItem.kind == kind)
        if alert_id is not None:
            query = query.where(OutboxItem.idempotency_key.like(f"alert:{alert_id}:%"))
        with self.sessions() as s:
            return list(s.scalars(query))

    def mark(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.max(OutboxItem.id))) or 0

    @property
    def sms_http(self) -> Any:
        """The Twilio SDK's HTTP client inside the product's SMS channel (what Prism saw)."""
        return self.runtime.channels["sms"].http_client  # type: ignore[attr-defined]


def _stack(settings: Settings, engine: Engine, sessions: sessionmaker[Session]) -> Stack:
    from webhooks import create_app

    # The product's registry builds the channels from settings, as in production.
    runtime = Runtime(settings, engine, sessions, build_channels(settings))
    app = create_app(runtime)
    app.config["TESTING"] = True
    return Stack(runtime, app)


def _settings(db_url: str, prism_url: str, telegram_url: str | None = None) -> Settings:
    # No 1 msg/s pacing in tests: the limiter sleeps on the real monotonic clock.
    settings = replace(sms_settings(db_url, api_url=prism_url), sms_rate_per_second=1000.0)
    if telegram_url is not None:
        settings = replace(settings, telegram=TelegramSettings(
            TEST_BOT_TOKEN, webhook_secret=TELEGRAM_SECRET, api_url=telegram_url))
    return settings


@pytest.fixture
def stack(db_url: str, prism_dynamic_url: str, engine: Engine,
          sessions: sessionmaker[Session]) -> Stack:
    """SMS only: Twilio (Prism) configured, Telegram not."""
    return _stack(_settings(db_url, prism_dynamic_url), engine, sessions)


@pytest.fixture
def tg_stack(db_url: str, prism_dynamic_url: str, engine: Engine,
             sessions: sessionmaker[Session], telegram_emulator_clean: TelegramEmulator) -> Stack:
    """SMS on Prism and Telegram on telegram-test-api."""
    return _stack(_settings(db_url, prism_dynamic_url, telegram_emulator_clean.url), engine,
                  sessions)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T_TUE, tick=False) as traveller:
        yield traveller


def reply_code(body: str) -> str:
    match = re.search(r"(\d+) OK\b", body)
    assert match is not None, body
    return match.group(1)


def assert_handed_to_prism(rows: list[OutboxItem]) -> None:
    for row in rows:
        assert row.status == OutboxStatus.SENT, (row.status, row.last_error)
        assert row.provider_id is not None and TWILIO_SID.match(row.provider_id), row.provider_id


# --------------------------------------------------------------------------------------------
# 1. "3" -> caseworker SMS with reply code -> "<id> ok" -> acknowledged, nothing further fires


def test_tenant_3_caseworker_sms_code_reply_acknowledges_and_stops_escalation(
        stack: Stack, world: World, clock: time_machine.Coordinates) -> None:
    assert stack.text(world.tenant.phone, "3") == [texts.reply_need_help("da")]
    [alert] = stack.alerts()
    assert (alert.source, alert.severity, alert.state) == ("need_help", "high", AlertState.OPEN)
    assert alert.owner_id == world.caseworker.id

    stack.tick()
    [sms] = stack.rows(kind="alert")
    assert_handed_to_prism([sms])
    assert (sms.channel, sms.recipient, sms.caseworker_id) == (
        "sms", world.caseworker.phone, world.caseworker.id)
    assert f"{alert.id} OK" in sms.body and f"#{alert.id} HØJ" in sms.body
    # What Prism received is that text, to that number, and the sid is in the message log.
    sent = stack.sms_http._test_only_last_request
    assert (sent.data["To"], sent.data["Body"]) == (world.caseworker.phone, sms.body)
    with stack.sessions() as s:
        logged = s.scalar(select(Message).where(Message.provider_id == sms.provider_id))
        assert logged is not None and logged.intent == "alert"

    # The caseworker's phone answers on the same webhook, with the code from the SMS.
    answer = stack.text(world.caseworker.phone, f"{reply_code(sms.body)} ok")
    assert answer == [sms_staff_texts.acknowledged("da", alert.id)]
    acknowledged = stack.alert(alert.id)
    assert acknowledged.state == AlertState.ACKNOWLEDGED
    assert acknowledged.acknowledged_by_id == world.caseworker.id
    with stack.sessions() as s:
        [event] = s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                                     AlertEvent.kind == "acknowledged")).all()
        assert event.actor == f"caseworker:{world.caseworker.id}" and event.detail == {"via": "sms"}

    mark = stack.mark()
    for minutes in (15, 30, 60, 75, 135):  # every later step of the high policy, and past it
        clock.move_to(T_TUE + timedelta(minutes=minutes))
        stack.tick()
    assert stack.rows(after=mark) == []
    assert stack.alert(alert.id).steps_done == 1


# --------------------------------------------------------------------------------------------
# 2. No answer: every step of the default policy, with its exact recipients, then nothing

ASSIGNED, TEAM, LEAD = "assigned", "team", "lead"
# Default policies (bot.alerts.timetable.DEFAULT_POLICIES), SMS recipients per step. Telegram has no
# linked chat here and e-mail is not configured, so the timeline shows those as skipped.
HIGH_SCHEDULE = [(0, ASSIGNED), (30, TEAM), (60, LEAD),  # first pass
                 (75, ASSIGNED), (105, TEAM), (135, LEAD)]  # repeat=1, cycle 60 + 15
CRITICAL_SCHEDULE = [(0, ASSIGNED), (15, TEAM), (30, LEAD),
                     (45, ASSIGNED), (60, TEAM), (75, LEAD),  # repeat=2, cycle 30 + 15
                     (90, ASSIGNED), (105, TEAM), (120, LEAD)]


@pytest.mark.parametrize(("body", "severity", "schedule"), [
    ("3", "high", HIGH_SCHEDULE),
    (CRISIS_WORDS, "critical", CRITICAL_SCHEDULE),
], ids=["answer-3-high", "crisis-critical"])
def test_unanswered_alert_escalates_step_by_step_to_the_exact_people(
        stack: Stack, world: World, clock: time_machine.Coordinates, body: str, severity: str,
        schedule: list[tuple[int, str]]) -> None:
    phones = {ASSIGNED: {world.caseworker.phone},
              TEAM: {world.lead.phone, world.caseworker.phone, world.colleague.phone},
              LEAD: {world.lead.phone}}
    before = stack.mark()
    stack.text(world.tenant.phone, body)  # the first step is enqueued with the reply
    [alert] = stack.alerts()
    assert alert.severity == severity
    for minutes, target in schedule:
        mark = stack.mark() if minutes else before
        if minutes:
            clock.move_to(T_TUE + timedelta(minutes=minutes - 1))  # a minute early: nothing
            stack.tick()
            assert stack.rows(after=mark) == [], f"step {target} fired before {minutes} min"
        clock.move_to(T_TUE + timedelta(minutes=minutes))
        stack.tick()
        fired = stack.rows(after=mark)
        assert_handed_to_prism(fired)
        assert [r.channel for r in fired] == ["sms"] * len(fired)
        assert sorted(r.recipient for r in fired) == sorted(phones[target]), (minutes, target)
        assert all(f"{alert.id} OK" in r.body for r in fired)

    mark = stack.mark()
    for minutes in (schedule[-1][0] + 15, schedule[-1][0] + 60, 24 * 60):
        clock.move_to(T_TUE + timedelta(minutes=minutes))
        stack.tick()
    assert stack.rows(after=mark) == []
    done = stack.alert(alert.id)
    assert done.steps_done == len(schedule) and done.next_action_at is None
    assert done.state == AlertState.OPEN  # nobody answered; it stays on the dashboard
    with stack.sessions() as s:
        skipped = {e.detail["channel"] for e in s.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                     AlertEvent.kind == "skipped"))}
    assert skipped == ({"telegram", "email"})


# --------------------------------------------------------------------------------------------
# 3. At night: crisis words notify at once, a low message waits for working hours


def test_crisis_at_3am_notifies_at_once_low_message_waits_until_8(
        stack: Stack, world: World, session: Session) -> None:
    night = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 03:00 in Copenhagen
    # Another tenant of the same caseworker writes the low message (one tenant's words would
    # join their own open case).
    neighbour = add_tenant(session, world).phone
    with time_machine.travel(night, tick=False) as clock:
        assert stack.text(world.tenant.phone, CRISIS_WORDS) == [texts.crisis_reply("da")]
        stack.tick()
        [crisis] = stack.alerts()
        [sms] = stack.rows(alert_id=crisis.id)
        assert_handed_to_prism([sms])
        assert sms.recipient == world.caseworker.phone and f"#{crisis.id} KRITISK" in sms.body
        # The caseworker on call takes it, so only the low alert is left to watch.
        assert stack.text(world.caseworker.phone, f"{crisis.id} ok") == [
            sms_staff_texts.acknowledged("da", crisis.id)]

        clock.move_to(night + timedelta(minutes=5))
        assert stack.text(neighbour, "Tak for i går, det var en rar dag") == [
            texts.free_text_received("da")]
        low = stack.alerts()[-1]
        assert (low.source, low.severity) == ("message", "low")
        for at in (night + timedelta(minutes=6), night + timedelta(hours=4, minutes=59)):
            clock.move_to(at)  # ... up to 07:59 local
            stack.tick()
            assert stack.rows(alert_id=low.id) == []
        assert stack.alert(low.id).next_action_at == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)

        clock.move_to(datetime(2026, 3, 4, 7, 0, tzinfo=UTC))  # 08:00 local
        stack.tick()
        [morning] = stack.rows(alert_id=low.id)
        assert_handed_to_prism([morning])
        assert morning.recipient == world.caseworker.phone and f"#{low.id} LAV" in morning.body


def test_low_message_on_friday_evening_waits_until_monday_8(stack: Stack, world: World) -> None:
    friday = datetime(2026, 3, 6, 19, 0, tzinfo=UTC)  # Friday 20:00 in Copenhagen
    monday_8 = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    with time_machine.travel(friday, tick=False) as clock:
        stack.text(world.tenant.phone, "Tak for i dag, det var en rar dag")
        [low] = stack.alerts()
        assert low.severity == "low"
        for at in (friday, friday + timedelta(hours=15), friday + timedelta(days=2),
                   monday_8 - timedelta(minutes=1)):
            clock.move_to(at)
            stack.tick()
            assert stack.rows() == [], at
        clock.move_to(monday_8)
        stack.tick()
        [sms] = stack.rows(alert_id=low.id)
        assert_handed_to_prism([sms])
        assert sms.recipient == world.caseworker.phone


# --------------------------------------------------------------------------------------------
# 4. Telegram: Kvittér pressed in the caseworker's chat acknowledges through the PTB app


def _wait_for(predicate: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _edited(emulator: TelegramEmulator, message_id: int, mark: str) -> str | None:
    """The bot message's current text once an edit containing `mark` is in the history."""
    for item in emulator.history(TEST_BOT_TOKEN):
        message = item.get("message") or {}
        if item.get("messageId") == message_id and mark in (message.get("text") or ""):
            return str(message["text"])
    return None


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_telegram_kvitter_button_acknowledges_and_edits_the_message(
        tg_stack: Stack, world: World, session: Session,
        telegram_emulator_clean: TelegramEmulator, mode: str) -> None:
    emulator = telegram_emulator_clean
    world.caseworker.telegram_chat_id = CASEWORKER_CHAT
    session.commit()

    tg_stack.text(world.tenant.phone, "3")
    tg_stack.tick()
    [alert] = tg_stack.alerts()
    rows = tg_stack.rows(alert_id=alert.id)
    assert sorted(r.channel for r in rows) == ["sms", "telegram"]
    assert_handed_to_prism([r for r in rows if r.channel == "sms"])
    [tg_row] = [r for r in rows if r.channel == "telegram"]
    assert tg_row.status == OutboxStatus.SENT and tg_row.recipient == str(CASEWORKER_CHAT)

    [shown] = emulator.wait_bot_messages(TEST_BOT_TOKEN, CASEWORKER_CHAT)
    message_id = shown["messageId"]
    text = shown["message"]["text"]
    assert text.startswith(f"Trygt Hjem #{alert.id} HØJ: Anna (Vollsmose)")
    markup = shown["message"]["reply_markup"]
    assert [(b["text"], b["callback_data"]) for b in markup["inline_keyboard"][0]] == [
        ("Kvittér", f"alert:{alert.id}:e0:ack"), ("Løst", f"alert:{alert.id}:e0:resolve")]
    assert tg_row.provider_id == f"{CASEWORKER_CHAT}:{message_id}"
    acked = f"{text}\n\n✓ {landlord_texts.alert_acted('da', 'ack', 'Jonas Berg')}"

    if mode == "polling":
        async def press() -> str:
            app = configure(emulator_app_builder(TEST_BOT_TOKEN, emulator.url),
                            tg_stack.sessions)
            async with running_application(app):
                await asyncio.to_thread(emulator.send_callback, TEST_BOT_TOKEN,
                                        CASEWORKER_CHAT, CASEWORKER_CHAT, message_id,
                                        f"alert:{alert.id}:e0:ack", message_text=text)
                return str(await asyncio.to_thread(
                    _wait_for, lambda: _edited(emulator, message_id, "✓"), "the edit"))

        assert asyncio.run(press()) == acked
    else:
        # Production mode: Telegram posts the button press to our webhook (secret header);
        # the PTB application runs on the web process's BotRunner.
        runner = BotRunner(configure(emulator_app_builder(TEST_BOT_TOKEN, emulator.url),
                                     tg_stack.sessions))
        tg_stack.app.extensions["telegram_runner"] = runner
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        try:
            pressed = tg_stack.client.post("/webhooks/telegram", headers=headers, json=callback(
                CASEWORKER_CHAT, f"alert:{alert.id}:e0:ack", message_id=message_id, text=text,
                reply_markup=markup, update_id=810001))
            assert pressed.status_code == 200, pressed.get_data(as_text=True)
            assert _wait_for(lambda: _edited(emulator, message_id, "✓"), "the edit") == acked
            # The Resolve button was kept under the edited message; pressing it closes the alert.
            kept = {"inline_keyboard": [[b for b in markup["inline_keyboard"][0]
                                         if b["callback_data"].endswith(":resolve")]]}
            resolved = tg_stack.client.post("/webhooks/telegram", headers=headers,
                                            json=callback(CASEWORKER_CHAT,
                                                          f"alert:{alert.id}:e0:resolve",
                                                          message_id=message_id, text=acked,
                                                          reply_markup=kept,
                                                          update_id=810002))
            assert resolved.status_code == 200
            done_text = landlord_texts.alert_acted("da", "resolve", "Jonas Berg")
            assert _wait_for(lambda: _edited(emulator, message_id, done_text), "the 2nd edit")
            assert _wait_for(lambda: tg_stack.alert(alert.id).state == AlertState.RESOLVED,
                             "the alert resolved")
        finally:
            runner.stop()

    done = tg_stack.alert(alert.id)
    assert done.acknowledged_by_id == world.caseworker.id
    with tg_stack.sessions() as s:
        [event] = s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                                     AlertEvent.kind == "acknowledged")).all()
        assert event.detail == {"via": "telegram"}
        assert event.actor == f"caseworker:{world.caseworker.id}"

    # Escalation stops: the team step (30 min) and the lead step find the alert handled.
    mark = tg_stack.mark()
    for minutes in (31, 61):
        run_escalation(tg_stack.sessions, tg_stack.runtime.settings,
                       channels=set(tg_stack.runtime.channels),
                       now=done.created_at + timedelta(minutes=minutes))
    assert tg_stack.rows(after=mark) == []


# --------------------------------------------------------------------------------------------
# 5. Landlord concern -> caseworker SMS -> "<id> ok" -> landlord told, without tenant details


class LandlordChat:
    def __init__(self, emulator: TelegramEmulator, user: int = LANDLORD_USER) -> None:
        self.emulator = emulator
        self.user = user

    async def command(self, text: str) -> dict[str, Any]:
        await asyncio.to_thread(self.emulator.send_command, TEST_BOT_TOKEN, self.user,
                                self.user, text)
        return await self.wait()

    async def say(self, text: str) -> dict[str, Any]:
        await asyncio.to_thread(self.emulator.send_message, TEST_BOT_TOKEN, self.user,
                                self.user, text)
        return await self.wait()

    async def press(self, shown: dict[str, Any], data: str, count: int = 1) -> dict[str, Any]:
        """Press a button; the last of the ``count`` messages the bot answers with."""
        await asyncio.to_thread(self.emulator.send_callback, TEST_BOT_TOKEN, self.user,
                                self.user, shown["messageId"], data,
                                message_text=shown["message"]["text"])
        return await self.wait(count)

    async def wait(self, count: int = 1) -> dict[str, Any]:
        messages = await self.emulator.await_bot_messages(TEST_BOT_TOKEN, self.user, count)
        assert len(messages) == count, messages
        return messages[-1]


def test_landlord_concern_acknowledged_by_sms_code_pushes_status_without_tenant_details(
        tg_stack: Stack, world: World, session: Session,
        telegram_emulator_clean: TelegramEmulator) -> None:
    emulator = telegram_emulator_clean
    token = create_invite(session, world.landlord)
    session.commit()
    # The tenant has told the service things the landlord must never hear.
    tg_stack.text(world.tenant.phone, "2 jeg er lidt træt og ked af det")

    async def report() -> None:
        chat = LandlordChat(emulator)
        async with running_application(configure(
                emulator_app_builder(TEST_BOT_TOKEN, emulator.url), tg_stack.sessions)):
            await chat.command(f"/start {token}")
            homes = await chat.command("/concern")
            categories = await chat.press(homes, f"c:home:{world.home.id}")
            urgencies = await chat.press(categories, "c:cat:damage")
            await chat.press(urgencies, "c:urg:urgent_today")
            photo = await chat.say("Knust rude i opgangen")
            summary = await chat.press(photo, "c:skip")
            await chat.press(summary, "c:confirm")

    asyncio.run(report())
    with tg_stack.sessions() as s:
        concern = s.scalar(select(Concern))
        assert concern is not None
        reference = concern.reference
        alert = s.scalar(select(Alert).where(Alert.concern_id == concern.id))
        assert alert is not None and alert.owner_id == world.caseworker.id
        alert_id = alert.id

    tg_stack.tick()
    [sms] = tg_stack.rows(alert_id=alert_id, kind="alert")
    assert_handed_to_prism([sms])
    assert sms.recipient == world.caseworker.phone and "udlejer" in sms.body.lower()

    assert tg_stack.text(world.caseworker.phone, f"{reply_code(sms.body)} ok") == [
        sms_staff_texts.acknowledged("da", alert_id)]
    tg_stack.tick()
    [push] = emulator.wait_bot_messages(TEST_BOT_TOKEN, LANDLORD_USER)
    acknowledged = push["message"]["text"]
    assert acknowledged == landlord_texts.status_acknowledged("da", reference)

    assert tg_stack.text(world.caseworker.phone, f"{alert_id} løst") == [
        sms_staff_texts.resolved("da", alert_id)]
    tg_stack.tick()
    [push] = emulator.wait_bot_messages(TEST_BOT_TOKEN, LANDLORD_USER)
    resolved = push["message"]["text"]
    assert resolved == landlord_texts.status_resolved("da", reference)

    for pushed in (acknowledged, resolved):
        for secret in ("Anna", "Sørensen", world.tenant.phone, "træt", "ked af det", "2 "):
            assert secret not in pushed, (secret, pushed)
    with tg_stack.sessions() as s:
        statuses = list(s.scalars(select(OutboxItem.status).where(
            OutboxItem.kind == "concern_status")))
    assert statuses == [OutboxStatus.SENT, OutboxStatus.SENT]


# --------------------------------------------------------------------------------------------
# 6. STOP, then a scheduled check-in: cancelled before Prism; START sends again


def _queue_checkin(stack: Stack, tenant_id: int, key: str, at: datetime) -> int:
    with stack.sessions() as s, s.begin():
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        assert outbox.enqueue(s, channel="sms", recipient=tenant.phone,
                              body=checkin_texts.checkin_prompt(tenant.language, "Anna"), key=key,
                              kind="checkin", not_before=at, tenant_id=tenant.id)
        return int(s.scalars(select(OutboxItem.id).where(OutboxItem.idempotency_key == key)).one())


def test_stop_cancels_a_scheduled_checkin_before_prism_and_start_reenables(
        stack: Stack, world: World, clock: time_machine.Coordinates) -> None:
    later = T_TUE + timedelta(hours=1)
    first = _queue_checkin(stack, world.tenant.id, "checkin:e2e:1", later)
    assert stack.text(world.tenant.phone, "STOP") == [
        texts.stop_confirmation("da", world.caseworker.phone)]
    with stack.sessions() as s:
        assert s.get(Tenant, world.tenant.id).opted_out_at is not None  # type: ignore[union-attr]

    clock.move_to(later)
    stack.tick()
    with stack.sessions() as s:
        row = s.get(OutboxItem, first)
        assert row is not None and row.status == OutboxStatus.CANCELLED
        assert row.provider_id is None and "STOP" in (row.last_error or "")
    assert stack.sms_http._test_only_last_request is None  # nothing reached Prism

    assert stack.text(world.tenant.phone, "START") == [texts.start_confirmation("da")]
    second = _queue_checkin(stack, world.tenant.id, "checkin:e2e:2", later + timedelta(hours=1))
    clock.move_to(later + timedelta(hours=1))
    stack.tick()
    with stack.sessions() as s:
        row = s.get(OutboxItem, second)
        assert row is not None
        assert_handed_to_prism([row])
        assert s.get(OutboxItem, first).status == OutboxStatus.CANCELLED  # type: ignore[union-attr]
    sent = stack.sms_http._test_only_last_request
    assert sent is not None and sent.data["To"] == world.tenant.phone
    assert sent.data["Body"] == checkin_texts.checkin_prompt("da", "Anna")


def test_a_colleague_acknowledges_by_code_and_staff_words_are_not_tenant_intents(
        stack: Stack, world: World, clock: time_machine.Coordinates) -> None:
    """A caseworker's SMS never lands in the tenant conversation ("stop" is not an opt-out)."""
    stack.text(world.tenant.phone, "3")
    stack.tick()
    [alert] = stack.alerts()
    assert stack.text(world.caseworker.phone, "stop") == [
        sms_staff_texts.unknown_code("da", alert.id)]  # Jonas was told about it by SMS
    # Before the team step the colleague was told nothing: their code is taken for a typo.
    assert stack.text(world.colleague.phone, f"{alert.id} ok") == [
        sms_staff_texts.not_told("da", alert.id)]
    clock.move_to(T_TUE + timedelta(minutes=30))  # the high policy's team step
    stack.tick()
    assert stack.text(world.colleague.phone, f"{alert.id} ok") == [
        sms_staff_texts.acknowledged("da", alert.id)]
    assert len(stack.alerts()) == 1
    assert stack.alert(alert.id).acknowledged_by_id == world.colleague.id
    with stack.sessions() as s:
        colleague = s.get(Caseworker, world.colleague.id)
        assert colleague is not None and colleague.active
