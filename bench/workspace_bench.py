"""Server time of the caseworker's alert page and tenant page with a realistic amount of history.

    .venv/bin/python bench/workspace_bench.py [--alerts 10000] [--tenants 1000]
        [--requests 100] [--database-url URL]

Builds one municipality with ``--tenants`` tenants, ``--alerts`` alerts spread over them (each
with its raise, three notifications and a skip on the timeline), 20 SMS and 26 weekly check-ins
per tenant, then times GET /dashboard/alerts/<id> and GET /dashboard/tenants/<id> for random
ids (Flask test client: server time, no network). Prints p50/p99 in milliseconds; asserts
nothing. SQLite file by default; for PostgreSQL pass an empty database.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.casework.passwords import set_password
from bot.core.config import Settings
from bot.core.db import make_engine, make_session_factory, upgrade
from bot.models import (
    Alert,
    AlertEvent,
    Caseworker,
    CheckIn,
    Message,
    Organisation,
    Role,
    Team,
    Tenant,
    utcnow,
)
from bot.runtime import Runtime


def _fill(sessions: sessionmaker[Session], n_alerts: int,
          n_tenants: int) -> tuple[list[int], list[int]]:
    now = utcnow()
    with sessions() as s:
        org = Organisation(name="Bench Kommune")
        team = Team(organisation=org, name="Bench")
        admin = Caseworker(team=team, email="admin@bench.example", name="Admin",
                           role=Role.ADMIN)
        set_password(admin, "bench password")
        s.add_all([org, team, admin])
        s.flush()
        s.execute(insert(Tenant), [
            {"organisation_id": org.id, "name": f"Tenant {i}", "phone": f"+4520{i:06d}",
             "caseworker_id": admin.id, "consent": "given"} for i in range(n_tenants)])
        tenant_ids = list(s.scalars(select(Tenant.id).order_by(Tenant.id)))
        s.execute(insert(Message), [
            {"direction": "in" if j % 2 else "out", "channel": "sms", "tenant_id": t,
             "body": f"besked {j}", "status": "delivered", "created_at": now - timedelta(hours=j)}
            for t in tenant_ids for j in range(20)])
        s.execute(insert(CheckIn), [
            {"tenant_id": t, "slot_at": now - timedelta(weeks=w), "status": "answered",
             "answered_at": now - timedelta(weeks=w), "answer": 1 + (w + t) % 3}
            for t in tenant_ids for w in range(26)])
        sev = ("low", "high", "critical")
        s.execute(insert(Alert), [
            {"source": "need_help", "severity": sev[i % 3], "state": "open",
             "tenant_id": tenant_ids[i % n_tenants], "team_id": team.id, "owner_id": admin.id,
             "summary": f"alert {i}", "next_action_at": now + timedelta(minutes=i % 97),
             "created_at": now - timedelta(hours=i % 4000)} for i in range(n_alerts)])
        alert_ids = list(s.scalars(select(Alert.id).order_by(Alert.id)))
        events = []
        for a in alert_ids:
            events.append({"alert_id": a, "kind": "raised", "at": now, "actor": "system",
                           "detail": {"severity": "high", "answer": 3,
                                      "text": "jeg har det skidt"}})
            events += [{"alert_id": a, "kind": "notified", "at": now, "actor": "system",
                        "detail": {"step": k, "target": "assigned", "channel": "sms",
                                   "caseworker_id": admin.id}} for k in range(3)]
            events.append({"alert_id": a, "kind": "skipped", "at": now, "actor": "system",
                           "detail": {"step": 0, "channel": "telegram",
                                      "reason": "no Telegram chat", "caseworker_id": admin.id}})
        s.execute(insert(AlertEvent), events)
        s.commit()
    return alert_ids, tenant_ids


def main() -> None:
    from bot.core.logs import configure_logging

    configure_logging("console", "WARNING")  # figures only, not a log line per request
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--tenants", type=int, default=1_000)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    alert_ids, tenant_ids = _fill(sessions, args.alerts, args.tenants)
    print(f"filled {args.alerts} alerts, {args.tenants} tenants in "
          f"{time.perf_counter() - started:.1f} s ({engine.dialect.name})")
    from webhooks import create_app

    app = create_app(Runtime(Settings(database_url=url, secret_key="b" * 32), engine, sessions))
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/dashboard/login").get_data(as_text=True))
    assert token is not None
    client.post("/dashboard/login", data={"email": "admin@bench.example",
                                          "password": "bench password",
                                          "csrf_token": token.group(1)})
    rng = random.Random(7)
    pages = {"alert page": ("/dashboard/alerts/{}", alert_ids),
             "tenant page": ("/dashboard/tenants/{}", tenant_ids),
             "queue": ("/dashboard/?x={}", [0])}
    for name, (pattern, ids) in pages.items():
        client.get(pattern.format(ids[0]))  # warm up (templates, caches)
        times = []
        for _ in range(args.requests):
            path = pattern.format(rng.choice(ids))
            t0 = time.perf_counter()
            r = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (path, r.status_code)
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"{name:12} p50 {statistics.median(times):6.1f} ms, p99 {p99:6.1f} ms "
              f"({args.requests} requests, {args.alerts} alerts, {args.tenants} tenants, "
              f"{engine.dialect.name})")


if __name__ == "__main__":
    main()
