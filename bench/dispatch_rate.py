"""The dispatcher's achieved send rate against the global cap, with 1 and 3 worker processes.

Real `trygthjem dispatch` processes send queued SMS through the Twilio SDK to Prism (behind a
counting proxy); the rate is taken from what reached the provider, first send to last, and the
busiest 1-second window [t, t + 1) is counted too. Prints, per case, a readable line and a
``FIGURE`` row for `make bench` (figures only, asserts nothing)::

    dispatcher <N> worker(s): <rate>/s at cap <cap>/s (<pct> %)
    FIGURE {"name": "dispatcher at cap, <N> worker(s)", "value": <rate>, "ok": ..., ...}

The verdict is "met" when the rate is within 5 % of the cap and no 1-second window held more
sends than the cap allows ("never above" is judged on the window: a rate taken first to last
can read a hair over the cap from timing jitter alone).

``--latency 200`` holds each message create 200 ms at the proxy before Prism answers (real
Twilio takes ~100-300 ms from Europe): then a dispatcher is only as fast as the sends it keeps in
flight (``--concurrency``: DISPATCH_CONCURRENCY for the workers, else their default).

Usage: python bench/dispatch_rate.py [--db postgresql|sqlite] [--cap 50] [--messages 500]
       [--workers 1 3] [--latency MS] [--concurrency N] [--detail]
"""

from __future__ import annotations

import argparse

from dispatch_support import (
    DEFAULT_PG,
    Figures,
    bench_database,
    enqueue,
    figures,
    provider,
    wait_settled,
    workers,
)

from bench.common import figure, load_line
from bot.core.db import make_engine
from bot.core.logs import configure_logging

GOAL = "within 5 % of the cap, never above"


def verdict(rate: float, busiest: int, cap: float) -> bool:
    """Within 5 % of the cap, and no 1-second window above it."""
    return abs(rate - cap) <= 0.05 * cap and busiest <= cap


def report(n: int, backend: str, cap: float, got: Figures, latency_ms: float = 0) -> None:
    """The readable line and the `make bench` row for one case."""
    slow = f", provider {latency_ms:g} ms" if latency_ms else ""
    print(f"dispatcher {n} worker(s){slow}: {got.rate:.1f}/s at cap {cap:g}/s "
          f"({100 * got.rate / cap:.1f} %)", flush=True)
    ok = verdict(got.rate, got.max_in_window, cap) if got.sent >= 2 else None
    figure(f"dispatcher at cap, {n} worker{'s' if n != 1 else ''}{slow}", backend,
           round(got.rate, 1), f"/s (cap {cap:g}/s)", GOAL, ok,
           f"busiest 1-s window {got.max_in_window} sends vs cap {cap:g} "
           f"({'above' if got.max_in_window > cap else 'never above'}); "
           f"{got.sent} sends in {got.seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--cap", type=float, default=50.0, help="SMS_RATE_PER_SECOND")
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--latency", type=float, default=0.0,
                        help="milliseconds the provider takes to answer each send")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="DISPATCH_CONCURRENCY for the workers (default: theirs)")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--detail", action="store_true",
                        help="also print sends, duration and the busiest 1-second window")
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    extra = {"DISPATCH_CONCURRENCY": str(args.concurrency)} if args.concurrency else {}
    with (bench_database(args.db, args.postgres_url) as url,
          provider(args.latency / 1000) as proxy):
        engine = make_engine(url)
        for n in args.workers:
            with workers(url, proxy.url, args.cap, n, extra):
                mark = proxy.mark()
                tag = f"rate{n}"
                enqueue(engine, tag, args.messages)
                counts = wait_settled(engine, tag, args.messages,
                                      timeout=60 + args.messages * max(3 / args.cap,
                                                                  args.latency / 1000))
            got = figures(proxy.since(mark))
            report(n, args.db, args.cap, got, args.latency)
            if args.detail:
                print(f"  {got.sent} sends reached the provider in {got.seconds:.1f} s; "
                      f"busiest 1-s window {got.max_in_window}; rows {dict(counts)}", flush=True)
        engine.dispose()
    print(load_line())


if __name__ == "__main__":
    main()
