"""The apps bench/webhook_bench.py measures the product against do what their docstrings say,
on both databases: the raw-driver floor and the stack alone store a message once and claim it
(a retried MessageSid stores nothing more), and the stack checks Twilio's signature as the
product does. A floor that skipped a durable step would flatter every ratio measured
against it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bench.common import AUTH_TOKEN, SMS_PATH, signed_sms
from bench.webhook_apps import floor, framework, stack

BASE = "http://bench.local"


@pytest.fixture
def bench_env(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    for name, value in {"DATABASE_URL": db_url, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                        "PUBLIC_BASE_URL": BASE}.items():
        monkeypatch.setenv(name, value)


def _stored(session: Session, sid: str) -> list[tuple[str, object]]:
    return [(r.status, r.processed_at is not None) for r in session.execute(text(
        "SELECT status, processed_at FROM messages WHERE provider_id = :sid"), {"sid": sid})]


@pytest.mark.parametrize("factory", [floor, stack], ids=["floor", "stack"])
def test_the_floor_and_the_stack_store_once_and_claim(
        bench_env: None, sessions: sessionmaker[Session],
        factory: Callable[[], Flask]) -> None:
    client = factory().test_client()
    sid = "SM" + uuid.uuid4().hex
    form, signature = signed_sms(BASE, "+4520000001", "1", sid)
    for _ in range(2):  # Twilio's retry of the same message
        response = client.post(SMS_PATH, data=form, base_url=BASE,
                               headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200 and b"<Response>" in response.data
    with sessions() as s:
        assert _stored(s, sid) == [("processed", True)]


def test_the_stack_refuses_a_forged_signature_and_stores_nothing(
        bench_env: None, sessions: sessionmaker[Session]) -> None:
    sid = "SM" + uuid.uuid4().hex
    form, _signature = signed_sms(BASE, "+4520000001", "3", sid)
    response = stack().test_client().post(SMS_PATH, data=form, base_url=BASE,
                                          headers={"X-Twilio-Signature": "forged"})
    assert response.status_code == 403
    with sessions() as s:
        assert _stored(s, sid) == []


def test_the_framework_baseline_answers_without_a_database() -> None:
    client = framework().test_client()
    assert client.post(SMS_PATH, data={"MessageSid": "SM1"}).status_code == 200
    assert client.post(SMS_PATH, data={}).status_code == 400
