"""Bench: how fast the Telegram bot handles updates (real Application, handlers and database
persistence; the Bot API is the in-process LocalBotRequest, so Telegram's latency is left out).

    .venv/bin/python bench/telegram_bot_bench.py [--landlords 20] [--database-url URL]

Prints per-update latency (p50/p95/max) and updates per second for complete concern reports
(start, 3 buttons, description, skip photo, confirm) by many landlords, one process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import Update
from telegram.ext import ApplicationBuilder

from bot.core.db import make_engine, make_session_factory, upgrade
from bot.models import Home, Landlord
from bot.telegram_bot import configure
from bot.telegram_bot.local import LocalBotRequest
from tests.support.telegram_updates import callback, message


def main() -> None:
    from bot.core.logs import configure_logging

    configure_logging("console", "WARNING")  # figures only, not a log line per request
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landlords", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    homes: list[tuple[int, int]] = []
    with sessions() as session:
        stamp = int(time.time())
        for i in range(args.landlords):
            landlord = Landlord(email=f"bench{stamp}-{i}@example.org", name=f"L{i}",
                                telegram_user_id=stamp * 1000 + i,
                                telegram_chat_id=stamp * 1000 + i)
            home = Home(reference=f"B{stamp}-{i}", address=f"Benchvej {i}", postcode="5000",
                        city="Odense", landlord=landlord)
            session.add_all([landlord, home])
            session.flush()
            homes.append((landlord.telegram_user_id or 0, home.id))
        session.commit()
    builder = ApplicationBuilder().token("1:bench").request(LocalBotRequest()) \
        .get_updates_request(LocalBotRequest())
    application = configure(builder, sessions)
    latencies: list[float] = []

    async def run() -> float:
        async with application:
            began = time.perf_counter()
            for user, home_id in homes:
                for update in (message(user, "/concern"), callback(user, f"c:home:{home_id}"),
                               callback(user, "c:cat:noise"), callback(user, "c:urg:this_week"),
                               message(user, "Larm om natten"), callback(user, "c:skip"),
                               callback(user, "c:confirm")):
                    start = time.perf_counter()
                    await application.process_update(Update.de_json(update, application.bot))
                    latencies.append(time.perf_counter() - start)
            return time.perf_counter() - began

    total = asyncio.run(run())
    ms = sorted(x * 1000 for x in latencies)
    backend = url.split(":", 1)[0]
    print(f"telegram bot ({backend}): {len(ms)} updates, {len(homes)} concern reports in "
          f"{total:.2f} s = {len(ms) / total:.0f} updates/s; per update p50 "
          f"{statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms, "
          f"max {ms[-1]:.1f} ms")


if __name__ == "__main__":
    main()
