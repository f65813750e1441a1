"""Heartbeats, the admins' banner when no worker runs, and `trygthjem status`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import raise_alert
from bot.cli import main
from bot.core.outbox import enqueue
from bot.models import AlertEvent, Heartbeat, OutboxItem, OutboxStatus, utcnow
from bot.ops.heartbeat import PRUNE_AFTER, beat, worker_health
from bot.runtime import Runtime
from scheduler.runner import JOBS, run_once
from tests.support.dashboard import admin, login, with_passwords
from tests.support.factories import make_world

BANNER = "Ingen worker har kørt"


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
    # An operator's screen, not a case file: no message text, phone or alert summary.
    assert "hemmelig" not in out and "+4520000001" not in out and "privat" not in out
    data = json.loads(CliRunner().invoke(main, ["status", "--json"]).output)
    assert data["worker"]["running"] is False and len(data["undelivered_alerts"]) == 1
    assert {"channel": "sms", "status": "dead", "rows": 1} in data["outbox"]
    assert session.scalar(select(func.count()).select_from(Heartbeat)) == 0
