"""Tenants: GDPR export and erasure, pause, resume and cadence of check-ins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot.cli.common import main, now, open_sessions, tenant_session


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

    from bot.tenants.privacy import TenantNotFound, export_tenant, find_tenant

    with open_sessions()() as session:
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
    from bot.tenants.privacy import AlertStillActive, TenantNotFound, erase_tenant, find_tenant

    if not yes:
        raise click.ClickException("erasure cannot be undone: add --yes to confirm")
    with open_sessions()() as session:
        try:
            report = erase_tenant(session, find_tenant(session, phone), actor="cli")
        except (TenantNotFound, AlertStillActive) as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(f"Erased tenant {report.tenant_id}: {report.messages_blanked} message(s) blanked, "
               f"{report.notes_deleted} note(s) deleted, {report.outbox_cancelled} unsent "
               f"message(s) cancelled; {report.checkins_kept} check-in(s) kept anonymously.")



@tenant.command("pause")
@click.argument("phone")
@click.option("--until", "until", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Last local date of the pause, YYYY-MM-DD (inclusive).")
def tenant_pause(phone: str, until: Any) -> None:
    """Pause check-ins (hospital stay, holiday): none are sent or counted as missed."""
    from bot.checkins.schedule import pause

    with tenant_session(phone) as (session, t):
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
    from bot.checkins.schedule import resume

    with tenant_session(phone) as (session, t):
        was_paused = resume(session, t, actor="cli")
        click.echo(f"Check-ins for {t.name} resumed." if was_paused
                   else f"{t.name} was not paused; nothing changed.")


@tenant.command("cadence")
@click.argument("phone")
@click.option("--days", required=True, help="Weekdays, e.g. 'tue', 'tirsdag', 'man,tors', '1-5'.")
@click.option("--time", "at", required=True, help="Local time, e.g. 10:00 or 10.00.")
def tenant_cadence(phone: str, days: str, at: str) -> None:
    """Change when check-ins are sent (local time of the tenant's municipality)."""
    from bot.checkins.rows import OrgRules
    from bot.checkins.schedule import change_cadence
    from bot.core.time_text import format_weekdays, parse_local_time
    from bot.core.time_text import parse_weekdays as parse_days
    from bot.core.timing import in_quiet_hours, local_to_utc
    from bot.models import Organisation

    try:
        weekdays, wall = parse_days(days), parse_local_time(at)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with tenant_session(phone) as (session, t):
        change_cadence(session, t, weekdays=weekdays, at=wall, actor="cli")
        org = OrgRules.of(session.get(Organisation, t.organisation_id))
        click.echo(f"{t.name}: check-ins {format_weekdays(weekdays, 'en')} at {wall:%H:%M}.")
        sample = local_to_utc(org.local_date(now()), wall, org.tz)
        if in_quiet_hours(sample, org.tz, org.quiet_start, org.quiet_end):
            click.echo(f"Note: {wall:%H:%M} is in quiet hours ({org.quiet_start:%H:%M}-"
                       f"{org.quiet_end:%H:%M}); each check-in will wait until "
                       f"{org.quiet_end:%H:%M}.", err=True)
