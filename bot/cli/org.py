"""A municipality's own settings (time zone, quiet hours, check-in grace, working hours)."""

from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

import click

from bot.cli.common import main, now, open_sessions, settings_from_env

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.models import Organisation


@main.group()
def org() -> None:
    """Each municipality's time zone, quiet hours and working hours.

    TZ_NAME and QUIET_HOURS_START/END only give a NEW organisation its values; these commands
    show and change an existing one's.
    """


def _find(session: Session, ref: str) -> Organisation:
    from sqlalchemy import select

    from bot.core.organisations import find_organisation
    from bot.models import Organisation

    found = find_organisation(session, ref)
    if found is None:
        names = ", ".join(sorted(session.scalars(select(Organisation.name)))) or "(none yet)"
        raise click.ClickException(f"{ref!r} is not an organisation. Organisations: {names}")
    return found


@org.command("show")
@click.argument("name", required=False)
def org_show(name: str | None) -> None:
    """Show NAME's (name or id) settings, or every organisation's."""
    from sqlalchemy import select

    from bot.core.organisations import describe
    from bot.models import Organisation

    settings = settings_from_env()
    with open_sessions(settings)() as session:
        orgs = [_find(session, name)] if name else list(
            session.scalars(select(Organisation).order_by(Organisation.id)))
        if not orgs:
            click.echo("No organisations yet (`trygthjem import ... --organisation NAME`).")
        for o in orgs:
            for line in describe(session, o, now(), holiday_country=settings.holiday_country):
                click.echo(line)


def _window(_ctx: click.Context, _param: click.Parameter,
            value: str | None) -> tuple[time, time] | None:
    from bot.core.organisations import parse_window

    if value is None:
        return None
    try:
        return parse_window(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@org.command("set")
@click.argument("name")
@click.option("--tz", "tz_name", metavar="ZONE",
              help="IANA time zone, e.g. Europe/Copenhagen.")
@click.option("--quiet", callback=_window, metavar="HH:MM-HH:MM",
              help="No check-ins or reminders in this local window, e.g. 21:00-08:00 "
                   "(may wrap midnight; 'off' for none). Replies to tenants still go.")
@click.option("--work", callback=_window, metavar="HH:MM-HH:MM",
              help="Working hours (Mon-Fri, not on HOLIDAY_COUNTRY's public holidays) of every "
                   "team: low alerts wait for them.")
@click.option("--reminder-after", type=click.IntRange(1, 336), metavar="HOURS",
              help="Remind an unanswered check-in after this many hours.")
@click.option("--missed-after", type=click.IntRange(1, 336), metavar="HOURS",
              help="An unanswered check-in is missed this many hours after it was sent.")
def org_set(name: str, tz_name: str | None, quiet: tuple[time, time] | None,
            work: tuple[time, time] | None, reminder_after: int | None,
            missed_after: int | None) -> None:
    """Change NAME's (name or id) settings; they apply from the next check-in or step."""
    from bot.core.organisations import OrgChange, apply_change, describe

    change = OrgChange(tz_name=tz_name.strip() if tz_name else None,
                       quiet=quiet, work=work,
                       reminder_after_hours=reminder_after, missed_after_hours=missed_after)
    settings = settings_from_env()
    with open_sessions(settings)() as session, session.begin():
        o = _find(session, name)
        try:
            changed = apply_change(session, o, change, actor="cli")
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        for field, (old, new) in changed.items():
            click.echo(f"{field}: {old} -> {new}")
        if not changed:
            click.echo("Nothing changed.")
        for line in describe(session, o, now(), holiday_country=settings.holiday_country):
            click.echo(line)
