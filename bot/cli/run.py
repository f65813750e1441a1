"""The long-running processes (web, worker, bot) and the one-machine demo."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

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
    from bot.alerts.routing import blind_problem
    from scheduler.runner import build_fast_lane, build_scheduler, run_once

    settings = settings_from_env()
    problem = blind_problem(settings)
    if problem is not None:  # escalating to nobody, silently, is worse than not running
        raise click.ClickException(f"the worker will not start: {problem}.")
    runtime = build_process_runtime(settings)
    if once:
        results = guard(lambda: run_once(runtime))
        for name, result in results.items():
            click.echo(f"{name}: {result or 'nothing due'}")
        return
    if runtime.settings.metrics_port:
        from bot.ops.exposition import serve_worker_metrics

        serve_worker_metrics(runtime.settings.metrics_port, runtime.settings.metrics_token)
        click.echo(f"Metrics on port {runtime.settings.metrics_port} (/metrics).", err=True)
    click.echo("Worker running; press Ctrl+C to stop.", err=True)
    fast_lane = build_fast_lane(runtime)  # alerts and replies at once, not at the next poll
    fast_lane.start()
    try:
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            build_scheduler(runtime, background=False).start()
    finally:
        fast_lane.stop()


@main.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--poll", default=1.0, show_default=True, type=click.FloatRange(0.05, 60),
              help="Seconds between looks at an empty outbox.")
def dispatch(once: bool, poll: float) -> None:
    """Deliver due outbox messages (the worker does this too); without --once, until stopped.

    Any number of dispatch processes and workers share the send-rate caps through the database.
    SIGTERM or Ctrl+C stops after the message in hand; rows claimed but not sent are released.
    """
    from bot.alerts.routing import blind_problem
    from bot.ops.heartbeat import keep_beating
    from scheduler.jobs import build_dispatcher, dispatch_outbox

    settings = settings_from_env()
    problem = blind_problem(settings)
    if problem is not None:  # every row would be dead-lettered: say so instead of starting
        raise click.ClickException(f"the dispatcher will not start: {problem}.")
    runtime = build_process_runtime(settings)
    if once:
        stats = guard(lambda: dispatch_outbox(runtime))
        click.echo(f"sent {stats.sent}, retried {stats.retried}, dead {stats.dead}, "
                   f"cancelled {stats.cancelled}" if stats else "nothing due")
        return
    guard(lambda: require_schema(runtime.engine))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # Replies say "your caseworker has been told" only while some sender beats.
    keep_beating(runtime.sessions, "dispatcher", stop)
    click.echo("Dispatcher running; press Ctrl+C to stop.", err=True)
    build_dispatcher(runtime).run_until(stop, poll=poll)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # `kill`, a service manager or a test stopping the demo: leave through the same `finally`
    # as Ctrl+C (scheduler stopped, database closed), not mid-write.
    sys.exit(0)


def _remove_demo_database(db_file: str) -> None:
    """The SQLite file and its write-ahead log, shared memory, journal and writer-queue lock."""
    for suffix in ("", "-wal", "-shm", "-journal", "-writers.lock"):
        Path(db_file + suffix).unlink(missing_ok=True)


@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--db-file", default=DEMO_DB, show_default=True, type=click.Path(dir_okay=False),
              help="SQLite file for the demo (created if missing).")
@click.option("--reset", is_flag=True,
              help="Delete the demo database first: start again with fresh demo data.")
def demo(port: int, db_file: str, reset: bool) -> None:
    """Run everything on this machine: SQLite, console channels, worker and web app.

    Stops cleanly on Ctrl+C and on SIGTERM."""
    from bot.admin.demo_data import load_demo_data
    from bot.core.db import transaction, upgrade
    from scheduler.runner import build_fast_lane, build_scheduler
    from webhooks import create_app

    settings = settings_from_env({
        "DATABASE_URL": f"sqlite:///{Path(db_file).resolve()}",
        "CONSOLE_CHANNELS": "1",
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "console"),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}"),
    })
    if reset:
        _remove_demo_database(db_file)
        click.echo(f"Removed {db_file}: starting with fresh demo data.")
    runtime = build_process_runtime(settings)
    click.echo(f"Preparing demo database {db_file} ...")
    upgrade(runtime.engine)
    with transaction(runtime.sessions) as session:
        created = load_demo_data(session, password=DEMO_PASSWORD, settings=settings)
    click.echo("Loaded the Odense demo data (5 homes, 5 tenants)." if created
               else "Demo data already present.")
    scheduler = build_scheduler(runtime, background=True)
    scheduler.start()
    fast_lane = build_fast_lane(runtime)  # the web app's commits wake it in-process
    fast_lane.start()
    base = f"http://127.0.0.1:{port}"
    click.echo(f"\nTrygt Hjem demo is running.\n  Web app:  {base}/\n  Health:   {base}/healthz\n"
               f"  Dashboard: {base}/dashboard/  (log in as {DEMO_LOGIN} or any demo "
               f"caseworker, password: {DEMO_PASSWORD})\n"
               f"  Phone:    {base}/demo/phone  (text the service as a demo tenant)\n"
               f"  Telegram: {base}/demo/telegram (simulator: be the demo landlord)\n"
               "Outgoing messages are printed here instead of being sent.\n"
               "Stop with Ctrl+C. Start afresh with `trygthjem demo --reset`.\n")
    app = create_app(runtime)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            app.run(host="127.0.0.1", port=port, use_reloader=False)
    finally:
        fast_lane.stop(timeout=1.0)
        scheduler.shutdown(wait=False)
        runtime.engine.dispose()
        click.echo("Trygt Hjem demo stopped.")



@main.command("bot")
def bot_polling() -> None:
    """Run the Telegram bot by polling (development; production uses the webhook)."""
    from bot.telegram_bot import build_application
    from bot.telegram_bot.heartbeat import install_heartbeat

    runtime = build_process_runtime(settings_from_env())
    telegram_settings = require_telegram(runtime.settings)
    guard(lambda: require_schema(runtime.engine))
    application = build_application(runtime.sessions, telegram_settings.bot_token,
                                    telegram_settings.api_url, runtime.delivery)
    install_heartbeat(application, runtime.sessions)  # read by status, /metrics, the banner
    click.echo("Telegram bot polling; press Ctrl+C to stop.", err=True)
    # run_polling removes a webhook first; Telegram sends updates to one or the other.
    application.run_polling(allowed_updates=["message", "callback_query"])
