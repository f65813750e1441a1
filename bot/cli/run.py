"""The long-running processes (web, worker, bot) and the one-machine demo."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click

from bot.cli.common import (
    DEMO_DB,
    DEMO_LOGIN,
    DEMO_PASSWORD,
    build_process_runtime,
    guard,
    main,
    require_schema,
    settings_from_env,
)
from bot.cli.telegram import require_telegram


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def web(host: str, port: int) -> None:
    """Run the web app with Flask's development server (production: gunicorn, see Procfile)."""
    from webhooks import create_app

    app = create_app(build_process_runtime(settings_from_env()))
    app.run(host=host, port=port)


@main.command()
@click.option("--once", is_flag=True, help="Run every job once and exit (cron-style hosting).")
def worker(once: bool) -> None:
    """Run the scheduler: check-ins, reminders, escalation timers, outbox delivery."""
    from scheduler.runner import build_scheduler, run_once

    runtime = build_process_runtime(settings_from_env())
    if once:
        results = guard(lambda: run_once(runtime))
        for name, result in results.items():
            click.echo(f"{name}: {result or 'nothing due'}")
        return
    click.echo("Worker running; press Ctrl+C to stop.", err=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        build_scheduler(runtime, background=False).start()


@main.command()
@click.option("--once", is_flag=True, required=True, help="Send what is due now, then exit.")
def dispatch(once: bool) -> None:
    """Deliver due outbox messages (the worker does this continuously)."""
    from scheduler.jobs import dispatch_outbox

    stats = guard(lambda: dispatch_outbox(build_process_runtime(settings_from_env())))
    click.echo(f"sent {stats.sent}, retried {stats.retried}, dead {stats.dead}, "
               f"cancelled {stats.cancelled}" if stats else "nothing due")



@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--db-file", default=DEMO_DB, show_default=True, type=click.Path(dir_okay=False),
              help="SQLite file for the demo (created if missing).")
def demo(port: int, db_file: str) -> None:
    """Run everything on this machine: SQLite, console channels, worker and web app."""
    from bot.admin.demo_data import load_demo_data
    from bot.core.db import transaction, upgrade
    from scheduler.runner import build_scheduler
    from webhooks import create_app

    settings = settings_from_env({
        "DATABASE_URL": f"sqlite:///{Path(db_file).resolve()}",
        "CONSOLE_CHANNELS": "1",
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "console"),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}"),
    })
    runtime = build_process_runtime(settings)
    click.echo(f"Preparing demo database {db_file} ...")
    upgrade(runtime.engine)
    with transaction(runtime.sessions) as session:
        created = load_demo_data(session, password=DEMO_PASSWORD, settings=settings)
    click.echo("Loaded the Odense demo data (5 homes, 5 tenants)." if created
               else "Demo data already present.")
    scheduler = build_scheduler(runtime, background=True)
    scheduler.start()
    base = f"http://127.0.0.1:{port}"
    click.echo(f"\nTrygt Hjem demo is running.\n  Web app:  {base}/\n  Health:   {base}/healthz\n"
               f"  Dashboard: {base}/dashboard/  (log in as {DEMO_LOGIN} or any demo "
               f"caseworker, password: {DEMO_PASSWORD})\n"
               f"  Phone:    {base}/demo/phone  (text the service as a demo tenant)\n"
               f"  Telegram: {base}/demo/telegram (simulator: be the demo landlord)\n"
               "Outgoing messages are printed here instead of being sent.\n"
               "Stop with Ctrl+C.\n")
    app = create_app(runtime)
    try:
        app.run(host="127.0.0.1", port=port, use_reloader=False)
    finally:
        scheduler.shutdown(wait=False)



@main.command("bot")
def bot_polling() -> None:
    """Run the Telegram bot by polling (development; production uses the webhook)."""
    from bot.telegram_bot import build_application

    runtime = build_process_runtime(settings_from_env())
    telegram_settings = require_telegram(runtime.settings)
    guard(lambda: require_schema(runtime.engine))
    application = build_application(runtime.sessions, telegram_settings.bot_token,
                                    telegram_settings.api_url)
    click.echo("Telegram bot polling; press Ctrl+C to stop.", err=True)
    # run_polling removes a webhook first; Telegram sends updates to one or the other.
    application.run_polling(allowed_updates=["message", "callback_query"])
