"""The dispatcher's achieved send rate against the global cap, with 1 and 3 worker processes.

Real `trygthjem dispatch` processes send queued SMS through the Twilio SDK to Prism (behind a
counting proxy); the rate is taken from what reached the provider, first send to last. Prints one
line per case (figures only, asserts nothing)::

    dispatcher <N> worker(s): <rate>/s at cap <cap>/s (<pct> %)

Usage: python bench/dispatch_rate.py [--db postgresql|sqlite] [--cap 50] [--messages 500]
       [--workers 1 3] [--detail]
"""

from __future__ import annotations

import argparse

from dispatch_support import (
    DEFAULT_PG,
    bench_database,
    enqueue,
    figures,
    provider,
    wait_settled,
    workers,
)

from bot.core.db import make_engine
from bot.core.logs import configure_logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--cap", type=float, default=50.0, help="SMS_RATE_PER_SECOND")
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--detail", action="store_true",
                        help="also print sends, duration and the busiest 1-second window")
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    with bench_database(args.db, args.postgres_url) as url, provider() as proxy:
        engine = make_engine(url)
        for n in args.workers:
            with workers(url, proxy.url, args.cap, n):
                mark = proxy.mark()
                tag = f"rate{n}"
                enqueue(engine, tag, args.messages)
                counts = wait_settled(engine, tag, args.messages,
                                      timeout=60 + 3 * args.messages / args.cap)
            got = figures(proxy.since(mark))
            print(f"dispatcher {n} worker(s): {got.rate:.1f}/s at cap {args.cap:g}/s "
                  f"({100 * got.rate / args.cap:.1f} %)", flush=True)
            if args.detail:
                print(f"  {got.sent} sends reached the provider in {got.seconds:.1f} s; "
                      f"busiest 1-s window {got.max_in_window}; rows {dict(counts)}", flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
