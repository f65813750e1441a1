"""A tenant's check-in schedule, shown in local time."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.common import main, tenant_session


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
    from bot.checkins.rows import OrgRules, open_checkin
    from bot.checkins.schedule import upcoming
    from bot.core import audit
    from bot.core.time_text import describe_local, format_weekdays, parse_weekdays
    from bot.core.timing import dst_status
    from bot.models import Organisation, utcnow

    now = utcnow()
    with tenant_session(tenant) as (session, t):
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
