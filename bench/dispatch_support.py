"""What the dispatch benches share: a database of their own, Prism behind a counting proxy, and
real `trygthjem dispatch` worker processes.

The proxy sits between the workers and Prism (TWILIO_API_URL points at it) and records every
message create that reaches it, so duplicates and rates are counted from what the provider got,
not from the database's own account.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import Engine, func, select, text  # noqa: E402

from bot.core import outbox  # noqa: E402
from bot.core.db import make_engine, make_session_factory, upgrade  # noqa: E402
from bot.models import OutboxItem, OutboxStatus  # noqa: E402
from tests.support.emulators import (  # noqa: E402
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    EmulatorProcess,
    start_prism,
)

DEFAULT_PG = os.environ.get("TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FROM_NUMBER = "+4570103000"


# --------------------------------------------------------------------------- database


@contextmanager
def bench_database(kind: str, postgres_url: str = DEFAULT_PG) -> Iterator[str]:
    """A migrated database used only by this run: a PostgreSQL schema or an SQLite file."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="dispatch-bench-") as tmp:
            url = f"sqlite:///{tmp}/bench.sqlite3"
            _upgrade(url)
            yield url
        return
    schema = f"bench_dispatch_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{schema}"
    try:
        _upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _upgrade(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


def enqueue(engine: Engine, tag: str, count: int) -> list[str]:
    """`count` SMS with bodies `tag-i`: the body names the row at the provider."""
    bodies = [f"{tag}-{i:05d}" for i in range(count)]
    with make_session_factory(engine)() as s, s.begin():
        outbox.enqueue_many(s, [dict(channel="sms", recipient=f"+4528{i:06d}", body=body,
                                     key=f"bench:{body}", kind="bench")
                                for i, body in enumerate(bodies)])
    return bodies


def status_counts(engine: Engine, tag: str) -> Counter[str]:
    with make_session_factory(engine)() as s:
        rows = s.execute(select(OutboxItem.status, func.count())
                         .where(OutboxItem.body.like(f"{tag}-%"))
                         .group_by(OutboxItem.status)).all()
    return Counter({status: n for status, n in rows})


def wait_settled(engine: Engine, tag: str, count: int, timeout: float) -> Counter[str]:
    """Wait until every row of `tag` is out of the queue (sent, dead or cancelled)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = status_counts(engine, tag)
        open_rows = counts[OutboxStatus.PENDING] + counts[OutboxStatus.SENDING]
        if (open_rows == 0 and sum(counts.values()) == count) or time.monotonic() > deadline:
            return counts
        time.sleep(0.25)


# --------------------------------------------------------------------------- provider


class CountingProxy:
    """HTTP proxy in front of Prism that records each message create: (time, body)."""

    def __init__(self, upstream: str, latency: float = 0.0) -> None:
        self.upstream = upstream
        self.latency = latency  # seconds each message create is held, like a distant provider
        self.creates: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=30, trust_env=False,
                                    limits=httpx.Limits(max_connections=64))
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the Twilio SDK's requests expects

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and the
                # client's delayed ACK add ~40 ms to every answer.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                self._forward(b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.endswith("/Messages.json"):
                    sms = parse_qs(body.decode()).get("Body", [""])[0]
                    with proxy._lock:
                        proxy.creates.append((time.time(), sms))
                    if proxy.latency:
                        time.sleep(proxy.latency)
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                answer = proxy._client.request(self.command, proxy.upstream + self.path,
                                               content=body, headers=headers)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *_: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, *_: object) -> None:
                pass  # a worker SIGKILLed mid-request drops its connection: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def since(self, started: int) -> list[tuple[float, str]]:
        with self._lock:
            return list(self.creates[started:])

    def mark(self) -> int:
        with self._lock:
            return len(self.creates)

    def close(self) -> None:
        self.server.shutdown()
        self._client.close()


@contextmanager
def provider(latency: float = 0.0) -> Iterator[CountingProxy]:
    """Prism on Twilio's OpenAPI spec (from .emulators/), behind a counting proxy that answers
    each message create `latency` seconds late (real Twilio: ~0.1-0.3 s from Europe)."""
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-prism-") as tmp:
        prism: EmulatorProcess = start_prism(Path(tmp))
        proxy = CountingProxy(prism.url, latency)
        try:
            yield proxy
        finally:
            proxy.close()
            prism.stop()


@dataclass(frozen=True)
class Figures:
    sent: int
    seconds: float
    rate: float  # sends per second, first to last
    max_in_window: int  # most sends in any 1-second window [t, t + 1)


def figures(creates: list[tuple[float, str]]) -> Figures:
    times = sorted(t for t, _ in creates)
    if len(times) < 2:
        return Figures(len(times), 0.0, 0.0, len(times))
    seconds = times[-1] - times[0]
    most, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        most = max(most, i - j + 1)
    return Figures(len(times), seconds, (len(times) - 1) / seconds, most)


# --------------------------------------------------------------------------- workers


class Worker:
    """One `trygthjem dispatch` process (the project's own entry point), output to a file."""

    def __init__(self, db_url: str, proxy_url: str, cap: float, log_dir: Path, n: int,
                 extra_env: dict[str, str] | None = None) -> None:
        self.env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT),
                    "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
                    "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_URL": proxy_url,
                    "SMS_RATE_PER_SECOND": f"{cap:g}", "LOG_FORMAT": "console",
                    "LOG_LEVEL": "WARNING", **(extra_env or {})}
        self.log_path = log_dir / f"worker-{n}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "dispatch", "--poll", "0.2"], cwd=ROOT,
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while b"Dispatcher running" not in self.log_path.read_bytes():
            if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def workers(db_url: str, proxy_url: str, cap: float, n: int,
            extra_env: dict[str, str] | None = None) -> Iterator[list[Worker]]:
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-workers-") as tmp:
        started = [Worker(db_url, proxy_url, cap, Path(tmp), i, extra_env) for i in range(n)]
        try:
            for w in started:
                w.start()
            for w in started:
                w.wait_ready()
            yield started
        finally:
            for w in started:
                w.stop()
