"""Chaos run for exactly-once dispatch on PostgreSQL (prints figures; asserts nothing).

Three real `trygthjem dispatch` processes send queued SMS through the Twilio SDK to Prism behind
a counting proxy, at one global cap (SMS_RATE_PER_SECOND, shared through the database).

Phase 1, no crash: N SMS -> duplicates at the provider (goal 0) and the aggregate rate against
the cap (goal within 5 %, never above: also the busiest 1-second window).
Phase 2, SIGKILLs: N more SMS while random workers are killed at random moments and restarted
-> lost (goal 0) and duplicates (goal at most one per kill: only a message in flight at the kill
can go twice, after its lease runs out).

Usage: python bench/dispatch_chaos.py [--messages 2000] [--cap 50] [--kills 10] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from dispatch_support import (
    DEFAULT_PG,
    CountingProxy,
    Worker,
    bench_database,
    enqueue,
    figures,
    provider,
    wait_settled,
    workers,
)

from bot.core.db import make_engine
from bot.core.logs import configure_logging
from bot.core.outbox import DEFAULT_LEASE


def provider_counts(proxy: CountingProxy, mark: int, tag: str) -> Counter[str]:
    return Counter(body for _, body in proxy.since(mark) if body.startswith(f"{tag}-"))


def report(name: str, bodies: list[str], got: Counter[str], rows: Counter[str]) -> None:
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    lost = sum(1 for body in bodies if not got[body])
    print(f"{name}: {len(bodies)} queued, {sum(got.values())} sends reached the provider, "
          f"{len(got)} distinct; lost {lost}, duplicates {duplicates}; rows {dict(rows)}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--cap", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    configure_logging("console", "WARNING")
    expected = args.messages / args.cap
    settle = 120 + 3 * expected + DEFAULT_LEASE.total_seconds()
    with bench_database("postgresql", args.postgres_url) as url, provider() as proxy:
        engine = make_engine(url)
        with workers(url, proxy.url, args.cap, args.workers) as procs:
            # Phase 1: no crash.
            mark = proxy.mark()
            bodies = enqueue(engine, "calm", args.messages)
            rows = wait_settled(engine, "calm", args.messages, timeout=settle)
            got = provider_counts(proxy, mark, "calm")
            report("phase 1 (no crash)", bodies, got, rows)
            fig = figures(proxy.since(mark))
            print(f"phase 1 rate: {fig.rate:.1f}/s at cap {args.cap:g}/s "
                  f"({100 * fig.rate / args.cap:.1f} %), busiest 1-s window {fig.max_in_window} "
                  f"sends, {fig.sent} sends in {fig.seconds:.1f} s", flush=True)

            # Phase 2: SIGKILL random workers at random moments while they send; restart each.
            mark = proxy.mark()
            bodies = enqueue(engine, "chaos", args.messages)
            began = time.monotonic()
            moments = sorted(rng.uniform(0.05, 0.9) * expected for _ in range(args.kills))
            for at in moments:
                time.sleep(max(0.0, began + at - time.monotonic()))
                victim: Worker = rng.choice(procs)
                victim.kill()
                victim.start()
                print(f"  killed a worker at {time.monotonic() - began:.1f} s, restarted",
                      flush=True)
            rows = wait_settled(engine, "chaos", args.messages, timeout=settle)
            got = provider_counts(proxy, mark, "chaos")
            report(f"phase 2 ({args.kills} SIGKILLs)", bodies, got, rows)
            fig = figures(proxy.since(mark))
            print(f"phase 2 took {time.monotonic() - began:.1f} s (killed workers' rows wait "
                  f"for their lease, {DEFAULT_LEASE.total_seconds():.0f} s after their slot); "
                  f"busiest 1-s window {fig.max_in_window} sends at cap {args.cap:g}/s",
                  flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
