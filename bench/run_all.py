"""`make bench`: run every benchmark and print one table, each figure next to its goal and the
floor it is measured against, PostgreSQL and SQLite.

Each bench is a standalone script (`python bench/NAME.py --help`) that prints readable lines and
``FIGURE {json}`` rows (bench/common.py); this runner collects the rows. Progress goes to
stderr, the table to stdout. Figures are printed, never asserted: the exit code only says whether
every bench ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (script, arguments): the goals, in the order the table shows them.
RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("alert_latency_bench.py", ("--alerts", "40")),
    # The same while 2,000 check-in prompts wait on the number at the default cap (1/s).
    ("alert_latency_bench.py", ("--alerts", "20", "--backlog", "2000", "--rate", "1")),
    ("webhook_bench.py", ()),
    ("planner_bench.py", ("--tenants", "100000", "--messages", "0")),
    ("dashboard_bench.py", ("--alerts", "10000", "--backend", "both")),
    ("dispatch_rate.py", ()),  # 1 and 3 `trygthjem dispatch` workers at the 50/s cap
    # One worker when the provider takes 200 ms a message, as real Twilio does.
    ("dispatch_rate.py", ("--workers", "1", "--latency", "200")),
)
if os.environ.get("BENCH_MILLION"):  # ~1 minute of loading before the planner runs
    RUNS += (("planner_bench.py", ("--tenants", "1000000", "--messages", "0")),)


def run(script: str, args: tuple[str, ...]) -> tuple[list[dict[str, object]], str]:
    """The bench's FIGURE rows, and its last lines (for a bench that failed or has no rows)."""
    path = HERE / script
    if not path.exists():
        return [], "n/a: not present"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    print(f"running {script} {' '.join(args)} ...", file=sys.stderr, flush=True)
    proc = subprocess.run([sys.executable, str(path), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    rows = [json.loads(line[len("FIGURE "):]) for line in proc.stdout.splitlines()
            if line.startswith("FIGURE ")]
    tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
    print(f"  {script}: exit {proc.returncode} after {time.perf_counter() - started:.0f} s",
          file=sys.stderr, flush=True)
    if proc.returncode != 0:
        return rows, f"failed (exit {proc.returncode}): {tail[-200:]}"
    return rows, tail[-200:]


def cell(value: object) -> str:
    return "n/a" if value is None else str(value)


def main() -> int:
    table: list[tuple[str, str, str, str, str, str]] = []
    failed = 0
    for script, args in RUNS:
        rows, note = run(script, args)
        failed += note.startswith("failed")
        if not rows:
            table.append((script.removesuffix(".py"), "-", "n/a", "-", "-", note))
        for r in rows:
            verdict = {True: "met", False: "MISSED", None: "-"}[r.get("ok")]  # type: ignore[index]
            value = f"{cell(r['value'])} {r.get('unit', '')}".strip()
            table.append((str(r["name"]), str(r["backend"]), value, str(r["goal"]), verdict,
                          str(r.get("floor", ""))))
        if rows and note.startswith("failed"):
            table.append((script.removesuffix(".py"), "-", "n/a", "-", "-", note))
    headers = ("figure", "db", "measured", "goal", "", "floor / context")
    widths = [max(len(row[i]) for row in (headers, *table)) for i in range(len(headers))]
    load1, load5, _ = os.getloadavg()
    print(f"\nTrygt Hjem benchmarks ({os.cpu_count()} cores, load average {load1:.1f} / "
          f"{load5:.1f} at the end)")
    for row in (headers, tuple("-" * w for w in widths), *table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
