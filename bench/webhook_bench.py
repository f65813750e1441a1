"""Signed inbound SMS webhook throughput and latency on gunicorn + PostgreSQL, next to a bare
Flask endpoint on the same gunicorn settings, in the same run. Prints both and their ratio.

    .venv/bin/python bench/webhook_bench.py [--requests 2000] [--clients 8] [--workers 4]

Needs PostgreSQL (TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test);
works in a fresh schema that is dropped afterwards. Everything stays on 127.0.0.1, and the run is
bounded: a fixed number of requests, a 10 s timeout per request and a deadline per phase.

Each real request is what Twilio sends: a signed form with a new MessageSid from one of the five
demo tenants, a mix of check-in answers, free text and a call request, so it is stored, parsed,
may raise or fold an alert, and is answered with TwiML.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import text
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.admin.demo_data import TENANTS, load_demo_data  # noqa: E402
from bot.core.db import (  # noqa: E402
    make_engine,
    make_session_factory,
    transaction,
    upgrade,
)

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-auth-token"
FROM_NUMBER = "+4570103000"
BODIES = ("1", "2 lidt træt", "godt 🙂", "1", "Varmen virker ikke", "ring mig", "1", "3")
PHASE_DEADLINE = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self) -> str:
        return (f"  {self.name:<28} {self.rate:8.0f} req/s   p50 {self.pct(50):7.1f} ms   "
                f"p99 {self.pct(99):7.1f} ms   errors {self.errors}")


class Gunicorn:
    """gunicorn on 127.0.0.1 in its own process group; stopped with that group."""

    def __init__(self, app: str, workers: int, env: dict[str, str],
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--worker-class", "sync", "--log-level", "warning",
             "--chdir", str(ROOT / "bench"), "--pythonpath", str(ROOT), app],
            cwd=ROOT, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn {app} exited:\n{self.proc.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gunicorn {app} did not start within 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def signed_form(base: str, i: int) -> tuple[dict[str, str], str]:
    phone = TENANTS[i % len(TENANTS)][1]
    form = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": ACCOUNT_SID, "From": phone,
            "To": FROM_NUMBER, "Body": BODIES[i % len(BODIES)], "NumMedia": "0"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        base + "/webhooks/twilio/sms", form)
    return form, signature


def load(name: str, url: str, public_base: str, total: int, clients: int) -> Result:
    """``total`` signed posts from ``clients`` threads; forms are signed before the clock runs."""
    forms = [signed_form(public_base, i) for i in range(total)]
    latencies: list[float] = []
    failures: list[str] = []
    errors = 0
    lock = threading.Lock()
    next_index = iter(range(total))
    deadline = time.monotonic() + PHASE_DEADLINE

    def worker() -> None:
        nonlocal errors
        with requests.Session() as http:
            http.trust_env = False  # loopback only, never through a proxy
            while time.monotonic() < deadline:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                form, signature = forms[i]
                began = time.perf_counter()
                try:
                    response = http.post(url + "/webhooks/twilio/sms", data=form, timeout=10,
                                         headers={"X-Twilio-Signature": signature})
                    ok = response.status_code == 200 and "<Response" in response.text
                    if not ok and not failures:
                        failures.append(f"HTTP {response.status_code}: {response.text[:300]}")
                except requests.RequestException as exc:
                    ok = False
                    if not failures:
                        failures.append(f"{type(exc).__name__}: {exc}")
                elapsed = time.perf_counter() - began
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print(f"  {name}: first failure: {failures[0]}", file=sys.stderr)
    return Result(name, time.perf_counter() - began, latencies, errors)


def main() -> None:
    from bot.core.logs import configure_logging

    configure_logging("console", "WARNING")  # figures only, not a log line per request
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()

    schema = f"th_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    db_url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    servers: list[Gunicorn] = []
    try:
        engine = make_engine(db_url)
        upgrade(engine)
        with transaction(make_session_factory(engine)) as session:
            load_demo_data(session)
        engine.dispose()

        port = free_port()
        public_base = f"http://127.0.0.1:{port}"
        env = {"DATABASE_URL": db_url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
               "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": FROM_NUMBER,
               "PUBLIC_BASE_URL": public_base, "LOG_LEVEL": "WARNING",
               "SECRET_KEY": "bench-secret-key-0123456789"}
        real = Gunicorn("webhook_apps:real()", args.workers, env, port)
        servers.append(real)
        bare = Gunicorn("webhook_apps:bare()", args.workers, {})
        servers.append(bare)

        results = []
        for name, server in (("real /webhooks/twilio/sms", real), ("bare Flask endpoint", bare)):
            # PUBLIC_BASE_URL is what is signed; the request goes to the server's own port.
            base = public_base if server is real else server.url
            load(name, server.url, base, args.warmup, args.clients)
            results.append(load(name, server.url, base, args.requests, args.clients))

        with make_engine(db_url).connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'in'")
                                  ).scalar()
        real_result, bare_result = results
        print(f"Signed inbound SMS webhook, gunicorn {args.workers} sync workers, "
              f"{args.clients} clients, {args.requests} requests each (+{args.warmup} warm-up), "
              f"PostgreSQL, 127.0.0.1")
        for result in results:
            print(result.line())
        print(f"  inbound messages stored: {stored} (expected {args.requests + args.warmup})")
        if not real_result.latencies or not bare_result.latencies:
            raise SystemExit("no successful requests: see the first failure above")
        ratio = real_result.rate / bare_result.rate
        print(f"  ratio real/bare throughput: {ratio:.3f} (bare is {1 / ratio:.1f}x faster); "
              f"p50 {real_result.pct(50) / bare_result.pct(50):.1f}x, "
              f"p99 {real_result.pct(99) / bare_result.pct(99):.1f}x the bare latency")
        load1, load5, _ = os.getloadavg()
        print(f"  CPU: {os.cpu_count()} cores shared by clients and servers; load average "
              f"{load1:.1f} (1 min), {load5:.1f} (5 min)")
    finally:
        for server in servers:
            server.stop()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
