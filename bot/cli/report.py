"""`trygthjem report`: the programme report as HTML, CSV or JSON (aggregates only)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from bot.cli.common import find_team, main, open_sessions


def _day(_ctx: click.Context, param: click.Parameter, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-01-31",
                                 param=param) from None


@main.command()
@click.option("--from", "first", required=True, callback=_day, metavar="YYYY-MM-DD",
              help="First day of the period (local).")
@click.option("--to", "last", required=True, callback=_day, metavar="YYYY-MM-DD",
              help="Last day of the period (local, included).")
@click.option("--team", default=None, help="One team (name or id); default: the municipality "
              "and each of its teams.")
@click.option("--organisation", default=None, help="Municipality name (needed when the "
              "database holds more than one).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "json"]), default="html",
              show_default=True)
@click.option("--shareable", is_flag=True, help="Show counts from 1 to 4 as <5: for copies "
              "that leave the municipality (e.g. the landlords' copy).")
@click.option("--lang", type=click.Choice(["da", "en"]), default="da", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def report(first: date, last: date, team: str | None, organisation: str | None, fmt: str,
           shareable: bool, lang: str, output: Path | None) -> None:
    """The programme report: tenants, check-ins, alerts, concerns, delivery, per month."""
    from sqlalchemy import select

    from bot.core import audit
    from bot.models import Organisation
    from bot.reports import render
    from bot.reports.figures import build_report
    from bot.reports.period import PeriodError, make_period

    with open_sessions()() as session, session.begin():
        orgs = list(session.scalars(select(Organisation).order_by(Organisation.name)))
        chosen = [o for o in orgs if organisation is None or o.name == organisation]
        if len(chosen) != 1:
            names = ", ".join(o.name for o in orgs) or "(none yet)"
            raise click.ClickException(
                f"{'give --organisation' if chosen else f'{organisation!r} is not a municipality'}"
                f". Municipalities: {names}")
        org = chosen[0]
        team_id = None
        if team is not None:
            found = find_team(session, team)
            if found.organisation_id != org.id:
                raise click.ClickException(f"team {team!r} is not in {org.name}")
            team_id = found.id
        try:
            period = make_period(first, last, org.tz_name)
        except PeriodError as exc:
            raise click.ClickException(str(exc)) from None
        data = build_report(session, period, org.id, team_id, shareable=shareable)
        audit.record(session, "cli", "report", "report", None, format=fmt, team_id=team_id,
                     first=first.isoformat(), last=last.isoformat(), shareable=shareable)
    text = (render.to_html(data, lang) if fmt == "html" else render.to_csv(data, lang)
            if fmt == "csv" else render.to_json(data))
    if output is None:
        click.echo(text, nl=False)
    else:
        # newline="": the CSV's own CRLF line ends stay as they are on every platform.
        with output.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        click.echo(f"Wrote {output}", err=True)
