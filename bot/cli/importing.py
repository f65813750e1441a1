"""Bulk import of caseworkers, landlords, homes and tenants from CSV files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.common import main, open_sessions, settings_from_env


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

    from bot.admin.importer import ImportFileError, import_csv

    settings = settings_from_env()
    sessions = open_sessions(settings)

    def progress(rows: Any) -> Any:
        # Only worth a bar on big files; it goes to stderr so stdout stays parseable.
        return tqdm(rows, desc=f"checking {kind}", unit="row", file=sys.stderr,
                    disable=len(rows) < 300)

    with sessions() as session:
        try:
            report = import_csv(session, kind, file, organisation=organisation, settings=settings,
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
