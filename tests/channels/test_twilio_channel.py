"""TwilioSmsChannel against Prism (Twilio's own OpenAPI spec) and against failing providers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import time_machine
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug import Request, Response

from bot.channels.base import OutgoingMessage, PermanentError, TransientError
from bot.channels.registry import build_channels
from bot.channels.twilio.sms import TwilioSmsChannel
from bot.core import outbox
from bot.delivery import failures as delivery_failures
from bot.delivery.dispatcher import Dispatcher
from bot.models import (
    Alert,
    Direction,
    Message,
    OutboxItem,
    OutboxStatus,
    PhoneStatus,
    Tenant,
    utcnow,
)
from tests.support.emulators import TEST_ACCOUNT_SID
from tests.support.factories import World, make_world
from tests.support.sms import PUBLIC_BASE_URL, SERVICE_NUMBER, sms_settings, twilio_settings

MESSAGES_PATH = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json"
TENANT = "+4528000301"


def _msg(body: str = "Hej Anna. Hvordan går det?", to: str = TENANT) -> OutgoingMessage:
    return OutgoingMessage(to, body, "test-key")


def _twilio_error(code: int, status: int = 400, message: str = "refused") -> dict[str, object]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def _created(sid: str = "SM" + "a" * 32) -> dict[str, object]:
    return {"sid": sid, "status": "queued", "account_sid": TEST_ACCOUNT_SID, "to": TENANT,
            "from": SERVICE_NUMBER, "body": "x"}


# -- Prism: the real API contract --------------------------------------------------------------


@pytest.mark.emulator
def test_send_through_prism_returns_a_sid_and_carries_the_status_callback(prism_url: str) -> None:
    channel = TwilioSmsChannel(twilio_settings(prism_url), public_base_url=PUBLIC_BASE_URL)
    sid = channel.send(_msg())
    assert sid.startswith("SM")
    last = channel.http_client._test_only_last_request
    assert last is not None and last.url == prism_url + MESSAGES_PATH
    assert last.data["StatusCallback"] == PUBLIC_BASE_URL + "/webhooks/twilio/status"
    assert (last.data["To"], last.data["From"]) == (TENANT, SERVICE_NUMBER)
    assert last.data["Body"] == "Hej Anna. Hvordan går det?"


@pytest.mark.emulator
def test_without_public_base_url_no_status_callback_is_sent(prism_url: str) -> None:
    channel = TwilioSmsChannel(twilio_settings(prism_url))
    assert channel.send(_msg()).startswith("SM")
    assert "StatusCallback" not in channel.http_client._test_only_last_request.data


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def __getattr__(self, level: str):  # type: ignore[no-untyped-def]
        return lambda event, **kw: self.events.append((event, kw))


@pytest.mark.emulator
def test_a_request_the_api_rejects_is_a_permanent_error_with_the_reason_logged(
        prism_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from bot.channels.twilio import sms as twilio_sms

    recorder = _Recorder()
    monkeypatch.setattr(twilio_sms, "log", recorder)
    settings = replace(twilio_settings(prism_url), account_sid="AC-not-a-valid-sid")
    channel = TwilioSmsChannel(settings)
    with pytest.raises(PermanentError) as caught:
        channel.send(_msg())
    assert caught.value.code == "422"
    # Prism's reason, which the SDK's exception leaves out, is logged and kept on the row.
    assert "accountsid" in str(caught.value)
    [(event, fields)] = recorder.events
    assert event == "twilio.rejected" and "must match pattern" in str(fields["response"])
    assert "Hvordan" not in str(fields)  # never the message text


@pytest.mark.emulator
def test_dispatcher_delivers_through_the_registry_channel_to_prism(
        prism_url: str, db_url: str, sessions: sessionmaker[Session], session: Session) -> None:
    world = make_world(session)
    channels = build_channels(sms_settings(db_url, api_url=prism_url))
    assert isinstance(channels["sms"], TwilioSmsChannel)
    outbox.enqueue(session, channel="sms", recipient=world.tenant.phone, body="Hej Anna",
                   key="checkin:prism", kind="checkin", tenant_id=world.tenant.id)
    session.commit()
    stats = Dispatcher(sessions, channels, rates={"sms": 50}).run_once()
    assert stats.sent == 1
    session.expire_all()
    row = session.scalar(select(OutboxItem))
    assert row.status == OutboxStatus.SENT and row.provider_id.startswith("SM")
    message = session.get(Message, row.message_id)
    assert (message.direction, message.provider_id) == (Direction.OUT, row.provider_id)


def test_registry_without_twilio_has_no_sms_channel(db_url: str) -> None:
    from dataclasses import replace

    assert "sms" not in build_channels(replace(sms_settings(db_url), twilio=None))


# -- refused before sending -----------------------------------------------------------------------


@pytest.mark.parametrize(("to", "body", "code"), [
    ("12", "Hej", "21211"), ("not a number", "Hej", "21211"),
    (TENANT, "   ", "21602"), (TENANT, "x" * 1601, "21617"),
])
def test_messages_twilio_would_refuse_are_refused_without_a_request(
        httpserver: HTTPServer, to: str, body: str, code: str) -> None:
    channel = TwilioSmsChannel(twilio_settings(httpserver.url_for("/")))
    with pytest.raises(PermanentError) as caught:
        channel.send(_msg(body, to))
    assert caught.value.code == code
    assert httpserver.log == []


# -- provider failures (pytest-httpserver behind RebasedTwilioHttpClient) ------------------------


@pytest.fixture
def twilio_fake(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver
    httpserver.clear()


def _channel(server: HTTPServer, timeout: float = 5.0) -> TwilioSmsChannel:
    return TwilioSmsChannel(twilio_settings(server.url_for("/").rstrip("/")),
                            public_base_url=PUBLIC_BASE_URL, timeout=timeout)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(twilio_fake: HTTPServer, status: int) -> None:
    twilio_fake.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        _twilio_error(20500, status, "Internal error"), status=status)
    with pytest.raises(TransientError):
        _channel(twilio_fake).send(_msg())


def test_rate_limit_is_transient_with_retry_after(twilio_fake: HTTPServer) -> None:
    twilio_fake.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        _twilio_error(20429, 429, "Too Many Requests"), status=429, headers={"Retry-After": "7"})
    with pytest.raises(TransientError) as caught:
        _channel(twilio_fake).send(_msg())
    assert caught.value.retry_after == 7.0


def test_timeout_and_connection_refused_are_transient(twilio_fake: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response("{}", status=201, content_type="application/json")

    twilio_fake.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(slow)
    with pytest.raises(TransientError, match="timed out"):
        _channel(twilio_fake, timeout=0.2).send(_msg())
    refused = TwilioSmsChannel(twilio_settings("http://127.0.0.1:1"), timeout=2)
    with pytest.raises(TransientError, match="cannot reach"):
        refused.send(_msg())


def test_bad_credentials_are_transient_not_a_dead_letter(twilio_fake: HTTPServer) -> None:
    twilio_fake.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        _twilio_error(20003, 401, "Authenticate"), status=401)
    with pytest.raises(TransientError, match="credentials"):
        _channel(twilio_fake).send(_msg())


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_twilio_4xx_codes_are_permanent_with_the_code(twilio_fake: HTTPServer,
                                                      code: int) -> None:
    twilio_fake.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        _twilio_error(code), status=400)
    with pytest.raises(PermanentError) as caught:
        _channel(twilio_fake).send(_msg())
    assert caught.value.code == str(code)


# -- dispatcher with the Twilio channel --------------------------------------------------------


def _enqueue_checkin(session: Session, world: World, key: str = "checkin:t1") -> None:
    outbox.enqueue(session, channel="sms", recipient=world.tenant.phone, body="Hej Anna",
                   key=key, kind="checkin", tenant_id=world.tenant.id)
    session.commit()


def _dispatcher(sessions: sessionmaker[Session], server: HTTPServer,
                max_attempts: int = 8) -> Dispatcher:
    return Dispatcher(sessions, {"sms": _channel(server)}, max_attempts=max_attempts,
                      on_permanent_failure=delivery_failures.handle)


def test_dispatcher_retries_after_a_provider_500_and_then_delivers(
        twilio_fake: HTTPServer, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    twilio_fake.expect_ordered_request(MESSAGES_PATH, method="POST").respond_with_json(
        _twilio_error(20500, 500, "Internal error"), status=500)
    twilio_fake.expect_ordered_request(MESSAGES_PATH, method="POST").respond_with_json(
        _created("SM" + "b" * 32), status=201)
    _enqueue_checkin(session, world)
    dispatcher = _dispatcher(sessions, twilio_fake)
    first = dispatcher.run_once()
    assert (first.sent, first.retried) == (0, 1)
    session.expire_all()
    row = session.scalar(select(OutboxItem))
    assert row.status == OutboxStatus.PENDING and row.next_attempt_at > utcnow()
    assert "500" in (row.last_error or "")
    assert dispatcher.run_once().handled == 0  # not due yet: backoff
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=True):
        assert dispatcher.run_once().sent == 1
    session.expire_all()
    row = session.scalar(select(OutboxItem))
    assert (row.status, row.provider_id, row.attempts) == (OutboxStatus.SENT, "SM" + "b" * 32, 2)
    twilio_fake.check_assertions()
    form = parse_qs(twilio_fake.log[-1][0].get_data(as_text=True))
    assert form["StatusCallback"] == [PUBLIC_BASE_URL + "/webhooks/twilio/status"]


def test_dispatcher_dead_letters_after_the_retry_limit(
        twilio_fake: HTTPServer, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    twilio_fake.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        _twilio_error(20500, 500, "Internal error"), status=500)
    _enqueue_checkin(session, world)
    dispatcher = _dispatcher(sessions, twilio_fake, max_attempts=3)
    results = []
    for hours in range(3):
        with time_machine.travel(utcnow() + timedelta(hours=2 * hours), tick=True):
            stats = dispatcher.run_once()
            results.append((stats.retried, stats.dead))
    assert results == [(1, 0), (1, 0), (0, 1)]
    session.expire_all()
    row = session.scalar(select(OutboxItem))
    assert row.status == OutboxStatus.DEAD and "gave up after 3 attempts" in row.last_error
    assert len(twilio_fake.log) == 3
    # A dead letter from server errors says nothing about the tenant's number.
    assert session.get(Tenant, world.tenant.id).phone_status == PhoneStatus.OK


def test_dispatcher_21610_marks_the_tenant_opted_out(
        twilio_fake: HTTPServer, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    twilio_fake.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        _twilio_error(21610, message="Attempt to send to unsubscribed recipient"), status=400)
    _enqueue_checkin(session, world)
    assert _dispatcher(sessions, twilio_fake).run_once().dead == 1
    session.expire_all()
    assert session.get(Tenant, world.tenant.id).opted_out_at is not None
    assert session.scalar(select(OutboxItem.status)) == OutboxStatus.DEAD
    # Nothing more goes to them: the next check-in is cancelled without a request.
    _enqueue_checkin(session, world, key="checkin:t2")
    assert _dispatcher(sessions, twilio_fake).run_once().cancelled == 1
    assert len(twilio_fake.log) == 1


def test_dispatcher_21211_marks_the_number_invalid_and_alerts_the_caseworker(
        twilio_fake: HTTPServer, sessions: sessionmaker[Session], session: Session,
        world: World) -> None:
    twilio_fake.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        _twilio_error(21211, message="The 'To' number is not a valid phone number."),
        status=400)
    _enqueue_checkin(session, world)
    _enqueue_checkin(session, world, key="checkin:t2")
    assert _dispatcher(sessions, twilio_fake).run_once().dead == 2
    session.expire_all()
    assert session.get(Tenant, world.tenant.id).phone_status == PhoneStatus.INVALID
    [alert] = session.scalars(select(Alert)).all()  # the second bounce folds into the first
    assert (alert.source, alert.severity, alert.owner_id, alert.trigger_count) == (
        "delivery_failed", "low", world.caseworker.id, 2)
