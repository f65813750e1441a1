"""Heartbeats, the admins' banner when no worker runs, and `trygthjem status`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import CallbackContext
from werkzeug import Request, Response

from bot.alerts.lifecycle import raise_alert
from bot.cli import main
from bot.core.outbox import enqueue
from bot.models import AlertEvent, Direction, Heartbeat, Message, OutboxItem, OutboxStatus, utcnow
from bot.ops.heartbeat import (
    BOT,
    PRUNE_AFTER,
    WORKER_STALE,
    SenderWatch,
    beat,
    bot_health,
    worker_health,
)
from bot.runtime import Runtime
from bot.telegram_bot import build_application
from bot.telegram_bot.heartbeat import beat_while_polling as heartbeat_job
from bot.telegram_bot.heartbeat import install_heartbeat
from scheduler.runner import JOBS, run_once
from tests.support.dashboard import admin, login, with_passwords
from tests.support.emulators import TEST_BOT_TOKEN
from tests.support.factories import make_world
from tests.support.statements import counted

BANNER = "Ingen worker har kørt"
BOT_BANNER = "Telegram-botten (polling) har ikke kørt"
ROOT = Path(__file__).resolve().parents[2]


def test_a_beat_updates_its_own_row_and_prunes_the_long_gone(session: Session) -> None:
    now = utcnow()
    beat(session, "worker", now=now - PRUNE_AFTER - timedelta(hours=1), process="worker:old:1")
    beat(session, "worker", now=now - timedelta(minutes=1), process="worker:a:1")
    beat(session, "worker", now=now, process="worker:a:1", detail="dispatch_outbox")
    session.commit()
    rows = {h.process: h for h in session.scalars(select(Heartbeat))}
    assert set(rows) == {"worker:a:1"}  # the new process cleared the week-old one
    assert rows["worker:a:1"].seen_at == now and rows["worker:a:1"].detail == "dispatch_outbox"
    assert rows["worker:a:1"].started_at == now - timedelta(minutes=1)


def test_worker_health_two_minutes(session: Session) -> None:
    now = utcnow()
    assert not worker_health(session, now).running
    assert worker_health(session, now).last_seen is None
    beat(session, "web", now=now, process="web:a:1")  # a web process is not a worker
    beat(session, "worker", now=now - timedelta(seconds=119), process="worker:a:1")
    session.commit()
    assert worker_health(session, now).running
    assert not worker_health(session, now + timedelta(seconds=2)).running
    assert worker_health(session, now).processes == 1


def test_a_runtime_asks_whether_a_sender_runs_once_per_beat_it_has_seen(
        session: Session, engine: Engine) -> None:
    """Every alert reply needs "is a worker or dispatcher running?". A beat seen at T answers
    yes until T + WORKER_STALE without asking again; after that the database is asked, so a
    stopped sender is noticed exactly when the query alone would notice it."""
    now = utcnow()
    watch = SenderWatch()
    beat(session, "web", now=now, process="web:a:1")  # a web process sends nothing
    session.commit()
    with counted(engine) as statements:
        assert not watch.running(session, now)
    assert len(statements) == 1
    beat(session, "dispatcher", now=now - timedelta(seconds=30), process="dispatcher:a:1")
    session.commit()
    with counted(engine) as statements:
        assert watch.running(session, now)
    assert len(statements) == 1
    with counted(engine) as statements:
        assert watch.running(session, now + timedelta(seconds=60))
        assert watch.running(session, now - timedelta(seconds=30) + WORKER_STALE)
    assert statements == []  # known from the beat it saw
    with counted(engine) as statements:
        assert not watch.running(session, now + WORKER_STALE)  # the dispatcher went quiet
    assert len(statements) == 1


def test_the_worker_beats_from_its_jobs(runtime: Runtime, session: Session) -> None:
    assert "heartbeat" in {j.name for j in JOBS}
    run_once(runtime)
    assert worker_health(session).running


def test_web_processes_beat_too(client: Any, session: Session) -> None:
    client.get("/healthz")
    kinds = session.scalars(select(Heartbeat.kind)).all()
    assert kinds == ["web"]


def test_banner_for_admins_when_no_worker_ran(client: Any, session: Session) -> None:
    w = with_passwords(session, make_world(session))
    admin(session, w)
    login(client, "admin@odense.example")
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "Ingen worker har kørt endnu" in page
    beat(session, "worker", now=utcnow() - timedelta(minutes=7), process="worker:x:1")
    session.commit()
    assert "Ingen worker har kørt i 7 minutter" in client.get("/dashboard/").get_data(
        as_text=True)
    beat(session, "worker", process="worker:x:1")
    session.commit()
    assert BANNER not in client.get("/dashboard/").get_data(as_text=True)


def test_no_banner_for_caseworkers(client: Any, session: Session) -> None:
    with_passwords(session, make_world(session))
    login(client, "cw@odense.example")
    assert BANNER not in client.get("/dashboard/").get_data(as_text=True)


def _seed(session: Session) -> None:
    w = make_world(session)
    enqueue(session, channel="sms", recipient="+4520000001", body="hemmelig tekst", key="a")
    enqueue(session, channel="sms", recipient="+4520000002", body="x", key="b",
            not_before=utcnow() - timedelta(minutes=20))
    session.flush()
    dead = session.scalar(select(OutboxItem).where(OutboxItem.idempotency_key == "a"))
    assert dead is not None
    dead.status = OutboxStatus.DEAD
    dead.last_error = "gave up after 8 attempts: ConnectError"
    alert, _ = raise_alert(session, source="crisis", summary="privat", tenant=w.tenant)
    session.add(AlertEvent(alert=alert, kind="unreachable", detail={"step": 0}))
    alert.undelivered_at = alert.created_at  # as the escalator flags it when nobody is reached
    # An inbound SMS the worker failed to process again and again (bot.tenants.stranded).
    session.add(Message(direction=Direction.IN, channel="sms", body="hemmelig 3",
                        sender="+4520000003", status="stuck"))
    session.commit()


def test_status_one_screen(db_url: str, session: Session, monkeypatch: Any) -> None:
    _seed(session)
    monkeypatch.setenv("DATABASE_URL", db_url)
    for name in ("TWILIO_ACCOUNT_SID", "TELEGRAM_BOT_TOKEN", "SMTP_HOST", "CONSOLE_CHANNELS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMTP_HOST", "smtp.example")
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "sms       not configured" in out and "email     SMTP smtp.example" in out
    assert "NOT RUNNING: no worker has ever written a heartbeat" in out
    assert "sms       dead" in out and "sms       pending" in out
    assert "oldest due waiting 20 min" in out
    assert "gave up after 8 attempts: ConnectError" in out
    assert "critical  1 open, 0 acknowledged" in out
    assert "Undelivered alerts (no step reached anyone): 1" in out
    assert "Inbound SMS not processed (failed again and again): 1: message #" in out
    # An operator's screen, not a case file: no message text, phone or alert summary.
    assert "hemmelig" not in out and "+4520000001" not in out and "privat" not in out
    assert "+4520000003" not in out
    data = json.loads(CliRunner().invoke(main, ["status", "--json"]).output)
    assert data["worker"]["running"] is False and len(data["undelivered_alerts"]) == 1
    assert len(data["stuck_inbound_sms"]) == 1
    assert {"channel": "sms", "status": "dead", "rows": 1} in data["outbox"]
    assert session.scalar(select(func.count()).select_from(Heartbeat)) == 0


def _status(db_url: str, monkeypatch: Any) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    return str(result.output)


def _bot_api(request: Request) -> Response:
    """Just enough Bot API for `trygthjem bot` to start and poll (an empty update queue)."""
    method = request.path.rsplit("/", 1)[-1].lower()
    result: Any = True
    if method == "getme":
        result = {"id": 7000000001, "is_bot": True, "first_name": "Trygt Hjem",
                  "username": "TrygtHjemTestBot"}
    elif method == "getupdates":
        time.sleep(0.2)  # as a long poll would wait
        result = []
    return Response(json.dumps({"ok": True, "result": result}), 200,
                    {"Content-Type": "application/json"})


def test_the_polling_bot_beats_while_it_polls(db_url: str, sessions: sessionmaker[Session],
                                              httpserver: HTTPServer, monkeypatch: Any) -> None:
    """`trygthjem bot` itself, as the Procfile runs it, on a stand-in Bot API."""
    httpserver.expect_request(re.compile("^/bot.*")).respond_with_handler(_bot_api)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url,
           "TELEGRAM_BOT_TOKEN": TEST_BOT_TOKEN, "LOG_FORMAT": "console",
           "TELEGRAM_API_URL": httpserver.url_for("/").rstrip("/")}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "bot"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            with sessions() as session:
                if bot_health(session).running:
                    break
            assert proc.poll() is None, proc.communicate()[0][-2000:]
            assert time.monotonic() < deadline, "no heartbeat from the polling bot"
            time.sleep(0.1)
        while not any(r.path.endswith("/getUpdates") for r, _ in httpserver.log):
            assert time.monotonic() < deadline, "it beats while it polls"
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(30)
    with sessions() as session:
        [row] = session.scalars(select(Heartbeat).where(Heartbeat.kind == BOT)).all()
        assert row.process.startswith("bot:") and row.detail == "polling"
        assert not worker_health(session).running  # a bot is not a worker
    assert "running: 1 process(es)" in _status(db_url, monkeypatch).split(
        "Telegram bot (polling")[1]


def test_the_bot_beats_only_while_its_updater_polls(sessions: sessionmaker[Session]) -> None:
    application = build_application(sessions, TEST_BOT_TOKEN)
    job = install_heartbeat(application, sessions)
    context = CallbackContext.from_job(job, application)
    assert application.updater is not None and not application.updater.running
    asyncio.run(heartbeat_job(context))
    with sessions() as session:
        assert bot_health(session).last_seen is None, "not polling: no beat"
    application.updater._running = True  # as start_polling leaves it
    asyncio.run(heartbeat_job(context))
    with sessions() as session:
        assert bot_health(session).running


def test_status_metrics_and_banner_tell_when_the_polling_bot_is_down(
        db_url: str, client: Any, session: Session, monkeypatch: Any) -> None:
    for name in ("TWILIO_ACCOUNT_SID", "TELEGRAM_BOT_TOKEN", "SMTP_HOST", "CONSOLE_CHANNELS"):
        monkeypatch.delenv(name, raising=False)
    w = with_passwords(session, make_world(session))
    admin(session, w)
    session.commit()
    login(client, "admin@odense.example")
    # Never polled (the webhook, or no Telegram): nothing to warn about.
    bot_part = _status(db_url, monkeypatch).split("Telegram bot (polling")[1]
    assert "none has run (with the webhook none is needed)" in bot_part
    assert BOT_BANNER not in client.get("/dashboard/").get_data(as_text=True)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "trygthjem_bot_heartbeat_age_seconds +Inf" in metrics
    # A polling bot that beat 7 minutes ago has stopped.
    beat(session, BOT, now=utcnow() - timedelta(minutes=7), process="bot:x:1")
    session.commit()
    bot_part = _status(db_url, monkeypatch).split("Telegram bot (polling")[1]
    assert "NOT RUNNING: last heartbeat 7 min ago (over 2 min)" in bot_part.split("\n\n")[0]
    assert "Telegram-botten (polling) har ikke kørt i 7 minutter" in client.get(
        "/dashboard/").get_data(as_text=True)
    metrics = client.get("/metrics").get_data(as_text=True)
    age = next(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith("trygthjem_bot_heartbeat_age_seconds "))
    assert 7 * 60 <= age < 9 * 60
    assert "trygthjem_bot_processes 0.0" in metrics
    data = json.loads(CliRunner().invoke(main, ["status", "--json"]).output)
    assert data["bot"]["running"] is False and data["bot"]["last_seen"]
    # Beating again: all clear.
    session.execute(update(Heartbeat).values(seen_at=utcnow()))
    session.commit()
    assert BOT_BANNER not in client.get("/dashboard/").get_data(as_text=True)
    assert "running: 1 process(es)" in _status(db_url, monkeypatch).split(
        "Telegram bot (polling")[1]
