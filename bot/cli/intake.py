"""Municipalities' intake route (where alerts with no team go) and SMS service number:
`trygthjem org route`, `org intake`, `org sms-number` (see docs/routing.md)."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.common import find_team, open_sessions
from bot.cli.org import org


def _find_org(session: Any, ref: str) -> Any:
    from sqlalchemy import select

    from bot.models import Organisation

    found = session.scalar(select(Organisation).where(Organisation.name == ref))
    if found is None and ref.isascii() and ref.isdigit() and len(ref) < 10:
        found = session.get(Organisation, int(ref))
    if found is None:
        names = ", ".join(session.scalars(select(Organisation.name).order_by(Organisation.id)))
        raise click.ClickException(f"{ref!r} is not a municipality. Municipalities: "
                                   f"{names or '(none yet)'}")
    return found


def _describe(session: Any, organisation: Any) -> list[str]:
    from bot.alerts.routing import intake_people

    people = intake_people(session, organisation.id)
    team = organisation.intake_team
    route = f"team {team.name}" if team is not None else "the municipality's admins (no team)"
    if team is not None and people and people[0].team_id != team.id:
        route += " - it has nobody active, so the admins stand in"
    reaches = ", ".join(p.name for p in people) or "NOBODY (add people)"
    number = organisation.sms_number or "(none: unknown senders go to the oldest municipality)"
    return [f"{organisation.name} (id {organisation.id})",
            f"  intake route: {route}",
            f"  reaches now:  {reaches}",
            f"  SMS number:   {number}"]


@org.command("route")
@click.argument("name", required=False)
def org_route(name: str | None) -> None:
    """Show each municipality's intake route, who it reaches now, and its SMS number."""
    from sqlalchemy import select

    from bot.models import Organisation

    with open_sessions()() as session:
        orgs = [_find_org(session, name)] if name else list(
            session.scalars(select(Organisation).order_by(Organisation.id)))
        if not orgs:
            click.echo("No municipalities yet.")
        for organisation in orgs:
            for line in _describe(session, organisation):
                click.echo(line)


@org.command("intake")
@click.argument("name")
@click.option("--team", metavar="TEAM", help="The team that takes alerts with no team.")
@click.option("--admins", is_flag=True, help="No intake team: the municipality's admins.")
def org_intake(name: str, team: str | None, admins: bool) -> None:
    """Set where municipality NAME's alerts with no team go (an unknown sender, a home with no
    tenant, a landlord who blocked the bot), and where any alert goes whose policy reached
    nobody."""
    from bot.core.audit import record

    if bool(team) == admins:
        raise click.UsageError("give exactly one of --team TEAM or --admins")
    with open_sessions()() as session:
        organisation = _find_org(session, name)
        chosen = find_team(session, team) if team else None
        if chosen is not None and chosen.organisation_id != organisation.id:
            raise click.ClickException(f"team {chosen.name!r} belongs to another municipality")
        organisation.intake_team_id = chosen.id if chosen is not None else None
        session.flush()
        record(session, "cli", "org.intake", "organisation", organisation.id,
               team_id=organisation.intake_team_id)
        lines = _describe(session, organisation)
        session.commit()
    for line in lines:
        click.echo(line)
    if "NOBODY" in lines[2]:
        raise click.ClickException("the intake route reaches nobody: add an active caseworker "
                                   "to the team or an admin to the municipality")


@org.command("sms-number")
@click.argument("name")
@click.argument("number", required=False)
def org_sms_number(name: str, number: str | None) -> None:
    """Set (or with no NUMBER, clear) the service number tenants of NAME text: an SMS from an
    unknown number to it belongs to this municipality."""
    from sqlalchemy import select

    from bot.core.audit import record
    from bot.core.phones import normalise_phone
    from bot.models import Organisation

    with open_sessions()() as session:
        organisation = _find_org(session, name)
        e164 = None
        if number:
            try:
                e164 = normalise_phone(number)
            except ValueError as exc:
                raise click.ClickException(f"{number!r} is not a phone number: {exc}") from None
            taken = session.scalar(select(Organisation.name).where(
                Organisation.sms_number == e164, Organisation.id != organisation.id))
            if taken:
                raise click.ClickException(f"{e164} is already {taken}'s number")
        organisation.sms_number = e164
        record(session, "cli", "org.sms_number", "organisation", organisation.id, number=e164)
        session.commit()
    click.echo(f"{name}: SMS number {e164 or '(none)'}")
