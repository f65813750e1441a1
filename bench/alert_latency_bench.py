"""Alert latency: from a tenant's "3" webhook to the caseworker's SMS handed to the provider.

For each of N alerts (one tenant each, so nothing folds): `trigger` posts the tenant's "3" to
`POST /webhooks/twilio/sms` as Twilio would (a signed form, through the real Flask app with the
Flask test client: in-process, no network), checks the TwiML answer, then the escalation job and
the Dispatcher run as the worker runs them, and a recording channel stands in for Twilio and notes
when the caseworker's SMS is handed to it. The clock starts just before the POST (Twilio computes
the signature, so that is outside). The worker's poll interval (escalate_alerts every 5 s) is not
included: add up to that to the figures.

    .venv/bin/python bench/alert_latency_bench.py [--alerts 1000] [--backend both|sqlite|postgresql]
    .venv/bin/python bench/alert_latency_bench.py --database-url URL   # an empty database

SQLite: a temporary file. PostgreSQL: a fresh schema on TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped afterwards. Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time as clock_time
from pathlib import Path
from typing import ClassVar

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.alerts.escalator import run_escalation
from bot.channels.base import OutgoingMessage
from bot.core.config import Settings, TwilioSettings
from bot.core.db import make_engine, make_session_factory, upgrade
from bot.core.logs import configure_logging
from bot.delivery.dispatcher import Dispatcher
from bot.models import (
    Caseworker,
    Consent,
    Home,
    Landlord,
    Organisation,
    Role,
    Team,
    Tenant,
)
from bot.runtime import Runtime
from webhooks import create_app

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PUBLIC_BASE_URL = "https://bench.example"
SMS_PATH = "/webhooks/twilio/sms"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-auth-token"
SERVICE_NUMBER = "+4570103000"


class RecordingChannel:
    """Stands in for the SMS provider: notes when each message is handed over."""

    name: ClassVar[str] = "recording"

    def __init__(self) -> None:
        self.handed: dict[str, float] = {}

    def send(self, message: OutgoingMessage) -> str:
        self.handed[message.idempotency_key] = time.perf_counter()
        return f"rec-{len(self.handed)}"


def seed(sessions: sessionmaker[Session], tenants: int) -> list[int]:
    with sessions() as s, s.begin():
        org = Organisation(name="Bench Kommune")
        team = Team(organisation=org, name="Bench team", work_start=clock_time(0),
                    work_end=clock_time(23, 59))
        lead = Caseworker(team=team, email="lead@bench.example", name="Lead",
                          phone="+4520000000", role=Role.TEAM_LEAD)
        workers = [Caseworker(team=team, email=f"cw{i}@bench.example", name=f"CW {i}",
                              phone=f"+452100{i:04d}") for i in range(20)]
        landlord = Landlord(email="ll@bench.example", name="LL")
        home = Home(reference="B-1", address="Vollsmose Allé 1", postcode="5240",
                    city="Odense NØ", landlord=landlord)
        people = [Tenant(organisation=org, name=f"Tenant {i}", phone=f"+452800{i:04d}",
                         home=home, caseworker=workers[i % len(workers)],
                         consent=Consent.GIVEN) for i in range(tenants)]
        s.add_all([org, team, lead, *workers, landlord, home, *people])
        s.flush()
        return [t.phone for t in people]


def signed_form(phone: str, n: int) -> tuple[dict[str, str], str]:
    """The form Twilio posts for "3" from `phone`, and its X-Twilio-Signature."""
    sid = f"SM{n:032x}"
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": phone,
            "To": SERVICE_NUMBER, "Body": "3", "NumMedia": "0", "NumSegments": "1",
            "ApiVersion": "2010-04-01"}
    return form, RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + SMS_PATH, form)


def trigger(client: FlaskClient, form: dict[str, str], signature: str) -> None:
    """The tenant answers 3: Twilio's signed POST to the SMS webhook, answered with TwiML."""
    response = client.post(SMS_PATH, data=form, headers={"X-Twilio-Signature": signature})
    if response.status_code != 200 or b"<Message>" not in response.data:
        raise SystemExit(f"webhook answered {response.status_code}: {response.data[:300]!r}")


def worker_tick(sessions: sessionmaker[Session], settings: Settings,
                dispatcher: Dispatcher) -> None:
    """What one pass of the worker does for a new alert: escalate, then dispatch."""
    run_escalation(sessions, settings, channels={"sms"})
    dispatcher.run_once()


def measure(url: str, alerts: int) -> list[float]:
    """Latencies in ms for `alerts` tenants answering 3 on the database at `url` (empty)."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        settings = Settings(database_url=url, public_base_url=PUBLIC_BASE_URL,
                            secret_key="bench-secret-key-0123456789",
                            twilio=TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, SERVICE_NUMBER))
        phones = seed(sessions, alerts)
        channel = RecordingChannel()
        app = create_app(Runtime(settings, engine, sessions, {"sms": channel}))
        client = app.test_client()
        dispatcher = Dispatcher(sessions, {"sms": channel})
        latencies = []
        for n, phone in enumerate(phones, start=1):
            form, signature = signed_form(phone, n)
            before = len(channel.handed)
            started = time.perf_counter()
            trigger(client, form, signature)
            worker_tick(sessions, settings, dispatcher)
            if len(channel.handed) != before + 1:
                raise SystemExit(f"expected one SMS for tenant {phone}, "
                                 f"got {len(channel.handed) - before}")
            latencies.append((max(channel.handed.values()) - started) * 1000)
        return latencies
    finally:
        engine.dispose()


@contextmanager
def database(backend: str) -> Iterator[str]:
    """An empty database for one run: a temporary SQLite file or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return
    schema = f"th_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def report(name: str, latencies: list[float]) -> None:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"backend={name} alerts={len(latencies)}")
    print(f"  p50_ms={cuts[49]:.2f} p99_ms={cuts[98]:.2f} max_ms={max(latencies):.2f} "
          f"mean_ms={statistics.fmean(latencies):.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--database-url", help="one run on this (empty) database instead")
    args = parser.parse_args()
    configure_logging("console", "WARNING")  # figures only; log lines would also skew timings
    print("tenant's signed '3' webhook -> caseworker SMS handed to the provider "
          "(Flask test client, escalation job + Dispatcher; worker poll interval not included)")
    if args.database_url:
        report(args.database_url.split(":", 1)[0], measure(args.database_url, args.alerts))
        return
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        with database(backend) as url:
            report(backend, measure(url, args.alerts))
    load1, load5, _ = os.getloadavg()
    print(f"  CPU: {os.cpu_count()} cores; load average {load1:.1f} (1 min), {load5:.1f} (5 min)")


if __name__ == "__main__":
    main()
