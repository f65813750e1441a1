"""Alert latency as a person feels it: a tenant's "3" -> the caseworker's first message handed
to the provider, with the real processes.

* PostgreSQL: the Procfile's `web` (gunicorn, its settings) and `worker` (`trygthjem worker`) as
  separate processes. The bench plays Twilio on both sides: it posts the tenant's signed SMS to
  the web process and is the SMS API the worker sends to (TWILIO_API_URL); the clock stops when
  the caseworker's SMS arrives there.
* SQLite: `trygthjem demo` (web and worker in one process, console channels); the clock stops
  when the demo prints the caseworker's message.

Each trial is a different tenant (so nothing folds into an open alert), one at a time with a
short random pause. The worker's polling is left at its production interval (5 s): any figure
under that is the wake-up at work.

`--backlog N` (PostgreSQL) first queues N check-in prompts on the same sending number, as the
planner does at 10:00, and runs the worker at the production default cap (SMS_RATE_PER_SECOND=1):
the alert must overtake them. Its floor is the cap's spacing: the send slot in progress.

    .venv/bin/python bench/alert_latency_bench.py [--alerts 40] [--backend both|postgresql|sqlite]
        [--backlog 0] [--rate 1]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import requests
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    AUTH_TOKEN,
    BACKENDS,
    SECRET_KEY,
    SMS_PATH,
    Process,
    app_env,
    database,
    figure,
    free_port,
    gunicorn,
    load_line,
    seed_tenants,
    signed_sms,
)
from bot.core import outbox
from bot.core.db import make_engine, make_session_factory, upgrade
from bot.models.enums import OutboxKind
from webhooks.twilio import demo_auth_token

GOAL_MS = 1000.0


class Arrivals:
    """Recipients and when their first message reached the provider (perf_counter)."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.changed = threading.Condition()

    def note(self, recipient: str) -> None:
        at = time.perf_counter()
        with self.changed:
            self.first.setdefault(recipient, at)
            self.changed.notify_all()

    def wait_for(self, recipients: set[str], since: float, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        with self.changed:
            while True:
                hits = [at for r, at in self.first.items() if r in recipients and at >= since]
                if hits:
                    return min(hits)
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.changed.wait(left)

    def forget(self, recipients: set[str]) -> None:
        with self.changed:
            for r in recipients:
                self.first.pop(r, None)


def fake_twilio(arrivals: Arrivals) -> tuple[ThreadingHTTPServer, str]:
    """Twilio's Messages API as far as the SDK needs it: notes the `To` of each send."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            arrivals.note(form["To"][0])
            body = json.dumps({"sid": "SM" + uuid.uuid4().hex, "status": "queued",
                               "to": form["To"][0], "body": form.get("Body", [""])[0]}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def trials(post: Callable[[str, int], None], staff_of: Callable[[int], set[str]],
           arrivals: Arrivals, phones: list[str], alerts: int) -> list[float]:
    # One warm-up trial, not counted: the processes' start-up (imports, first connections,
    # LISTEN) is not what a tenant meets in the middle of the day.
    latencies: list[float] = []
    for n in [alerts, *range(alerts)]:
        staff = staff_of(n)
        arrivals.forget(staff)
        time.sleep(random.uniform(0.1, 0.4))  # independent trials, not one burst
        started = time.perf_counter()
        post(phones[n], n)
        arrived = arrivals.wait_for(staff, started, timeout=30)
        if arrived is None:
            raise SystemExit(f"no caseworker message within 30 s for tenant {phones[n]}")
        latencies.append((arrived - started) * 1000)
    return latencies[1:]


def poster(base: str, token: str = AUTH_TOKEN) -> Callable[[str, int], None]:
    """Posts tenant `phone`'s "3" as Twilio would, signed with `token`."""
    http = requests.Session()
    http.trust_env = False  # loopback only

    def post(phone: str, _n: int) -> None:
        form, _ = signed_sms(base, phone, "3", f"SM{uuid.uuid4().hex}")
        signature = RequestValidator(token).compute_signature(base + SMS_PATH, form)
        response = http.post(base + SMS_PATH, data=form, timeout=10,
                             headers={"X-Twilio-Signature": signature})
        if response.status_code != 200 or "<Message>" not in response.text:
            raise SystemExit(f"webhook answered {response.status_code}: {response.text[:300]}")

    return post


def staff_numbers(n: int) -> set[str]:
    """seed_tenants gives tenant n caseworker n % 20; escalation may also reach the lead."""
    return {f"+452601{n % 20:04d}", "+4526000100",
            f"cw{n % 20}@bench.example", "lead@bench.example"}


def queue_checkins(sessions: sessionmaker[Session], count: int) -> None:
    """`count` check-in prompts due now on the service number (to numbers nobody watches)."""
    with sessions() as s, s.begin():
        outbox.enqueue_many(s, [dict(channel="sms", recipient=f"+452890{i:04d}", body="Hej",
                                     key=f"bench-checkin-{i}", kind=OutboxKind.CHECKIN)
                                for i in range(count)])


def postgres(alerts: int, backlog: int = 0, rate: float = 100) -> list[float]:
    arrivals = Arrivals()
    provider, provider_url = fake_twilio(arrivals)
    with database("postgresql") as url:
        engine = make_engine(url)
        upgrade(engine)
        phones = seed_tenants(make_session_factory(engine), alerts + 1)
        queue_checkins(make_session_factory(engine), backlog)
        engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = app_env(url, base, TWILIO_API_URL=provider_url, SMS_RATE_PER_SECOND=f"{rate:g}")
        web = gunicorn("webhook_apps:real()", env, port)
        worker = Process([sys.executable, "-m", "bot.cli", "worker"], env)
        try:
            return trials(poster(base), staff_numbers, arrivals, phones, alerts)
        except SystemExit:
            worker.stop()
            assert worker.proc.stderr is not None
            print(worker.proc.stderr.read().decode()[-3000:], file=sys.stderr)
            raise
        finally:
            worker.stop()
            web.stop()
            provider.shutdown()


def sqlite_demo(alerts: int) -> list[float]:
    arrivals = Arrivals()
    with database("sqlite") as url:
        engine = make_engine(url)
        upgrade(engine)
        phones = seed_tenants(make_session_factory(engine), alerts + 1)
        engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        demo = Process([sys.executable, "-m", "bot.cli", "demo", "--port", str(port),
                        "--db-file", url.split("///", 1)[1]],
                       {"SECRET_KEY": SECRET_KEY, "LOG_LEVEL": "WARNING",
                        "PYTHONPATH": app_env(url, base)["PYTHONPATH"]},
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # request log

        def read_console() -> None:  # "[sms -> +4521000003] ..." is a message handed over
            assert demo.proc.stdout is not None
            for raw in demo.proc.stdout:
                line = raw.decode(errors="replace")
                if line.startswith("[") and " -> " in line:
                    arrivals.note(line.split(" -> ", 1)[1].split("]", 1)[0])

        threading.Thread(target=read_console, daemon=True).start()
        try:
            demo.wait_for_port(port)
            post = poster(base, demo_auth_token(SECRET_KEY))  # demo mode's own token
            return trials(post, staff_numbers, arrivals, phones, alerts)
        finally:
            demo.stop()


def report(backend: str, setup: str, latencies: list[float],
           name: str = "alert latency p99 (tenant '3' -> caseworker message)",
           floor: str = "poll interval 5000 ms") -> None:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    p99 = cuts[98]
    print(f"backend={backend} ({setup}) alerts={len(latencies)}: p50 {cuts[49]:.0f} ms, "
          f"p99 {p99:.0f} ms, max {max(latencies):.0f} ms", flush=True)
    figure(name, backend, round(p99), "ms", "< 1000 ms", p99 < GOAL_MS, f"{floor}; {setup}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=40)
    parser.add_argument("--backend", choices=("both", *BACKENDS), default="both")
    parser.add_argument("--backlog", type=int, default=0,
                        help="check-in prompts queued first (PostgreSQL only)")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="SMS_RATE_PER_SECOND with --backlog (production default 1)")
    args = parser.parse_args()
    if args.backlog:
        report("postgresql", f"{args.backlog} check-ins queued, cap {args.rate:g}/s",
               postgres(args.alerts, args.backlog, args.rate),
               name="alert latency p99 during a check-in burst",
               floor=f"next send slot at the cap: {1000 / args.rate:.0f} ms")
    elif args.backend in ("both", "postgresql"):
        report("postgresql", "gunicorn web + worker processes", postgres(args.alerts))
    if args.backend in ("both", "sqlite") and not args.backlog:
        report("sqlite", "trygthjem demo, one process", sqlite_demo(args.alerts))
    print(load_line())


if __name__ == "__main__":
    main()
