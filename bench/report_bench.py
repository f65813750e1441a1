"""How long the programme report takes for a year of data.

    .venv/bin/python bench/report_bench.py [--tenants 10000] [--backend both|sqlite|postgresql]

Loads a generated year (tests/support/report_data.py, fixed seed: weekly check-ins, alerts,
concerns, dead letters) into a fresh database, ANALYZEs it, then times `build_report` for the
whole municipality with its teams (12 months), one team, and the rendering as CSV and as HTML
with charts. SQLite: a temporary file. PostgreSQL: a fresh schema on TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped afterwards. Prints figures only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text

from bench.common import database
from bot.core.db import make_engine, make_session_factory, upgrade
from bot.models import Alert, CheckIn
from bot.reports import render
from bot.reports.figures import build_report
from bot.reports.period import make_period
from tests.support.report_data import generate_year


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def bench(backend: str, tenants: int, runs: int) -> None:
    with database(backend) as url:
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_session_factory(engine)
        started = time.perf_counter()
        with sessions() as s:
            gen = generate_year(s, tenants=tenants, seed=2026)
        load = time.perf_counter() - started
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        with sessions() as s:
            checkins = s.scalar(select(func.count()).select_from(CheckIn))
            alerts = s.scalar(select(func.count()).select_from(Alert))
            period = make_period(gen.first, gen.last)
            whole, report = timed(lambda: build_report(s, period, gen.org_id), runs)
            team, _ = timed(lambda: build_report(s, period, gen.org_id, gen.team_ids[0]), runs)
            as_csv, _ = timed(lambda: render.to_csv(report), runs)  # type: ignore[arg-type]
            as_html, _ = timed(lambda: render.to_html(report), runs)  # type: ignore[arg-type]
        print(f"backend={backend} tenants={tenants} checkins={checkins} alerts={alerts} "
              f"load_s={load:.1f}")
        print(f"  report municipality+teams, 12 months: {whole * 1000:.0f} ms (median of {runs})")
        print(f"  report one team, 12 months:           {team * 1000:.0f} ms")
        print(f"  render CSV: {as_csv * 1000:.0f} ms, HTML with charts: {as_html * 1000:.0f} ms")
        engine.dispose()


def main() -> None:
    from bot.core.logs import configure_logging

    configure_logging("console", "WARNING")
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    args = ap.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        bench(backend, args.tenants, args.runs)


if __name__ == "__main__":
    main()
