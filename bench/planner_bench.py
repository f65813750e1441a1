"""Planner and dispatcher figures on PostgreSQL (prints numbers; asserts nothing about speed).

1. Creates N tenants (default 100,000) in a schema of its own, then times planning and enqueueing
   one Tuesday-10:00 slot for all of them, in a fresh child process so its peak RSS is the
   planner's alone (not the bulk load's).
2. Starts Prism on Twilio's OpenAPI spec and measures the dispatcher's achieved send rate against
   a configured cap (default 20/s over 200 messages), plus the uncapped rate for comparison.

The schema is dropped afterwards. Usage::

    .venv/bin/python bench/planner_bench.py [--tenants 100000] [--batch 500]
        [--messages 200] [--cap 20] [--postgres-url postgresql+psycopg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bench.common import figure  # noqa: E402
from bot.core.db import make_engine, make_session_factory, upgrade  # noqa: E402

DEFAULT_PG = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Tuesday 1 December 2026, 10:00 in Copenhagen: the slot every bench tenant is due at.
SLOT = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Copenhagen")).astimezone(UTC)
PRISM = ROOT / ".emulators" / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "tests" / "emulators" / "twilio_api_v2010.json"
ACCOUNT_SID = "AC" + "0" * 32


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def backend_cpu(engine: Engine, app: str) -> dict[int, float]:
    """CPU seconds (user + system) so far of each PostgreSQL backend whose application_name
    is `app`, read from /proc: the server's work, whatever else the machine runs. Empty when
    the server is not on this machine."""
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = "
                                 ":app"), {"app": app}).scalars().all()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return cpu


# --------------------------------------------------------------------------- data


def create_world(engine: Engine, tenants: int) -> int:
    from bot.models import Caseworker, Organisation, Team, Tenant

    sessions = make_session_factory(engine)
    with sessions() as s, s.begin():
        org = Organisation(name="Bench Kommune")
        team = Team(organisation=org, name="Bench team")
        cw = Caseworker(team=team, email="bench@example.org", name="Bench Caseworker")
        s.add_all([org, team, cw])
        s.flush()
        org_id, cw_id = org.id, cw.id
    created = datetime(2026, 11, 1, tzinfo=UTC)
    chunk = 5000
    for start in range(0, tenants, chunk):
        rows = [dict(organisation_id=org_id, name=f"Lejer {i}", phone=f"+4540{i:06d}",
                     language="da", caseworker_id=cw_id, checkin_weekdays="2",
                     checkin_time=SLOT.astimezone(ZoneInfo("Europe/Copenhagen")).time(),
                     consecutive_misses=0, consent="given", phone_status="ok", active=True,
                     created_at=created)
                for i in range(start, min(tenants, start + chunk))]
        with engine.begin() as conn:
            conn.execute(insert(Tenant), rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return tenants


def plan_in_child(url: str, batch: int, threads: int | None,
                  *, explain: bool = False) -> dict[str, Any]:
    """Run the planner in a fresh interpreter; returns its figures."""
    out = subprocess.run([sys.executable, __file__, "--child-plan", url, "--batch", str(batch),
                          *(["--threads", str(threads)] if threads else []),
                          *(["--explain"] if explain else [])],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


class StatementTimes:
    """Server time per statement from auto_explain (EXPLAIN ANALYZE of every statement the
    planner runs, sent back as notices): calls, total ms, of which foreign-key triggers."""

    # 1 ms: every batch statement, not the foreign-key checks' own per-row queries.
    SETTINGS = ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 1",
                "SET auto_explain.log_analyze = on", "SET auto_explain.log_triggers = on",
                "SET auto_explain.log_format = json", "SET auto_explain.log_level = notice")

    def __init__(self, engine: Engine) -> None:
        self.rows: dict[str, list[float]] = {}
        event.listen(engine, "connect", self.on_connect)
        self.time_copies()

    def time_copies(self) -> None:
        """COPY is not explained: its wall time (rows encoded in Python, inserted by the
        server, foreign keys checked) is counted around the outbox's bulk insert instead."""
        from bot.core import bulk

        inner = bulk._copy_insert
        key = "outbox COPY (wall: Python encoding + server insert + FK checks)"

        def timed(*args: Any, **kwargs: Any) -> None:
            began = time.perf_counter()
            try:
                inner(*args, **kwargs)
            finally:
                row = self.rows.setdefault(key, [0, 0.0, 0.0])
                row[0] += 1
                row[1] += (time.perf_counter() - began) * 1000

        bulk._copy_insert = timed  # type: ignore[assignment]

    def on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        for sql in self.SETTINGS:
            dbapi_conn.execute(sql)
        dbapi_conn.commit()
        dbapi_conn.add_notice_handler(self.on_notice)

    def on_notice(self, diag: Any) -> None:
        message = diag.message_primary or ""
        if not message.startswith("duration:"):
            return
        ms = float(message.split()[1])
        plan = json.loads(message.split("plan:", 1)[1])
        query = " ".join(plan["Query Text"].split())
        key = query[:70] + ("..." if len(query) > 70 else "")
        fk = sum(t.get("Time", 0.0) for t in plan.get("Triggers", []))
        row = self.rows.setdefault(key, [0, 0.0, 0.0])
        row[0] += 1
        row[1] += ms
        row[2] += fk


def child_plan(url: str, batch: int, threads: int | None, explain: bool = False) -> None:
    from bot.checkins import planner
    from bot.core.logs import configure_logging
    from bot.models import OutboxItem

    configure_logging("console", "WARNING")
    app = f"planner_bench_{os.getpid()}"
    engine = make_engine(f"{url}&application_name={app}")
    times = StatementTimes(engine) if explain else None
    sessions = make_session_factory(engine)
    with sessions() as s:  # warm the connection and imports before measuring
        s.execute(select(1))
    baseline = peak_rss_mb()
    server_before = backend_cpu(engine, app)
    cpu_began = time.process_time()
    began = time.perf_counter()
    # The explained run plans the next week's slot (the first run's check-ins are history).
    now = SLOT + timedelta(days=7) if explain else SLOT
    result = planner.plan_checkins(sessions, now=now, batch_size=batch,
                                   **({"threads": threads} if threads else {}))
    seconds = time.perf_counter() - began
    client_cpu = time.process_time() - cpu_began
    server_after = backend_cpu(engine, app)
    server_cpu = (sum(server_after.values()) - sum(server_before.values())
                  if server_after else None)
    with sessions() as s:
        queued = s.scalar(select(func.count()).select_from(OutboxItem))
    print(json.dumps(dict(planned=result.planned, batches=result.batches, seconds=seconds,
                          baseline_rss_mb=baseline, peak_rss_mb=peak_rss_mb(), queued=queued,
                          peak_loaded=result.peak_loaded, client_cpu=client_cpu,
                          threads=getattr(result, "threads", 1),
                          server_cpu=server_cpu, backends=len(server_after),
                          statements=times.rows if times else None)))


# --------------------------------------------------------------------------- dispatcher


class PrismSmsChannel:
    """Bench-local SMS channel: the real Twilio SDK, every request sent to Prism."""

    name: ClassVar[str] = "sms"

    def __init__(self, base_url: str) -> None:
        from twilio.rest import Client

        from bot.channels.twilio.http import RebasedTwilioHttpClient

        http = RebasedTwilioHttpClient(base_url, timeout=10)
        if http.session is not None:
            http.session.trust_env = False
        self.client = Client(ACCOUNT_SID, "bench-token", http_client=http)

    def send(self, message: Any) -> str:
        sent = self.client.messages.create(to=message.recipient, from_="+4570000000",
                                           body=message.body)
        # Prism (static mode) answers every send with the same example SID; Message rows are
        # unique on (channel, provider_id), so make it unique here. Real Twilio SIDs are.
        return f"{sent.sid}-{message.idempotency_key}"


class UniqueSid:
    """Prism (static mode) answers every send with the same example SID; Message rows are
    unique on (channel, provider_id), so suffix it. Real Twilio SIDs are unique."""

    name: ClassVar[str] = "sms"

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def send(self, message: Any) -> str:
        return f"{self.inner.send(message)}-{message.idempotency_key}"


def sms_channel(prism_url: str) -> tuple[Any, str]:
    """The project's TwilioSmsChannel if present, else the bench-local one; both hit Prism."""
    try:
        from bot.channels.twilio.sms import TwilioSmsChannel
        from bot.core.config import TwilioSettings
    except ImportError:
        return PrismSmsChannel(prism_url), "bench-local Twilio SDK channel"
    settings = TwilioSettings(ACCOUNT_SID, "bench-token", "+4570000000", prism_url)
    return UniqueSid(TwilioSmsChannel(settings)), "bot.channels.twilio.sms.TwilioSmsChannel"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_prism() -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    if not PRISM.exists():
        raise SystemExit(f"Prism not found at {PRISM}: run scripts/ensure-test-deps")
    port = free_port()
    proc = subprocess.Popen([str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    probe = f"{url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"Prism exited with code {proc.returncode}")
        try:
            if httpx.get(probe, auth=(ACCOUNT_SID, "x"), timeout=1, trust_env=False).is_success:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit("Prism did not start within 60 s")


def dispatch_rate(engine: Engine, prism_url: str, messages: int, cap: float | None,
                  tag: str) -> tuple[int, float]:
    from bot.core import outbox
    from bot.delivery.dispatcher import Dispatcher

    sessions = make_session_factory(engine)
    with sessions() as s, s.begin():
        for i in range(messages):
            outbox.enqueue(s, channel="sms", recipient=f"+45201{i:05d}", body="Hej, bench",
                           key=f"bench:{tag}:{i}", kind="bench")
    channel, _ = sms_channel(prism_url)
    dispatcher = Dispatcher(sessions, {"sms": channel},
                            rates={"sms": cap} if cap else {})
    began = time.perf_counter()
    stats = dispatcher.run_once()
    return stats.sent, time.perf_counter() - began


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--messages", type=int, default=200,
                        help="dispatcher messages (0: planner only)")
    parser.add_argument("--cap", type=float, default=20.0)
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--threads", type=int, default=None,
                        help="planner threads (default: the planner's own)")
    parser.add_argument("--explain", action="store_true",
                        help="then plan the next week's slot once more under auto_explain and "
                             "print the server time per statement (PostgreSQL superuser)")
    parser.add_argument("--child-plan", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_plan:
        child_plan(args.child_plan, args.batch, args.threads, args.explain)
        return

    from bot.core.logs import configure_logging

    configure_logging("console", "WARNING")  # figures only, not a log line per message
    schema = f"bench_planner_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(args.postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = schema_url(args.postgres_url, schema)
    engine = make_engine(url)
    prism: subprocess.Popen[bytes] | None = None
    try:
        upgrade(engine)
        began = time.perf_counter()
        create_world(engine, args.tenants)
        print(f"created {args.tenants:,} tenants in {time.perf_counter() - began:.1f} s "
              f"(schema {schema})")
        plan = plan_in_child(url, args.batch, args.threads)
        print(f"planner: {plan['planned']:,} check-ins planned and enqueued in "
              f"{plan['seconds']:.1f} s ({plan['planned'] / plan['seconds']:,.0f}/s), "
              f"{plan['batches']} batches of <= {args.batch}, {plan['threads']} thread(s)")
        server = ("n/a" if plan["server_cpu"] is None else
                  f"{plan['server_cpu']:.1f} s in {plan['backends']} backends")
        print(f"planner: CPU (load-independent): client {plan['client_cpu']:.1f} s, "
              f"PostgreSQL {server}")
        print(f"planner: peak RSS {plan['peak_rss_mb']:.0f} MB (process baseline "
              f"{plan['baseline_rss_mb']:.0f} MB before planning; at most "
              f"{plan['peak_loaded']} ORM objects held at once); outbox rows {plan['queued']:,}")
        again = plan_in_child(url, args.batch, args.threads)
        print(f"planner re-run (nothing new due): {again['planned']} planned in "
              f"{again['seconds']:.1f} s")
        if args.explain:
            explained = plan_in_child(url, args.batch, args.threads, explain=True)
            sql_ms = sum(ms for _n, ms, _fk in explained["statements"].values())
            print(f"explained run (next week's slot, EXPLAIN ANALYZE adds its own overhead): "
                  f"{explained['seconds']:.1f} s in {explained['threads']} thread(s), summed "
                  f"below {sql_ms / 1000:.1f} s; client CPU {explained['client_cpu']:.1f} s")
            for query, (calls, ms, fk) in sorted(explained["statements"].items(),
                                                 key=lambda kv: -kv[1][1]):
                print(f"  {ms / 1000:6.2f} s  {int(calls):5d}x  (FK triggers {fk / 1000:.2f} s)  "
                      f"{query}")
        limit = 5.0 if args.tenants <= 100_000 else 60.0
        figure(f"planner: {args.tenants:,} tenants planned + enqueued", "postgresql",
               round(plan["seconds"], 1), "s", f"< {limit:g} s",
               plan["seconds"] < limit and plan["planned"] == args.tenants,
               f"peak RSS {plan['peak_rss_mb']:.0f} MB (baseline "
               f"{plan['baseline_rss_mb']:.0f} MB)")
        if args.messages <= 0:
            return

        with engine.begin() as conn:  # the dispatcher bench starts from an empty outbox
            conn.execute(text("DELETE FROM outbox"))
        prism, prism_url = start_prism()
        print(f"dispatcher channel: {sms_channel(prism_url)[1]}")
        sent, seconds = dispatch_rate(engine, prism_url, args.messages, args.cap, "capped")
        print(f"dispatcher via Prism, cap {args.cap:g}/s: {sent} sent in {seconds:.1f} s = "
              f"{sent / seconds:.1f}/s ({100 * sent / seconds / args.cap:.0f}% of cap)")
        sent, seconds = dispatch_rate(engine, prism_url, args.messages, None, "uncapped")
        print(f"dispatcher via Prism, no cap: {sent} sent in {seconds:.1f} s = "
              f"{sent / seconds:.1f}/s (the headroom above the cap)")
    finally:
        if prism is not None and prism.poll() is None:
            os.killpg(prism.pid, signal.SIGTERM)
            prism.wait(timeout=10)
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
