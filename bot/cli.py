"""The `trygthjem` command line.

This is a composition root: it may import the Flask app and the scheduler (lazily, inside the
commands), which the rest of `bot/` never does.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bot.config import ConfigError, Settings, load_settings
from bot.db import DatabaseUnavailable

DEMO_DB = "trygthjem-demo.sqlite3"
# Demo-only credentials, set by `trygthjem demo` on its own SQLite file; never in real data.
DEMO_PASSWORD = "demo"
DEMO_LOGIN = "mette.holm@odense.example"


def _settings(env_overrides: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ)
    env.update(env_overrides or {})
    try:
        return load_settings(env)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _runtime(settings: Settings) -> Any:
    from bot.logs import configure_logging
    from bot.runtime import build_runtime

    configure_logging(settings.log_format, settings.log_level)
    return build_runtime(settings)


def _guard(fn: Callable[[], Any]) -> Any:
    """Turn expected operational failures into one clear line and a non-zero exit."""
    try:
        return fn()
    except DatabaseUnavailable as exc:
        raise click.ClickException(f"{exc}. Check DATABASE_URL.") from None


class _Main(click.Group):
    """Any command: a database that cannot be reached or read is one clear line, not a
    traceback (e.g. DATABASE_URL pointing at a file that is not a database)."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError

        try:
            return super().invoke(ctx)
        except DatabaseUnavailable as exc:
            raise click.ClickException(f"{exc}. Check DATABASE_URL.") from None
        except DBAPIError as exc:
            reason = str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
            raise click.ClickException(f"the database refused: {reason}. Check DATABASE_URL "
                                       "and that `trygthjem db upgrade` ran.") from None


@click.group(cls=_Main,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="trygthjem")
def main() -> None:
    """Trygt Hjem: SMS check-ins for tenants, a Telegram bot for landlords, alerts for
    caseworkers.

    Configuration comes from environment variables (see README.md); without DATABASE_URL an
    SQLite file in the current directory is used.
    """


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target migration.")
def db_upgrade(revision: str) -> None:
    """Apply migrations (safe to run on every release)."""
    from bot.db import current_revision, make_engine, upgrade

    settings = _settings()
    engine = make_engine(settings.database_url)
    _guard(lambda: upgrade(engine, revision))
    click.echo(f"Database at migration {current_revision(engine)}.")


@db.command("current")
def db_current() -> None:
    """Show the database's migration and the newest one."""
    from bot.db import current_revision, head_revision, make_engine

    engine = make_engine(_settings().database_url)
    current = _guard(lambda: current_revision(engine))
    click.echo(f"current: {current or '(empty database)'}\nnewest:  {head_revision(engine)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def web(host: str, port: int) -> None:
    """Run the web app with Flask's development server (production: gunicorn, see Procfile)."""
    from webhooks import create_app

    app = create_app(_runtime(_settings()))
    app.run(host=host, port=port)


@main.command()
@click.option("--once", is_flag=True, help="Run every job once and exit (cron-style hosting).")
def worker(once: bool) -> None:
    """Run the scheduler: check-ins, reminders, escalation timers, outbox delivery."""
    from scheduler.runner import build_scheduler, run_once

    runtime = _runtime(_settings())
    if once:
        results = _guard(lambda: run_once(runtime))
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

    stats = _guard(lambda: dispatch_outbox(_runtime(_settings())))
    click.echo(f"sent {stats.sent}, retried {stats.retried}, dead {stats.dead}, "
               f"cancelled {stats.cancelled}" if stats else "nothing due")


@main.command("import")
@click.argument("kind", type=click.Choice(["caseworkers", "landlords", "homes", "tenants"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True,
              help="Write the valid rows even when some rows are bad (they are listed).")
@click.option("--organisation", metavar="NAME",
              help="Municipality the rows belong to (created if new; default: the only one).")
def import_(kind: str, file: Path, skip_invalid: bool, organisation: str | None) -> None:
    """Import KIND from a CSV file (comma or semicolon, UTF-8 with or without BOM).

    \b
    Columns:
      caseworkers  email,name,phone,team,role        (role: caseworker, team_lead, admin)
      landlords    email,name,company,phone
      homes        reference,address,postcode,city,landlord_email
      tenants      name,phone,language,home_reference,caseworker_email,
                   checkin_weekday,checkin_time
    Every row is checked first; nothing is written if any row is bad, unless --skip-invalid.
    Importing the same file again changes nothing.
    """
    from tqdm import tqdm

    from bot.importer import ImportFileError, import_csv

    sessions = _sessions()

    def progress(rows: Any) -> Any:
        # Only worth a bar on big files; it goes to stderr so stdout stays parseable.
        return tqdm(rows, desc=f"checking {kind}", unit="row", file=sys.stderr,
                    disable=len(rows) < 300)

    with sessions() as session:
        try:
            report = import_csv(session, kind, file, organisation=organisation,
                                skip_invalid=skip_invalid, progress=progress)
        except ImportFileError as exc:
            raise click.ClickException(str(exc)) from None
        # A wrong file can have thousands of bad rows: the first ones show what is wrong. With
        # --skip-invalid every skipped row is listed, as those rows are left out.
        listed = report.errors if skip_invalid else report.errors[:MAX_LISTED_ERRORS]
        for error in listed:
            click.echo(f"{file.name}: {error}", err=True)
        if len(report.errors) > len(listed):
            click.echo(f"{file.name}: ... and {len(report.errors) - len(listed)} more "
                       "bad row(s)", err=True)
        if not report.written:
            session.rollback()
            raise click.ClickException(
                f"{len(report.errors)} bad row(s) of {report.rows}; nothing was written. "
                "Fix them, or use --skip-invalid to import the valid rows.")
        session.commit()
    skipped = f", {len(report.errors)} skipped" if report.errors else ""
    click.echo(f"{kind}: {report.created} created, {report.updated} updated, "
               f"{report.unchanged} unchanged{skipped}.")


MAX_LISTED_ERRORS = 50


def _sessions(settings: Settings | None = None) -> Any:
    """A session factory on a reachable, migrated database (else one clear error line)."""
    from bot.db import make_engine, make_session_factory

    engine = make_engine((settings or _settings()).database_url)
    _guard(lambda: _require_schema(engine))
    return make_session_factory(engine)


def _require_schema(engine: Any) -> None:
    from bot.db import check_connection, is_current

    check_connection(engine)
    if not is_current(engine):
        raise click.ClickException("the database schema is not current: run "
                                   "`trygthjem db upgrade` first")


@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--db-file", default=DEMO_DB, show_default=True, type=click.Path(dir_okay=False),
              help="SQLite file for the demo (created if missing).")
def demo(port: int, db_file: str) -> None:
    """Run everything on this machine: SQLite, console channels, worker and web app."""
    from bot.db import transaction, upgrade
    from bot.demo_data import load_demo_data
    from scheduler.runner import build_scheduler
    from webhooks import create_app

    settings = _settings({
        "DATABASE_URL": f"sqlite:///{Path(db_file).resolve()}",
        "CONSOLE_CHANNELS": "1",
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "console"),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}"),
    })
    runtime = _runtime(settings)
    click.echo(f"Preparing demo database {db_file} ...")
    upgrade(runtime.engine)
    with transaction(runtime.sessions) as session:
        created = load_demo_data(session, password=DEMO_PASSWORD)
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


# --- escalation policies ---


@main.group()
def policy() -> None:
    """Escalation policies per team: who is told about an alert, how, and when."""

# --- landlord Telegram bot ---------------------------------------------------------------------


def _telegram_settings(settings: Settings) -> Any:
    if settings.telegram is None:
        raise click.ClickException("TELEGRAM_BOT_TOKEN is not set: the Telegram bot is off")
    return settings.telegram


def _bot_username(settings: Settings) -> str:
    """TELEGRAM_BOT_USERNAME, or the bot's getMe answer."""
    telegram = _telegram_settings(settings)
    if telegram.bot_username:
        return str(telegram.bot_username)
    from bot.channels.telegram import bot_api

    try:
        me = bot_api(telegram.bot_token, telegram.api_url, "getMe")
    except RuntimeError as exc:
        raise click.ClickException(f"{exc}. Set TELEGRAM_BOT_USERNAME to skip this.") from None
    return str(me["username"])


@main.group()
def landlord() -> None:
    """Landlord accounts."""


@landlord.command("invite")
@click.argument("email")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 60),
              help="Days until the link expires.")
def landlord_invite(email: str, days: int) -> None:
    """Create a one-time Telegram invite link for the landlord with EMAIL."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from bot.db import transaction
    from bot.invites import create_invite, deep_link
    from bot.models import Landlord

    settings = _settings()
    username = _bot_username(settings)
    with transaction(_sessions(settings)) as session:
        found = session.scalar(select(Landlord).where(
            func.lower(Landlord.email) == email.strip().lower()))
        if found is None:
            raise click.ClickException(f"no landlord with e-mail {email!r}: import landlords first")
        token = create_invite(session, found, ttl=timedelta(days=days))
        name = found.name
    click.echo(f"Invite for {name} (valid {days} days, one use). Send them this link:")
    click.echo(deep_link(username, token))


@main.group()
def caseworker() -> None:
    """Caseworker accounts for the dashboard."""


@caseworker.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input (for scripts) instead of prompting.")
def caseworker_set_password(email: str, password_stdin: bool) -> None:
    """Set the dashboard password of the caseworker with EMAIL (prompts twice)."""
    from sqlalchemy import func, select

    from bot import audit
    from bot.models import Caseworker
    from bot.passwords import WeakPassword, set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with _sessions()() as session:
        cw = session.scalar(select(Caseworker).where(
            func.lower(Caseworker.email) == email.strip().lower()))
        if cw is None:
            raise click.ClickException(f"no caseworker with e-mail {email}")
        try:
            set_password(cw, password)
        except WeakPassword as exc:
            raise click.ClickException(str(exc)) from None
        audit.record(session, "cli", "set_password", "caseworker", cw.id)
        session.commit()
        inactive = "" if cw.active else " (the account is inactive: login stays refused)"
    click.echo(f"Password set for {email}{inactive}.")


@main.group()
def tenant() -> None:
    """A tenant's personal data (GDPR: export, erasure) and check-ins (pause, resume, cadence)."""


@tenant.command("export")
@click.argument("phone")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file instead of standard output.")
def tenant_export(phone: str, output: Path | None) -> None:
    """Export everything held about the tenant with PHONE as JSON (the export is audited)."""
    import json

    from bot.privacy import TenantNotFound, export_tenant, find_tenant

    with _sessions()() as session:
        try:
            data = export_tenant(session, find_tenant(session, phone), actor="cli")
        except TenantNotFound as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)


@tenant.command("erase")
@click.argument("phone")
@click.option("--yes", is_flag=True, help="Confirm: this cannot be undone.")
def tenant_erase(phone: str, yes: bool) -> None:
    """Erase the personal data of the tenant with PHONE (keeps anonymous counts)."""
    from bot.privacy import TenantNotFound, erase_tenant, find_tenant

    if not yes:
        raise click.ClickException("erasure cannot be undone: add --yes to confirm")
    with _sessions()() as session:
        try:
            report = erase_tenant(session, find_tenant(session, phone), actor="cli")
        except TenantNotFound as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(f"Erased tenant {report.tenant_id}: {report.messages_blanked} message(s) blanked, "
               f"{report.notes_deleted} note(s) deleted, {report.outbox_cancelled} unsent "
               f"message(s) cancelled; {report.checkins_kept} check-in(s) kept anonymously.")


def _find_team(session: Any, ref: str) -> Any:
    from sqlalchemy import select

    from bot.models import Team

    teams = list(session.scalars(select(Team).where(Team.name == ref)))
    if not teams and ref.isascii() and ref.isdigit() and len(ref) < 10:  # ids fit 32 bits
        team = session.get(Team, int(ref))
        teams = [team] if team is not None else []
    if len(teams) != 1:
        names = ", ".join(sorted(session.scalars(select(Team.name)))) or "(none yet)"
        why = "is ambiguous (give the team id)" if teams else "is not a team"
        raise click.ClickException(f"{ref!r} {why}. Teams: {names}")
    return teams[0]


@policy.command("show")
@click.argument("team", required=False)
def policy_show(team: str | None) -> None:
    """Show the policies in force for TEAM (name or id), or for every team."""
    from sqlalchemy import select

    from bot.escalation import Severity
    from bot.models import EscalationPolicy, Team
    from bot.policies import describe, load_policy

    with _sessions()() as session:
        teams = [_find_team(session, team)] if team else list(
            session.scalars(select(Team).order_by(Team.id)))
        if not teams:
            click.echo("No teams yet; the built-in defaults apply:")
        for t in teams or [None]:
            if t is not None:
                click.echo(f"Team {t.name} (id {t.id}), working hours "
                           f"{t.work_start:%H:%M}-{t.work_end:%H:%M}:")
            for sev in (Severity.CRITICAL, Severity.HIGH, Severity.LOW):
                own = t is not None and session.scalar(select(EscalationPolicy.id).where(
                    EscalationPolicy.team_id == t.id, EscalationPolicy.severity == sev.value))
                origin = "team policy" if own else "default"
                click.echo(f" {sev.value} ({origin}):")
                for line in describe(load_policy(session, t.id if t else None, sev)):
                    click.echo(f"  {line}")


@policy.command("set")
@click.argument("team")
@click.argument("severity", type=click.Choice(["critical", "high", "low"], case_sensitive=False))
@click.option("--step", "steps", multiple=True, required=True, metavar="MIN:WHO:CHANNELS",
              help="A step, e.g. 0:assigned:sms,telegram or 15:team:sms (repeatable, in order). "
                   "WHO: assigned, team, team_lead. CHANNELS: sms, telegram, email, webhook.")
@click.option("--repeat", default=0, show_default=True, type=click.IntRange(0, 10),
              help="How many more times the whole sequence runs without an acknowledgement.")
@click.option("--working-hours-only", is_flag=True,
              help="Notify only in the team's working hours (for low alerts).")
@click.option("--ack-reminder-minutes", default=24 * 60, show_default=True,
              type=click.IntRange(1, 60 * 24 * 30),
              help="Remind whoever acknowledged an unresolved alert after this long.")
def policy_set(team: str, severity: str, steps: tuple[str, ...], repeat: int,
               working_hours_only: bool, ack_reminder_minutes: int) -> None:
    """Replace TEAM's policy for SEVERITY alerts (applies to steps not yet sent)."""
    from bot.audit import record
    from bot.policies import PolicyError, build_policy, describe, save_policy

    try:
        new = build_policy(steps, repeat=repeat, working_hours_only=working_hours_only,
                           ack_reminder_minutes=ack_reminder_minutes)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    with _sessions()() as session:
        t = _find_team(session, team)
        save_policy(session, t.id, severity.lower(), new)
        record(session, "cli", "policy.set", "team", t.id, severity=severity.lower(),
               steps=list(steps), repeat=repeat, working_hours_only=working_hours_only,
               ack_reminder_minutes=ack_reminder_minutes)
        session.commit()
    click.echo(f"Saved the {severity.lower()} policy for team {t.name}:")
    for line in describe(new):
        click.echo(line)
    """Caseworker accounts."""


@caseworker.command("telegram-link")
@click.argument("email")
def caseworker_telegram_link(email: str) -> None:
    """Print a one-time link that connects the caseworker's Telegram (for alert buttons)."""
    from sqlalchemy import func, select

    from bot.db import transaction
    from bot.invites import caseworker_payload, create_caseworker_link, deep_link
    from bot.models import Caseworker

    settings = _settings()
    username = _bot_username(settings)
    with transaction(_sessions(settings)) as session:
        found = session.scalar(select(Caseworker).where(
            func.lower(Caseworker.email) == email.strip().lower()))
        if found is None:
            raise click.ClickException(f"no caseworker with e-mail {email!r}")
        token = create_caseworker_link(session, found)
        name = found.name
    click.echo(f"Telegram link for {name} (one use; a new one replaces it):")
    click.echo(deep_link(username, caseworker_payload(token)))


@main.group()
def telegram() -> None:
    """Telegram bot setup."""


@telegram.command("set-webhook")
@click.option("--url", help="Webhook URL (default: PUBLIC_BASE_URL + /webhooks/telegram).")
def telegram_set_webhook(url: str | None) -> None:
    """Tell Telegram to POST updates to this service (needs TELEGRAM_WEBHOOK_SECRET)."""
    from bot.channels.telegram import bot_api

    settings = _settings()
    telegram_settings = _telegram_settings(settings)
    if not telegram_settings.webhook_secret:
        raise click.ClickException("TELEGRAM_WEBHOOK_SECRET is not set: without it the webhook "
                                   "refuses every update")
    if url is None:
        if not settings.public_base_url:
            raise click.ClickException("set PUBLIC_BASE_URL or pass --url")
        url = f"{settings.public_base_url}/webhooks/telegram"
    try:
        bot_api(telegram_settings.bot_token, telegram_settings.api_url, "setWebhook", {
            "url": url, "secret_token": telegram_settings.webhook_secret,
            "allowed_updates": ["message", "callback_query"]})
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Webhook set: {url}")


@main.command("bot")
def bot_polling() -> None:
    """Run the Telegram bot by polling (development; production uses the webhook)."""
    from bot.channels.telegram_bot import build_application

    runtime = _runtime(_settings())
    telegram_settings = _telegram_settings(runtime.settings)
    _guard(lambda: _require_schema(runtime.engine))
    application = build_application(runtime.sessions, telegram_settings.bot_token,
                                    telegram_settings.api_url)
    click.echo("Telegram bot polling; press Ctrl+C to stop.", err=True)
    # run_polling removes a webhook first; Telegram sends updates to one or the other.
    application.run_polling(allowed_updates=["message", "callback_query"])


# --- check-in scheduler ---------------------------------------------------------------------


@contextlib.contextmanager
def _tenant_session(ref: str) -> Any:
    """A session (committed on success) and the tenant named by id or phone, or a clear error."""
    from bot.checkins import find_tenant

    with _sessions()() as session, session.begin():
        tenant = find_tenant(session, ref)
        if tenant is None:
            raise click.ClickException(f"no tenant with id or phone {ref!r}")
        yield session, tenant


@main.group()
def schedule() -> None:
    """Check-in schedules."""


@schedule.command("show")
@click.argument("tenant")
@click.option("--count", default=5, show_default=True, type=click.IntRange(1, 52),
              help="How many upcoming check-ins to list.")
@click.option("--lang", default="en", show_default=True, type=click.Choice(["da", "en"]),
              help="Language for dates.")
def schedule_show(tenant: str, count: int, lang: str) -> None:
    """Show TENANT's (id or phone) cadence and next check-ins in local time."""
    from bot import audit
    from bot.checkins import OrgRules, open_checkin, upcoming
    from bot.models import Organisation, utcnow
    from bot.timing import describe_local, dst_status, format_weekdays, parse_weekdays

    now = utcnow()
    with _tenant_session(tenant) as (session, t):
        org = OrgRules.of(session.get(Organisation, t.organisation_id))
        tz = org.tz.key

        def local(when: Any) -> str:
            return describe_local(when, tz, lang)

        try:
            days = format_weekdays(parse_weekdays(t.checkin_weekdays), lang)
        except ValueError:
            days = f"invalid ({t.checkin_weekdays!r})"
        click.echo(f"{t.name} ({t.phone}), tenant {t.id}")
        click.echo(f"Cadence:    {days} at {t.checkin_time:%H:%M} ({tz})")
        click.echo(f"Quiet:      {org.quiet_start:%H:%M}-{org.quiet_end:%H:%M}; reminder after "
                   f"{org.policy.reminder_after}, missed after {org.policy.missed_after}")
        click.echo(f"Paused:     until {t.checkins_paused_until.isoformat()} (inclusive)"
                   if t.checkins_paused_until else "Paused:     no")
        if t.opted_out_at:
            click.echo(f"Opted out:  yes, since {local(t.opted_out_at)} (STOP)")
        if not t.active or t.erased_at:
            click.echo("Status:     inactive: no check-ins")
        click.echo(f"Misses:     {t.consecutive_misses} in a row")
        current = open_checkin(session, t, now)
        if current is not None and current.sent_at is not None:
            reminded = (f", reminded {local(current.reminded_at)}" if current.reminded_at
                        else "")
            click.echo(f"Open:       sent {local(current.sent_at)}{reminded}, awaiting an answer")
        click.echo("Next check-ins:")
        for send in upcoming(session, t, now=now, count=count):
            line = f"  {local(send.slot)}"
            if send.goes_at != send.slot:
                line += f"  (quiet hours: goes {local(send.goes_at)})"
            local_slot = send.slot.astimezone(org.tz)
            status = dst_status(local_slot.date(), t.checkin_time, tz)
            if status == "nonexistent":
                line += "  (clocks go forward: the hour is skipped, sent an hour later)"
            elif status == "ambiguous":
                line += "  (clocks go back: sent at the first of the two)"
            if send.skip:
                line += f"  [not sent: {send.skip.replace('_', ' ')}]"
            click.echo(line)
        audit.record(session, "cli", "view", "tenant", t.id, what="schedule")


@tenant.command("pause")
@click.argument("phone")
@click.option("--until", "until", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Last local date of the pause, YYYY-MM-DD (inclusive).")
def tenant_pause(phone: str, until: Any) -> None:
    """Pause check-ins (hospital stay, holiday): none are sent or counted as missed."""
    from bot.checkins import pause

    with _tenant_session(phone) as (session, t):
        try:
            pause(session, t, until.date(), actor="cli")
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Check-ins for {t.name} paused until {until.date().isoformat()} "
                   "(inclusive).")


@tenant.command("resume")
@click.argument("phone")
def tenant_resume(phone: str) -> None:
    """End a pause now; the next scheduled check-in is sent as usual."""
    from bot.checkins import resume

    with _tenant_session(phone) as (session, t):
        was_paused = resume(session, t, actor="cli")
        click.echo(f"Check-ins for {t.name} resumed." if was_paused
                   else f"{t.name} was not paused; nothing changed.")


@tenant.command("cadence")
@click.argument("phone")
@click.option("--days", required=True, help="Weekdays, e.g. 'tue', 'tirsdag', 'man,tors', '1-5'.")
@click.option("--time", "at", required=True, help="Local time, e.g. 10:00 or 10.00.")
def tenant_cadence(phone: str, days: str, at: str) -> None:
    """Change when check-ins are sent (local time of the tenant's municipality)."""
    from bot.checkins import OrgRules, change_cadence
    from bot.models import Organisation
    from bot.timing import format_weekdays, in_quiet_hours, local_to_utc, parse_local_time
    from bot.timing import parse_weekdays as parse_days

    try:
        weekdays, wall = parse_days(days), parse_local_time(at)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with _tenant_session(phone) as (session, t):
        change_cadence(session, t, weekdays=weekdays, at=wall, actor="cli")
        org = OrgRules.of(session.get(Organisation, t.organisation_id))
        click.echo(f"{t.name}: check-ins {format_weekdays(weekdays, 'en')} at {wall:%H:%M}.")
        sample = local_to_utc(org.local_date(_now()), wall, org.tz)
        if in_quiet_hours(sample, org.tz, org.quiet_start, org.quiet_end):
            click.echo(f"Note: {wall:%H:%M} is in quiet hours ({org.quiet_start:%H:%M}-"
                       f"{org.quiet_end:%H:%M}); each check-in will wait until "
                       f"{org.quiet_end:%H:%M}.", err=True)


def _now() -> Any:
    from bot.models import utcnow

    return utcnow()


if __name__ == "__main__":
    main()
