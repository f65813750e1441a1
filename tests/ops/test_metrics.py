"""Prometheus metrics: who may scrape, what the counters and gauges say, multi-process mode,
and the shipped alert rules and Grafana dashboard naming only metrics that exist."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.lifecycle import raise_alert
from bot.channels.base import PermanentError
from bot.core import metrics
from bot.core.config import ConfigError, load_settings
from bot.core.outbox import enqueue
from bot.delivery.dispatcher import Dispatcher
from bot.models import Direction, Message, OutboxItem, OutboxStatus, Tenant, utcnow
from bot.ops import exposition
from bot.ops.collector import DatabaseStateCollector
from bot.ops.heartbeat import beat
from bot.runtime import Runtime
from scheduler.runner import JobSpec, _guarded
from tests.support.factories import make_world

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-0123456789abcdef"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


@pytest.fixture
def token_app(runtime: Runtime) -> Any:
    from webhooks import create_app

    runtime.settings = replace(runtime.settings, metrics_token=TOKEN)
    app = create_app(runtime)
    app.config["TESTING"] = True
    return app


# --------------------------------------------------------------------------- access


def test_metrics_only_to_loopback_or_the_bearer_token(token_app: Any) -> None:
    client = token_app.test_client()
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=outside).status_code == 401
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    ok = client.get("/metrics", environ_base=outside, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and "trygthjem_state_up 1.0" in ok.get_data(as_text=True)
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_without_a_token_only_loopback(client: Any) -> None:
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"},
                      headers={"Authorization": "Bearer "}).status_code == 401
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1


def test_may_scrape_rules() -> None:
    assert exposition.may_scrape(None, "127.0.0.1", None)
    assert not exposition.may_scrape(None, "192.168.1.2", None)
    assert not exposition.may_scrape("Bearer x", "192.168.1.2", None)  # no token configured
    assert exposition.may_scrape(f"bearer {TOKEN}", "192.168.1.2", TOKEN)
    assert not exposition.may_scrape(f"Bearer {TOKEN}x", "192.168.1.2", TOKEN)
    assert not exposition.may_scrape(None, "not an address", TOKEN)


# --------------------------------------------------------------------------- counters


def test_requests_counted_by_route_template_and_status(client: Any) -> None:
    route = "/dashboard/alerts/<int:alert_id>"
    before = _value("trygthjem_http_requests_total", route=route, method="GET", status="302")
    client.get("/dashboard/alerts/12345")  # not logged in: redirected to the login
    assert _value("trygthjem_http_requests_total", route=route, method="GET",
                  status="302") == before + 1
    assert _value("trygthjem_http_request_duration_seconds_count", route=route) >= 1
    unmatched = _value("trygthjem_http_requests_total", route="unmatched", method="GET",
                       status="404")
    client.get("/no/such/page/42")
    assert _value("trygthjem_http_requests_total", route="unmatched", method="GET",
                  status="404") == unmatched + 1


class _Failing:
    def send(self, message: Any) -> str:
        raise PermanentError("number does not exist", code="21211")


class _Ok:
    def send(self, message: Any) -> str:
        return "SM123"


def test_dispatch_outcomes_counted(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        enqueue(s, channel="sms", recipient="+4520000001", body="hi", key="m:1")
        enqueue(s, channel="email", recipient="a@b.example", body="hi", key="m:2")
        enqueue(s, channel="fax", recipient="1", body="hi", key="m:3")
    sent = _value("trygthjem_outbox_dispatch_total", channel="sms", outcome="sent")
    dead = _value("trygthjem_outbox_dispatch_total", channel="email", outcome="dead")
    unconfigured = _value("trygthjem_outbox_dispatch_total", channel="fax", outcome="dead")
    Dispatcher(sessions, {"sms": _Ok(), "email": _Failing()}).run_once()  # type: ignore[dict-item]
    assert _value("trygthjem_outbox_dispatch_total", channel="sms", outcome="sent") == sent + 1
    assert _value("trygthjem_outbox_dispatch_total", channel="email", outcome="dead") == dead + 1
    assert _value("trygthjem_outbox_dispatch_total", channel="fax",
                  outcome="dead") == unconfigured + 1


def test_escalation_steps_counted(runtime: Runtime, session: Session) -> None:
    from bot.alerts.escalator import run_escalation

    w = make_world(session)
    raise_alert(session, source="crisis", summary="x", tenant=w.tenant, now=utcnow())
    session.commit()
    before = _value("trygthjem_escalation_steps_total", result="delivered")
    stats = run_escalation(runtime.sessions, runtime.settings, channels=set(runtime.channels))
    assert stats.steps >= 1
    assert _value("trygthjem_escalation_steps_total", result="delivered") == before + stats.steps


def test_job_runs_failures_and_duration_counted(runtime: Runtime) -> None:
    def broken(_rt: Runtime) -> None:
        raise RuntimeError("boom")

    runs = _value("trygthjem_job_runs_total", job="broken_job")
    fails = _value("trygthjem_job_failures_total", job="broken_job")
    _guarded(JobSpec("broken_job", broken, 5), runtime)()
    _guarded(JobSpec("broken_job", lambda rt: None, 5), runtime)()
    assert _value("trygthjem_job_runs_total", job="broken_job") == runs + 2
    assert _value("trygthjem_job_failures_total", job="broken_job") == fails + 1
    assert _value("trygthjem_job_duration_seconds_count", job="broken_job") >= 2


# --------------------------------------------------------------------------- database state


def test_state_gauges_from_the_database(client: Any, session: Session,
                                        sessions: sessionmaker[Session]) -> None:
    w = make_world(session)
    now = utcnow()
    enqueue(session, channel="sms", recipient="+4520000001", body="x", key="due",
            not_before=now - timedelta(minutes=12))
    enqueue(session, channel="sms", recipient="+4520000001", body="x", key="later",
            not_before=now + timedelta(hours=1))
    enqueue(session, channel="sms", recipient="+4526000001", body="x", key="alert:9:e0:step:0",
            kind="alert", not_before=now - timedelta(seconds=90))
    enqueue(session, channel="telegram", recipient="1", body="x", key="dead")
    session.flush()
    for row in session.query(OutboxItem).filter_by(idempotency_key="dead"):
        row.status = OutboxStatus.DEAD
        row.last_error = "403 blocked"
    crit, _ = raise_alert(session, source="crisis", summary="x", tenant=w.tenant,
                          now=now - timedelta(hours=3))
    crit.next_action_at = None  # its policy has run out
    # Another tenant: Anna's own triggers would join her open case (one case per tenant).
    bo = Tenant(organisation=w.org, name="Bo", phone="+4528000399", caseworker=w.caseworker)
    session.add(bo)
    session.flush()
    low, _ = raise_alert(session, source="missed", summary="x", tenant=bo,
                         now=now - timedelta(minutes=30), detail={"missed": 1})
    low.undelivered_at = now - timedelta(minutes=25)  # as the escalator flags it
    session.add(Message(direction=Direction.IN, channel="sms", body="3", sender="+4528000398",
                        status="stuck"))  # processing failed again and again
    beat(session, "worker", now=now - timedelta(minutes=5), process="worker:test:1")
    session.commit()

    text = client.get("/metrics").get_data(as_text=True)
    assert _sample(text, "trygthjem_outbox_rows", channel="sms", status="pending") == 3
    assert _sample(text, "trygthjem_outbox_rows", channel="telegram", status="dead") == 1
    age = _sample(text, "trygthjem_outbox_oldest_due_age_seconds", channel="sms")
    assert age is not None and 11 * 60 < age < 14 * 60
    assert _sample(text, "trygthjem_outbox_oldest_due_age_seconds", channel="telegram") is None
    # The alert message's own wait, not the check-in backlog's.
    alert_age = _sample(text, "trygthjem_outbox_oldest_due_alert_age_seconds", channel="sms")
    assert alert_age is not None and 85 < alert_age < 180
    assert _sample(text, "trygthjem_alerts_active", severity="critical", state="open") == 1
    assert _sample(text, "trygthjem_alerts_past_policy", severity="critical") == 1
    assert _sample(text, "trygthjem_alerts_past_policy", severity="low") == 0
    oldest = _sample(text, "trygthjem_alert_oldest_unacknowledged_age_seconds",
                     severity="critical")
    assert oldest is not None and 2.9 * 3600 < oldest < 3.1 * 3600
    assert _sample(text, "trygthjem_alerts_undelivered") == 1
    assert _sample(text, "trygthjem_inbound_sms_stuck") == 1
    heartbeat = _sample(text, "trygthjem_worker_heartbeat_age_seconds")
    assert heartbeat is not None and 290 < heartbeat < 400
    assert _sample(text, "trygthjem_worker_processes") == 0


def test_state_gauges_say_when_the_database_cannot_be_read() -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker as make

    broken = make(create_engine("sqlite:////nonexistent/dir/db.sqlite3"))
    families = list(DatabaseStateCollector(broken).collect())
    assert [f.name for f in families] == ["trygthjem_state_up"]
    assert families[0].samples[0].value == 0


def test_worker_serves_its_own_metrics_port(sessions: sessionmaker[Session]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = exposition.serve_worker_metrics(port, TOKEN, host="127.0.0.1")
    try:
        metrics.JOB_RUNS.labels(job="port_probe").inc()
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        assert b'trygthjem_job_runs_total{job="port_probe"}' in body
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
    app = exposition.metrics_app(None, TOKEN)
    statuses: list[str] = []
    environ = {"PATH_INFO": "/metrics", "REMOTE_ADDR": "10.0.0.9"}
    app(environ, lambda status, headers: statuses.append(status))
    app({**environ, "HTTP_AUTHORIZATION": f"Bearer {TOKEN}"},
        lambda status, headers: statuses.append(status))
    assert statuses == ["401 Unauthorized", "200 OK"]


def test_multiprocess_mode_adds_up_every_process(tmp_path: Path) -> None:
    """Under gunicorn each worker process counts in files; a scrape reads them all."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    bump = ("from bot.core import metrics; metrics.dispatched('sms', 'sent'); "
            "metrics.dispatched('sms', 'sent')")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", bump], env=env, check=True, timeout=60)
    out = subprocess.run([sys.executable, "-c", "from bot.ops.exposition import render; "
                          "print(render(None)[0].decode())"], env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    assert _sample(out, "trygthjem_outbox_dispatch_total", channel="sms", outcome="sent") == 4


# --------------------------------------------------------------------------- rules, dashboard


def _exposed(sessions: sessionmaker[Session]) -> dict[str, set[str]]:
    """Every sample name this service can expose -> its label names."""
    names: dict[str, set[str]] = {}
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count"),
                "gauge": ("",)}
    defined = [metrics.HTTP_REQUESTS, metrics.HTTP_LATENCY, metrics.DISPATCH,
               metrics.ESCALATION_STEPS, metrics.JOB_RUNS, metrics.JOB_FAILURES,
               metrics.JOB_DURATION, metrics.INBOUND_STRANDED]
    for metric in defined:
        for family in metric.collect():
            for suffix in suffixes[family.type]:
                names[family.name + suffix] = set(metric._labelnames) | (
                    {"le"} if suffix == "_bucket" else set())
    for family in DatabaseStateCollector(sessions).collect():
        names[family.name] = {k for s in family.samples for k in s.labels}
    return names


KNOWN_LABELS = {
    "trygthjem_outbox_rows": {"channel", "status"},
    "trygthjem_outbox_oldest_due_age_seconds": {"channel"},
    "trygthjem_outbox_oldest_due_alert_age_seconds": {"channel"},
    "trygthjem_alerts_active": {"severity", "state"},
    "trygthjem_alert_oldest_unacknowledged_age_seconds": {"severity"},
    "trygthjem_alerts_past_policy": {"severity"},
}
PROMETHEUS_OWN = {"up": {"job", "instance"}}


def _used(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, labels it is filtered or grouped by) in a PromQL expression."""
    found = []
    for m in re.finditer(r"\b([a-z_:][a-z0-9_:]*)\s*(\{[^}]*\})?", expr):
        name = m.group(1)
        if not (name.startswith("trygthjem_") or name in PROMETHEUS_OWN):
            continue
        labels = set(re.findall(r"(\w+)\s*=~?", m.group(2) or ""))
        found.append((name, labels))
    groups = {g.strip() for by in re.findall(r"by \(([^)]*)\)", expr) for g in by.split(",")}
    return [(name, labels | (groups - {"le"})) for name, labels in found]


def _rule_exprs() -> list[str]:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus-rules.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def _dashboard_exprs() -> list[str]:
    board = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def test_rules_and_dashboard_name_only_metrics_that_exist(session: Session,
                                                          sessions: sessionmaker[Session]) -> None:
    w = make_world(session)
    raise_alert(session, source="crisis", summary="x", tenant=w.tenant)
    enqueue(session, channel="sms", recipient="+4520000001", body="x", key="k")
    session.commit()
    exposed = _exposed(sessions)
    for name, labels in KNOWN_LABELS.items():
        exposed[name] |= labels
    exposed.update(PROMETHEUS_OWN)
    exprs = _rule_exprs() + _dashboard_exprs()
    assert len(_rule_exprs()) >= 4 and len(_dashboard_exprs()) >= 10
    names_used = set()
    for expr in exprs:
        used = _used(expr)
        assert used, f"no metric in {expr!r}"
        for name, labels in used:
            assert name in exposed, f"{name!r} (in {expr!r}) is not a metric this service exposes"
            assert labels <= exposed[name], f"{name!r} has no label(s) {labels - exposed[name]}"
            names_used.add(name)
    # The four promised rules are there.
    rules = " ".join(_rule_exprs())
    for needed in ("trygthjem_outbox_oldest_due_age_seconds", "trygthjem_alerts_past_policy",
                   "trygthjem_outbox_oldest_due_alert_age_seconds",
                   'outcome="dead"', "trygthjem_worker_heartbeat_age_seconds"):
        assert needed in rules


def test_the_rule_check_catches_a_misspelt_metric() -> None:
    assert _used('max(trygthjem_outbox_rowz{channel="sms"})') == [
        ("trygthjem_outbox_rowz", {"channel"})]


def test_gunicorn_workers_are_added_up(tmp_path: Path) -> None:
    """Two gunicorn workers, as the Procfile runs them: /metrics counts every request, whichever
    process served it (and whichever answers the scrape)."""
    from bot.core.db import make_engine, upgrade

    db = tmp_path / "web.sqlite3"
    upgrade(make_engine(f"sqlite:///{db}"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{db}",
           "PROMETHEUS_MULTIPROC_DIR": str(multiproc), "CONSOLE_CHANNELS": "1",
           "SECRET_KEY": "x" * 32, "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "3",
         "webhooks:create_app()"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        # Requests that timed out while gunicorn booted may still have been served: a baseline.
        time.sleep(1)
        before = _sample(urllib.request.urlopen(base + "/metrics", timeout=5).read().decode(),
                         "trygthjem_http_requests_total", route="/healthz", method="GET",
                         status="200") or 0
        for _ in range(60):
            urllib.request.urlopen(base + "/healthz", timeout=5).read()
        pids = {p.name.split("_")[-1] for p in multiproc.glob("counter_*.db")}
        assert len(pids) >= 2, "the requests went to one worker only: the test proves nothing"
        for _ in range(3):  # any worker may answer the scrape: each sees all
            text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
            assert _sample(text, "trygthjem_http_requests_total", route="/healthz",
                           method="GET", status="200") == before + 60
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_worker_metrics_port_and_token_from_env(tmp_path: Path) -> None:
    """`trygthjem worker` with METRICS_PORT serves /metrics there, to METRICS_TOKEN."""
    from bot.core.db import make_engine, upgrade

    db = tmp_path / "worker.sqlite3"
    upgrade(make_engine(f"sqlite:///{db}"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{db}",
           "CONSOLE_CHANNELS": "1", "METRICS_PORT": str(port), "METRICS_TOKEN": TOKEN,
           "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        body = b""
        for _ in range(300):
            try:
                request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
                body = urllib.request.urlopen(request, timeout=2).read()
                if b'trygthjem_job_runs_total{job="heartbeat"}' in body:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert b'trygthjem_job_runs_total{job="heartbeat"}' in body  # its jobs are counted
        settings = load_settings({"METRICS_TOKEN": TOKEN, "METRICS_PORT": str(port)})
        assert settings.metrics_token == TOKEN and settings.metrics_port == port
        with pytest.raises(ConfigError):
            load_settings({"METRICS_TOKEN": "short", "METRICS_PORT": "70000"})
    finally:
        worker.terminate()
        worker.wait(timeout=20)
