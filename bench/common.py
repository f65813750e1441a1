"""What the benches share: throw-away databases, seeded tenants, gunicorn as in the Procfile,
signed Twilio forms, and the one figure format `bench/run_all.py` turns into the table.

Benches print figures only; a line ``FIGURE {json}`` is one row of `make bench`'s table.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time as clock_time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.core.db import make_engine  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("postgresql", "sqlite")
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-auth-token"
SERVICE_NUMBER = "+4570103000"
SECRET_KEY = "bench-secret-key-0123456789"
SMS_PATH = "/webhooks/twilio/sms"


def figure(name: str, backend: str, value: float | None, unit: str, goal: str,
           ok: bool | None, floor: str = "") -> None:
    """One row of the `make bench` table (and a readable line for a bench run on its own)."""
    print("FIGURE " + json.dumps(dict(name=name, backend=backend, value=value, unit=unit,
                                      goal=goal, ok=ok, floor=floor)), flush=True)


def load_line() -> str:
    load1, load5, _ = os.getloadavg()
    return f"CPU: {os.cpu_count()} cores; load average {load1:.1f} (1 min), {load5:.1f} (5 min)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def seed_tenants(sessions: sessionmaker[Session], tenants: int) -> list[str]:
    """One municipality, a team on duty around the clock, 20 caseworkers, `tenants` tenants."""
    from bot.models import Caseworker, Consent, Home, Landlord, Organisation, Role, Team, Tenant
    from bot.ops.heartbeat import beat

    with sessions() as s, s.begin():
        org = Organisation(name="Bench Kommune")
        team = Team(organisation=org, name="Bench team", work_start=clock_time(0),
                    work_end=clock_time(23, 59))
        lead = Caseworker(team=team, email="lead@bench.example", name="Lead",
                          phone="+4526000100", role=Role.TEAM_LEAD)
        workers = [Caseworker(team=team, email=f"cw{i}@bench.example", name=f"CW {i}",
                              phone=f"+452601{i:04d}") for i in range(20)]
        landlord = Landlord(email="ll@bench.example", name="LL")
        home = Home(reference="B-1", address="Vollsmose Allé 1", postcode="5240",
                    city="Odense NØ", landlord=landlord)
        people = [Tenant(organisation=org, name=f"Tenant {i}", phone=f"+452800{i:04d}",
                         home=home, caseworker=workers[i % len(workers)],
                         consent=Consent.GIVEN) for i in range(tenants)]
        s.add_all([org, team, lead, *workers, landlord, home, *people])
        s.flush()
        # A worker that beat just now, as in production: replies may say a person was told
        # (bot.ops.heartbeat.sender_running) and take that path, not the "no sender" one.
        beat(s, "worker", process="bench-worker")
        return [t.phone for t in people]


def signed_sms(base_url: str, sender: str, body: str, sid: str) -> tuple[dict[str, str], str]:
    """The form Twilio posts for an inbound SMS, and its X-Twilio-Signature."""
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": sender,
            "To": SERVICE_NUMBER, "Body": body, "NumMedia": "0", "NumSegments": "1",
            "ApiVersion": "2010-04-01"}
    return form, RequestValidator(AUTH_TOKEN).compute_signature(base_url + SMS_PATH, form)


def app_env(db_url: str, public_base: str, **extra: str) -> dict[str, str]:
    """The environment the Procfile's processes get in production, pointed at the bench."""
    return {"DATABASE_URL": db_url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": SERVICE_NUMBER,
            "PUBLIC_BASE_URL": public_base, "LOG_LEVEL": "WARNING", "SECRET_KEY": SECRET_KEY,
            "PYTHONPATH": str(ROOT), **extra}


class Process:
    """A server process in its own process group on 127.0.0.1; stopped with that group."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int | None = None,
                 stdout: int | None = subprocess.DEVNULL,
                 stderr: int | None = subprocess.PIPE, scratch: str | None = None) -> None:
        self.port = port
        self.scratch = scratch  # a directory of the process's own, removed when it stops
        self.proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env},
                                     stdin=subprocess.DEVNULL, stdout=stdout,
                                     stderr=stderr, start_new_session=True)
        if port is not None:
            self.wait_for_port(port)

    def wait_for_port(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode()[-3000:] if self.proc.stderr else ""
                raise RuntimeError(f"{self.proc.args!r} exited:\n{err}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.proc.args!r} did not listen on {port} within {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def gunicorn(app: str, env: dict[str, str], port: int) -> Process:
    """gunicorn with the Procfile's web settings (WEB_CONCURRENCY, default 2 sync workers, and
    Prometheus's multi-process mode in a fresh directory, as the Procfile's web line sets)."""
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    metrics_dir = tempfile.mkdtemp(prefix="trygthjem-bench-metrics-")
    env = {"PROMETHEUS_MULTIPROC_DIR": metrics_dir, **env}
    return Process([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                    "--workers", workers, "--access-logfile", "-", "--log-level", "warning",
                    "--chdir", str(ROOT / "bench"), "--pythonpath", str(ROOT), app],
                   env, port, scratch=metrics_dir)
