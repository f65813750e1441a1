"""How fast the dashboard's queue page and the API's alert list answer with many alerts.

    .venv/bin/python bench/dashboard_bench.py [--alerts 10000] [--requests 50]
        [--backend both|postgresql|sqlite] [--database-url URL]

Prints p50/p99 milliseconds of server time per request (Flask test client, so no network), on a
fresh SQLite file and PostgreSQL schema, or once on --database-url (an empty, migrated schema).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BACKENDS, database, figure
from bot.casework.passwords import set_password
from bot.core.config import Settings
from bot.core.db import make_engine, make_session_factory, upgrade
from bot.models import Alert, Caseworker, Organisation, Role, Team, Tenant, utcnow
from bot.runtime import Runtime


def main() -> None:
    from bot.core.logs import configure_logging

    configure_logging("console", "WARNING")  # figures only, not a log line per request
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--backend", choices=("both", *BACKENDS), default="both")
    ap.add_argument("--database-url")
    args = ap.parse_args()
    if args.database_url:
        measure(args.database_url, args)
        return
    for backend in BACKENDS if args.backend == "both" else (args.backend,):
        with database(backend) as url:
            measure(url, args)


def measure(url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions() as s:
        org = Organisation(name="Bench Kommune")
        team = Team(organisation=org, name="Bench")
        lead = Caseworker(team=team, email="lead@bench.example", name="Lead",
                          role=Role.TEAM_LEAD)
        set_password(lead, "bench password")
        s.add_all([org, team, lead])
        s.flush()
        now = utcnow()
        tenants = [Tenant(organisation=org, name=f"Tenant {i}", phone=f"+4520{i:06d}",
                          caseworker=lead) for i in range(200)]
        s.add_all(tenants)
        s.flush()
        sev = ("low", "high", "critical")
        s.add_all([Alert(source="need_help", severity=sev[i % 3], tenant_id=tenants[i % 200].id,
                         team_id=team.id, owner_id=lead.id, summary=f"alert {i}",
                         next_action_at=now + timedelta(minutes=i % 97))
                   for i in range(args.alerts)])
        s.commit()
    from webhooks import create_app

    app = create_app(Runtime(Settings(database_url=url, secret_key="b" * 32), engine, sessions))
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/dashboard/login").get_data(as_text=True)).group(1)
    client.post("/dashboard/login", data={"email": "lead@bench.example",
                                          "password": "bench password", "csrf_token": token})
    for path in ("/dashboard/", "/api/v1/alerts"):
        times = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            r = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.status_code
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"{path:16} {args.alerts} alerts: p50 {statistics.median(times):.1f} ms, "
              f"p99 {p99:.1f} ms ({args.requests} requests, {engine.dialect.name})")
        figure(f"{path} with {args.alerts:,} alerts, p99", engine.dialect.name, round(p99, 1),
               "ms", "< 100 ms", p99 < 100, "server time (Flask test client)")
    engine.dispose()


if __name__ == "__main__":
    main()
