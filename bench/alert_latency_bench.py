"""Alert latency: from a tenant's "3" to the caseworker's SMS being handed to the provider.

For each of N alerts (one tenant each, so nothing folds): `trigger` raises the alert (the SMS
branch's webhook will replace this one function), then the escalation job and the Dispatcher run
as the worker runs them, and a recording channel notes when the SMS reaches it. The worker's poll
interval (escalate_alerts every 5 s) is not included: add up to that to the figures.

    .venv/bin/python bench/alert_latency_bench.py [--alerts 1000] [--database-url URL]

Without --database-url a temporary SQLite file is used. Prints figures only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import time as clock_time
from pathlib import Path
from typing import ClassVar

from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.alerts import raise_alert
from bot.channels.base import OutgoingMessage
from bot.config import Settings
from bot.db import make_engine, make_session_factory, upgrade
from bot.dispatch import Dispatcher
from bot.escalator import run_escalation
from bot.logs import configure_logging
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
        return [t.id for t in people]


def trigger(sessions: sessionmaker[Session], tenant_id: int) -> None:
    """The tenant answered 3. (To be replaced by a POST to the Twilio SMS webhook.)"""
    with sessions() as s, s.begin():
        raise_alert(s, source="need_help", summary="answered 3", tenant=s.get(Tenant, tenant_id))


def worker_tick(sessions: sessionmaker[Session], settings: Settings,
                dispatcher: Dispatcher) -> None:
    """What one pass of the worker does for a new alert: escalate, then dispatch."""
    run_escalation(sessions, settings, channels={"sms"})
    dispatcher.run_once()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    configure_logging("console", "WARNING")  # figures only; log lines would also skew timings
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_session_factory(engine)
        settings = Settings(database_url=url, public_base_url="https://bench.example")
        tenant_ids = seed(sessions, args.alerts)
        channel = RecordingChannel()
        dispatcher = Dispatcher(sessions, {"sms": channel})
        latencies = []
        for tenant_id in tenant_ids:
            started = time.perf_counter()
            before = len(channel.handed)
            trigger(sessions, tenant_id)
            worker_tick(sessions, settings, dispatcher)
            if len(channel.handed) != before + 1:
                raise SystemExit(f"expected one SMS for tenant {tenant_id}, "
                                 f"got {len(channel.handed) - before}")
            latencies.append((max(channel.handed.values()) - started) * 1000)
        engine.dispose()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"backend={url.split(':', 1)[0]} alerts={len(latencies)}")
    print(f"p50_ms={cuts[49]:.2f} p99_ms={cuts[98]:.2f} max_ms={max(latencies):.2f} "
          f"mean_ms={statistics.fmean(latencies):.2f}")


if __name__ == "__main__":
    main()
