"""bot/channels/telegram.py: the outbox's Telegram sender, its errors and per-chat spacing."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.escalator import run_escalation
from bot.alerts.lifecycle import raise_alert
from bot.channels.base import OutgoingMessage, PermanentError, TransientError
from bot.channels.registry import build_channels
from bot.channels.telegram import TelegramChannel, bot_api, inline_keyboard
from bot.core import outbox
from bot.core.config import Settings, TelegramSettings, load_settings
from bot.delivery import failures as delivery_failures
from bot.delivery.dispatcher import Dispatcher
from bot.models import (
    Alert,
    AlertEvent,
    AuditEvent,
    Caseworker,
    Landlord,
    OutboxItem,
    Tenant,
)
from tests.support.dispatch import RecordingChannel, VirtualClock
from tests.support.emulators import TEST_BOT_TOKEN, TelegramEmulator
from tests.support.factories import add_tenant, make_world

TOKEN = "123:abc"
PATH = f"/bot{TOKEN}/sendMessage"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def _channel(server: HTTPServer, clock: FakeClock | None = None) -> TelegramChannel:
    clock = clock or FakeClock()
    return TelegramChannel(TOKEN, server.url_for("/").rstrip("/"), clock=clock, sleep=clock.sleep)


def _msg(recipient: str = "4242", **payload: object) -> OutgoingMessage:
    return OutgoingMessage(recipient, "Hej", "key-1", dict(payload))


def test_sends_text_and_buttons(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_json(
        {"ok": True, "result": {"message_id": 77, "chat": {"id": 4242}}})
    buttons = [[{"text": "Kvittér", "data": "alert:42:ack"},
                {"text": "Løst", "data": "alert:42:resolve"}]]
    assert _channel(httpserver).send(_msg(buttons=buttons)) == "4242:77"
    sent = json.loads(httpserver.log[0][0].data)
    assert sent == {"chat_id": 4242, "text": "Hej", "reply_markup": inline_keyboard(buttons)}
    assert sent["reply_markup"]["inline_keyboard"][0][1] == {"text": "Løst",
                                                             "callback_data": "alert:42:resolve"}


@pytest.mark.parametrize(("status", "body", "error", "code", "retry_after"), [
    (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
           "parameters": {"retry_after": 7}}, TransientError, None, 7.0),
    (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the "
           "user"}, PermanentError, "403", None),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
     PermanentError, "chat_not_found", None),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
     PermanentError, "400", None),
    (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, TransientError, None,
     None),
    # Some proxies (and telegram-test-api) answer errors with HTTP 200 and ok=false.
    (200, {"ok": False, "error_code": 403, "description": "Forbidden"}, PermanentError, "403",
     None),
])
def test_errors_are_classified(httpserver: HTTPServer, status: int, body: dict,
                               error: type[Exception], code: str | None,
                               retry_after: float | None) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(body, status=status)
    with pytest.raises(error) as info:
        _channel(httpserver).send(_msg())
    if isinstance(info.value, PermanentError):
        assert info.value.code == code
    if isinstance(info.value, TransientError):
        assert info.value.retry_after == retry_after


def test_not_a_chat_id_is_permanent_without_a_request(httpserver: HTTPServer) -> None:
    with pytest.raises(PermanentError):
        _channel(httpserver).send(_msg(recipient="+4528000301"))
    assert not httpserver.log


def test_unreachable_is_transient() -> None:
    channel = TelegramChannel(TOKEN, "http://127.0.0.1:9")
    with pytest.raises(TransientError):
        channel.send(_msg())


def test_one_message_per_second_per_chat(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_json({"ok": True, "result": {"message_id": 1}})
    clock = FakeClock()
    channel = _channel(httpserver, clock)
    channel.send(_msg("1"))
    channel.send(_msg("2"))  # another chat: no wait
    assert clock.slept == []
    clock.now += 0.25
    channel.send(_msg("1"))  # same chat 0.25 s later: waits the rest of the second
    assert clock.slept == [0.75]


def test_registry_builds_telegram_only_when_configured() -> None:
    assert "telegram" not in build_channels(Settings())
    channels = build_channels(Settings(telegram=TelegramSettings("1:x")))
    assert isinstance(channels["telegram"], TelegramChannel)


def test_config_bot_username() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_BOT_USERNAME": "@TrygtBot"})
    assert settings.telegram is not None and settings.telegram.bot_username == "TrygtBot"
    with pytest.raises(ValueError, match="TELEGRAM_BOT_USERNAME"):
        load_settings({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_BOT_USERNAME": "no spaces!"})


def test_sends_to_the_emulator(telegram_emulator_clean: TelegramEmulator) -> None:
    emulator = telegram_emulator_clean
    channel = TelegramChannel(TEST_BOT_TOKEN, emulator.url)
    buttons = [[{"text": "Kvittér", "data": "alert:1:ack"}]]
    provider_id = channel.send(OutgoingMessage("4242", "Alarm 1", "k", {"buttons": buttons}))
    assert provider_id.startswith("4242:")
    [got] = emulator.wait_bot_messages(TEST_BOT_TOKEN, 4242)
    assert got["message"]["text"] == "Alarm 1"
    assert got["message"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == \
        "alert:1:ack"
    assert bot_api(TEST_BOT_TOKEN, emulator.url, "getMe")["username"]


def test_dispatcher_403_marks_landlord_inactive(httpserver: HTTPServer,
                                               sessions: sessionmaker[Session]) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        status=403)
    with sessions() as session:
        w = make_world(session)
        w.landlord.telegram_user_id = w.landlord.telegram_chat_id = 4242
        outbox.enqueue(session, channel="telegram", recipient="4242", body="Status", key="s1",
                       landlord_id=w.landlord.id)
        session.commit()
        landlord_id = w.landlord.id
    stats = Dispatcher(sessions, {"telegram": _channel(httpserver)},
                       on_permanent_failure=delivery_failures.handle).run_once()
    assert stats.dead == 1
    with sessions() as session:
        assert session.get(Landlord, landlord_id).telegram_active is False  # type: ignore[union-attr]
        row = session.scalar(select(OutboxItem))
        assert row is not None and row.status == "dead" and "blocked" in (row.last_error or "")


def test_dispatcher_chat_not_found_unlinks_a_caseworker_and_tells_staff(
        httpserver: HTTPServer, sessions: sessionmaker[Session], settings: Settings) -> None:
    """Telegram no longer knows the caseworker's chat (account deleted): the alert's message
    dies, and the chat is unlinked like a blocked bot (403), so the next alert does not die the
    same way but goes by their other channels; staff are told by a delivery_failed alert."""
    httpserver.expect_request(PATH).respond_with_json(
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
        status=400)
    with sessions() as session:
        w = make_world(session)
        w.caseworker.telegram_chat_id = 4242
        session.commit()
        cw_id, team_id = w.caseworker.id, w.team.id
        bo_id = add_tenant(session, w).id  # the owner's other tenant, for a second alert
        first, _ = raise_alert(session, source="need_help", summary="3", tenant=w.tenant)
        session.commit()
        first_id = first.id
    channels = {"sms": RecordingChannel([], VirtualClock()), "telegram": _channel(httpserver)}
    run_escalation(sessions, settings, channels=set(channels))
    stats = Dispatcher(sessions, channels,  # type: ignore[arg-type]
                       on_permanent_failure=delivery_failures.handle).run_once()
    assert (stats.sent, stats.dead) == (1, 1)  # the SMS went; the Telegram message died
    with sessions() as session:
        assert session.get_one(Caseworker, cw_id).telegram_chat_id is None
        assert session.scalar(select(AuditEvent.subject_id).where(
            AuditEvent.action == "telegram.chat_not_found")) == str(cw_id)
        staff = session.scalar(select(Alert).where(Alert.source == "delivery_failed"))
        assert staff is not None and staff.team_id == team_id
        assert "cannot be found on Telegram" in staff.summary
        assert session.scalar(select(AlertEvent.id).where(
            AlertEvent.alert_id == first_id, AlertEvent.kind == "notification_failed"))
        second, _ = raise_alert(session, source="need_help", summary="3",
                                tenant=session.get(Tenant, bo_id))
        session.commit()
        second_id = second.id
    run_escalation(sessions, settings, channels=set(channels))
    with sessions() as session:
        rows = session.scalars(select(OutboxItem).where(
            OutboxItem.caseworker_id == cw_id, OutboxItem.idempotency_key.like(
                f"alert:{second_id}:%"))).all()
        assert [r.channel for r in rows] == ["sms"]  # not another message into the void


def test_dispatcher_429_waits_retry_after(httpserver: HTTPServer,
                                          sessions: sessionmaker[Session]) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"ok": False, "error_code": 429, "description": "Too Many Requests",
         "parameters": {"retry_after": 3600}}, status=429)
    with sessions() as session:
        outbox.enqueue(session, channel="telegram", recipient="4242", body="x", key="r1")
        session.commit()
    stats = Dispatcher(sessions, {"telegram": _channel(httpserver)}).run_once()
    assert stats.retried == 1
    with sessions() as session:
        row = session.scalar(select(OutboxItem))
        assert row is not None and row.status == "pending"
        assert (row.next_attempt_at - row.created_at).total_seconds() >= 3599
