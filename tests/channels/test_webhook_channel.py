"""Outgoing signed webhook: signature verification, and retries through the outbox against a real
local HTTP server (pytest-httpserver)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug import Request, Response

from bot.alerts import events as alert_webhook
from bot.alerts.lifecycle import act, raise_alert
from bot.channels.base import OutgoingMessage, PermanentError, TransientError
from bot.channels.webhook import WebhookChannel, sign, verify_signature
from bot.core.config import Settings
from bot.delivery.dispatcher import Dispatcher
from bot.models import OutboxItem, OutboxStatus, utcnow
from tests.support.factories import make_world

SECRET = "whsec-0123456789abcdef"


def test_verify_signature_accepts_only_fresh_untampered_bodies() -> None:
    body = b'{"event":"alert.raised"}'
    ts = "1767225600"
    header = sign(SECRET, ts, body)
    assert header.startswith("v1=") and len(header) == 3 + 64
    assert verify_signature(SECRET, ts, body, header, now=1767225600 + 299)
    assert verify_signature(SECRET, ts, body.decode(), header, now=1767225600)
    assert not verify_signature(SECRET, ts, body + b" ", header, now=1767225600)
    assert not verify_signature("another-secret-0123", ts, body, header, now=1767225600)
    assert not verify_signature(SECRET, ts, body, header, now=1767225600 + 301)  # replay
    assert not verify_signature(SECRET, ts, body, header, now=1767225600 - 301)  # future
    assert not verify_signature(SECRET, "yesterday", body, header, now=1767225600)
    assert not verify_signature(SECRET, ts, body, "", now=1767225600)
    # During a secret rotation the header may carry two signatures.
    assert verify_signature(SECRET, ts, body, f"v1=00, {header}", now=1767225600)


def test_alert_events_are_posted_signed_and_a_500_is_retried(
        sessions: sessionmaker[Session], session: Session, httpserver: HTTPServer) -> None:
    received: list[tuple[dict[str, str], bytes, bool]] = []
    answers = [500, 200, 200]

    def handler(request: Request) -> Response:
        body = request.get_data()
        ok = verify_signature(SECRET, request.headers["X-TrygtHjem-Timestamp"], body,
                              request.headers["X-TrygtHjem-Signature"])
        received.append((dict(request.headers), body, ok))
        return Response("", status=answers[len(received) - 1])

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    url = httpserver.url_for("/hook")
    w = make_world(session)
    alert_webhook.enable(sessions, url)
    with sessions() as s, s.begin():
        alert, _ = raise_alert(s, source="need_help", summary="svarede 3",
                               tenant=s.get(type(w.tenant), w.tenant.id))
        alert_id = alert.id
    channels = {"webhook": WebhookChannel(SECRET)}

    first = Dispatcher(sessions, channels).run_once()
    assert first.retried == 1 and first.sent == 0
    row = session.scalar(select(OutboxItem).where(OutboxItem.channel == "webhook"))
    assert row is not None and row.status == OutboxStatus.PENDING
    assert "500" in (row.last_error or "")

    # Later (the backoff is at most a few minutes for a first retry), the same event again.
    with time_machine.travel(utcnow() + timedelta(minutes=10), tick=True):
        with sessions() as s, s.begin():
            act(s, s.get(type(alert), alert_id), "acknowledge", actor=None, via="dashboard")
        second = Dispatcher(sessions, channels).run_once()
    assert second.sent == 2
    assert [ok for _, _, ok in received] == [True, True, True]
    (h1, b1, _), (h2, b2, _), (_, b3, _) = received
    assert b1 == b2 and h1["Idempotency-Key"] == h2["Idempotency-Key"]  # the same event
    assert h1["X-Trygthjem-Timestamp"] != h2["X-Trygthjem-Timestamp"]  # signed per attempt
    assert json.loads(b1)["event"] == "alert.raised"
    assert json.loads(b3)["event"] == "alert.acknowledged"
    assert json.loads(b3)["alert"] == {**json.loads(b3)["alert"], "id": alert_id,
                                       "state": "acknowledged"}
    assert h1["Content-Type"] == "application/json"
    session.expire_all()
    assert session.get(OutboxItem, row.id).status == OutboxStatus.SENT  # type: ignore[union-attr]


@pytest.mark.parametrize(("status", "error"), [(429, TransientError), (503, TransientError),
                                               (400, PermanentError), (410, PermanentError)])
def test_status_codes(httpserver: HTTPServer, status: int, error: type[Exception]) -> None:
    httpserver.expect_request("/h").respond_with_data("no", status=status)
    with pytest.raises(error):
        WebhookChannel(SECRET).send(OutgoingMessage(httpserver.url_for("/h"), "{}", "key-1"))


def test_timeout_is_transient(httpserver: HTTPServer) -> None:
    def slow(_: Request) -> Response:
        time.sleep(0.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    with pytest.raises(TransientError):
        WebhookChannel(SECRET, timeout=0.1).send(
            OutgoingMessage(httpserver.url_for("/slow"), "{}", "key-2"))


def test_signature_uses_the_clock_given() -> None:
    sent: list[tuple[str, str]] = []

    class Capture:
        def post(self, url: str, content: bytes, headers: dict[str, str]) -> object:
            sent.append((headers["X-TrygtHjem-Timestamp"], headers["X-TrygtHjem-Signature"]))

            class R:
                status_code = 204
                headers: dict[str, str] = {}  # noqa: RUF012
                text = ""

            return R()

    moment = datetime(2026, 3, 3, tzinfo=UTC).timestamp()
    channel = WebhookChannel(SECRET, client=Capture(), clock=lambda: moment)  # type: ignore[arg-type]
    channel.send(OutgoingMessage("https://x.example/h", '{"a":1}', "k"))
    [(ts, sig)] = sent
    assert ts == str(int(moment)) and verify_signature(SECRET, ts, '{"a":1}', sig, now=moment)


def test_docs_receiver_snippet_verifies_our_signatures() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
    section = doc.read_text(encoding="utf-8").split("## Outgoing webhook", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    copied = namespace["verify_signature"]
    body, ts = '{"event":"alert.resolved"}', "1767225600"
    header = sign(SECRET, ts, body)
    assert copied(SECRET, ts, body, header, now=1767225600 + 10)
    assert copied(SECRET, ts, body.encode(), header, now=1767225600)
    assert not copied(SECRET, ts, body, header, now=1767225600 + 301)
    assert not copied(SECRET, ts, body + " ", header, now=1767225600)


def test_reaching_nobody_is_posted_signed(sessions: sessionmaker[Session], session: Session,
                                          settings: Settings, httpserver: HTTPServer) -> None:
    """`alert.undelivered` goes the way every event goes: signed, with its idempotency key."""
    from bot.alerts.escalator import run_escalation

    received: list[tuple[str, bool]] = []

    def handler(request: Request) -> Response:
        body = request.get_data()
        received.append((json.loads(body)["event"], verify_signature(
            SECRET, request.headers["X-TrygtHjem-Timestamp"], body,
            request.headers["X-TrygtHjem-Signature"])))
        return Response("", status=204)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    w = make_world(session)
    for cw in (w.lead, w.caseworker, w.colleague):
        cw.phone = None
    session.commit()
    alert_webhook.enable(sessions, httpserver.url_for("/hook"))
    now = utcnow()
    with sessions() as s, s.begin():
        raise_alert(s, source="crisis", summary="c", tenant=s.get(type(w.tenant), w.tenant.id),
                    now=now)
    run_escalation(sessions, settings, channels={"sms"}, now=now)
    assert Dispatcher(sessions, {"webhook": WebhookChannel(SECRET)}).run_once().sent == 2
    assert received == [("alert.raised", True), ("alert.undelivered", True)]
