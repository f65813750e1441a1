"""Signed inbound SMS webhook under load: the product next to its raw-driver floor.

Both apps run on gunicorn with the Procfile's web settings (WEB_CONCURRENCY, default 2 sync
workers, access log on) against the same database, one after the other, loaded by `wrk` (16
connections, every request a distinct, correctly signed MessageSid from one of 2,000 tenants, a
mix of check-in answers, free text, call requests and "3"). The floor (bench/webhook_apps.py) does
the same durable steps with the raw driver: store + commit, claim + commit.

    .venv/bin/python bench/webhook_bench.py [--backend both|postgresql|sqlite] [--seconds 10]
        [--connections 16]

Needs `wrk` (Debian: apt-get install wrk). PostgreSQL: a fresh schema on TEST_POSTGRES_URL,
dropped afterwards; SQLite: a temporary file. Prints figures only.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from bench.common import (
    BACKENDS,
    ROOT,
    app_env,
    database,
    figure,
    free_port,
    gunicorn,
    load_line,
    seed_tenants,
    signed_sms,
)
from bot.core.db import make_engine, make_session_factory, upgrade
from bot.ops.heartbeat import beat

BODIES = ("1", "2 lidt træt", "godt 🙂", "1", "Varmen virker ikke", "ring mig", "1", "3")
WRK_THREADS = 2
LUA = ROOT / "bench" / "wrk_signed_sms.lua"
# Fresh messages per app and phase: more than either app can serve in the time given.
MAX_RATE = 4000


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def write_requests(path: Path, base_url: str, phones: list[str], count: int) -> None:
    with path.open("w") as out:
        for i in range(count):
            form, signature = signed_sms(base_url, phones[i % len(phones)],
                                         BODIES[i % len(BODIES)], "SM" + uuid.uuid4().hex)
            out.write(f"{signature}\t{urlencode(form)}\n")


def run_wrk(url: str, requests_file: Path, seconds: float, connections: int) -> Load:
    out = subprocess.run(
        ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
         "--timeout", "10s", "-s", str(LUA), url, "--", str(requests_file), str(WRK_THREADS)],
        check=False, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode:
        raise SystemExit(f"wrk failed: {out.stderr or out.stdout}")
    out = out.stdout
    match = re.search(r"WRK requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) "
                      r"non2xx=(\d+) socket_errors=(\d+)", out)
    if match is None:
        raise SystemExit(f"wrk gave no figures:\n{out}")
    n, duration, p50, p99, non2xx, socket_errors = map(int, match.groups())
    return Load(n, duration / 1e6, p50 / 1000, p99 / 1000, non2xx + socket_errors)


def measure(app: str, db_url: str, phones: list[str], seconds: float, connections: int,
            tmp: Path) -> Load:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = gunicorn(f"webhook_apps:{app}()", app_env(db_url, base), port)
    try:
        warm, main = tmp / f"{app}-warm.txt", tmp / f"{app}.txt"
        write_requests(warm, base, phones, int(MAX_RATE * 2))
        write_requests(main, base, phones, int(MAX_RATE * seconds))
        run_wrk(base, warm, 2, connections)
        return run_wrk(base, main, seconds, connections)
    finally:
        server.stop()


def bench_backend(backend: str, seconds: float, connections: int) -> None:
    with database(backend) as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_session_factory(engine)
        phones = seed_tenants(sessions, 2000)
        floor = measure("floor", url, phones, seconds, connections, Path(tmp))
        stack = measure("stack", url, phones, seconds, connections, Path(tmp))
        with sessions.begin() as session:  # the worker seed_tenants models beats again
            beat(session, "worker", process="bench-worker")
        real = measure("real", url, phones, seconds, connections, Path(tmp))
        with engine.connect() as conn:
            unprocessed = conn.execute(text(
                "SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NULL"
            )).scalar()
        engine.dispose()
    print(f"backend={backend} wrk {connections} connections, {seconds:g} s each")
    for name, load in (("floor", floor), ("stack", stack), ("real", real)):
        print(f"  {name:5} {load.rate:7.0f} req/s  p50 {load.p50_ms:6.1f} ms  "
              f"p99 {load.p99_ms:6.1f} ms  failed {load.failed}")
    ratio, stack_ratio = real.rate / floor.rate, stack.rate / floor.rate
    print(f"  real/floor throughput {ratio:.2f}, stack/floor {stack_ratio:.2f}; "
          f"stored but unprocessed: {unprocessed}", flush=True)
    failed = real.failed + floor.failed + (unprocessed or 0)
    figure("inbound webhook throughput", backend, round(ratio, 2), "x floor", ">= 0.7x",
           ratio >= 0.7 and not failed,
           f"{real.rate:.0f} vs {floor.rate:.0f} req/s; the stack alone (no conversation) "
           f"{stack_ratio:.2f}x")
    if backend == "postgresql":
        goal, ok = "<= 50 ms", real.p99_ms <= 50
    else:
        goal, ok = f"<= 1.5x floor ({1.5 * floor.p99_ms:.0f} ms)", real.p99_ms <= 1.5 * floor.p99_ms
    figure("inbound webhook p99", backend, round(real.p99_ms, 1), "ms", goal, ok and not failed,
           f"floor p99 {floor.p99_ms:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("both", *BACKENDS), default="both")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        for backend in BACKENDS:
            figure("inbound webhook throughput", backend, None, "", ">= 0.7x", None,
                   "n/a: wrk not installed")
        raise SystemExit("wrk not found: apt-get install wrk")
    for backend in BACKENDS if args.backend == "both" else (args.backend,):
        bench_backend(backend, args.seconds, args.connections)
    print(load_line())


if __name__ == "__main__":
    main()
