"""The signed inbound SMS webhook in process, per intent: statements and milliseconds.

Load-independent companion to `bench/webhook_bench.py` (wrk): the production app and the floor
(`bench/webhook_apps.py`) are driven through Flask's test client, one request at a time, with
the same mix of bodies from 800 seeded tenants (each tenant always sends the same body, as in
the wrk bench, so alert bodies raise a case first and join it afterwards). Prints per body:
SQL statements (SQLAlchemy's before_cursor_execute, plus commits) for the first message of a
tenant and for a later one, and the median in-process time per request over many runs.

    .venv/bin/python bench/webhook_profile.py [--backend both|postgresql|sqlite] [--requests 1600]

Statement counts do not depend on the machine's load; milliseconds do (medians, compare runs
made in the same minute). Prints figures only.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.common import BACKENDS, app_env, database, load_line, seed_tenants, signed_sms
from bot.core.db import make_engine, make_session_factory, upgrade

BODIES = ("1", "2 lidt træt", "godt 🙂", "1", "Varmen virker ikke", "ring mig", "1", "3")
BASE = "http://bench.local"
PATH = "/webhooks/twilio/sms"
# A multiple of len(BODIES): each tenant always sends the same body, first once, later again.
TENANTS = 800


class Counting:
    """Statements and commits per labelled request, across every engine in the process."""

    def __init__(self) -> None:
        self.label: str | None = None
        self.statements: Counter[str | None] = Counter()
        self.commits: Counter[str | None] = Counter()
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)

    def _statement(self, *_args: Any) -> None:
        self.statements[self.label] += 1

    def _commit(self, *_args: Any) -> None:
        self.commits[self.label] += 1


def run(backend: str, requests: int) -> None:
    from bench.webhook_apps import floor, framework, real, stack

    with database(backend) as url:
        engine = make_engine(url)
        upgrade(engine)
        phones = seed_tenants(make_session_factory(engine), TENANTS)
        engine.dispose()
        os.environ.update(app_env(url, BASE))
        counting = Counting()
        print(f"backend={backend}, {requests} requests per app after 100 warm-up")
        baseline = 0.0
        for name, factory in (("framework", framework), ("floor", floor), ("stack", stack),
                              ("real", real)):
            client = factory().test_client()
            seen: set[str] = set()
            times: dict[str, list[float]] = defaultdict(list)
            calls: dict[str, cProfile.Profile] = defaultdict(cProfile.Profile)
            profiled_n: Counter[str] = Counter()
            warm = 100
            cpu0 = wall0 = 0.0
            for i in range(warm + requests):
                phone, body = phones[i % len(phones)], BODIES[i % len(BODIES)]
                form, signature = signed_sms(BASE, phone, body, "SM" + uuid.uuid4().hex)
                label = f"{body}|{'later' if phone in seen else 'first'}"
                seen.add(phone)
                if i == warm:
                    counting.statements.clear()
                    counting.commits.clear()
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                counting.label = label if i >= warm else None
                # Every 4th measured request runs under cProfile, only to count Python function
                # calls (a load-independent measure of the work); the others are timed.
                profiled = i >= warm and (i // len(BODIES)) % 4 == 0
                if profiled:
                    calls[label].enable()
                started = time.perf_counter()
                response = client.post(PATH, data=form, base_url=BASE,
                                       headers={"X-Twilio-Signature": signature})
                elapsed = time.perf_counter() - started
                if profiled:
                    calls[label].disable()
                    profiled_n[label] += 1
                elif i >= warm:
                    times[label].append(elapsed)
                if response.status_code != 200:
                    print(f"  {name}: {response.status_code} {response.data[:200]!r}")
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            cpu_ms = cpu / requests * 1000
            if name == "framework":
                baseline = cpu_ms
            print(f"  {name:9} {wall / requests * 1000:6.2f} ms/request wall, "
                  f"{cpu_ms:6.2f} ms/request CPU of this process "
                  f"({cpu_ms - baseline:5.2f} ms above Flask and the test client)")
            if name != "real":
                app_calls = sum(nc for profile in calls.values() for _cc, nc, *_rest in
                                pstats.Stats(profile).stats.values())  # type: ignore[attr-defined]
                print(f"  {name}: {app_calls / sum(profiled_n.values()):.0f} Python calls "
                      "per request")
                continue
            print(f"  {'body':20} {'message':7} {'n':>5} {'statements':>10} {'commits':>8} "
                  f"{'py calls':>9} {'median ms':>10}")
            all_calls = 0
            for label in sorted(times, key=lambda k: (BODIES.index(k.split('|')[0]), k)):
                n = len(times[label]) + profiled_n[label]
                body, which = label.split("|")
                label_calls = (sum(nc for _cc, nc, *_rest in
                                   pstats.Stats(calls[label]).stats.values())  # type: ignore[attr-defined]
                               if profiled_n[label] else 0)
                all_calls += label_calls
                per_call = label_calls / profiled_n[label] if profiled_n[label] else float("nan")
                print(f"  {body!r:20} {which:7} {n:5} {counting.statements[label] / n:10.1f} "
                      f"{counting.commits[label] / n:8.1f} {per_call:9.0f} "
                      f"{statistics.median(times[label]) * 1000:10.2f}")
            total = sum(counting.statements.values())
            print(f"  mix: {total / requests:.2f} statements, "
                  f"{all_calls / sum(profiled_n.values()):.0f} Python calls per request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("both", *BACKENDS), default="both")
    parser.add_argument("--requests", type=int, default=1600)
    args = parser.parse_args()
    for backend in BACKENDS if args.backend == "both" else (args.backend,):
        run(backend, args.requests)
    print(load_line())


if __name__ == "__main__":
    main()
