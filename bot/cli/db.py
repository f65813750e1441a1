"""Database schema: upgrade and show the current revision."""

from __future__ import annotations

import click

from bot.cli.common import guard, main, require_database_file, settings_from_env


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target migration.")
def db_upgrade(revision: str) -> None:
    """Apply migrations (safe to run on every release)."""
    from bot.core.db import current_revision, make_engine, upgrade

    settings = settings_from_env()
    engine = make_engine(settings.database_url)
    guard(lambda: upgrade(engine, revision))
    click.echo(f"Database at migration {current_revision(engine)}.")


@db.command("current")
def db_current() -> None:
    """Show the database's migration and the newest one."""
    from bot.core.db import current_revision, head_revision, make_engine

    url = settings_from_env().database_url
    require_database_file(url)  # looking must not create an empty trygthjem.sqlite3
    engine = make_engine(url)
    current = guard(lambda: current_revision(engine))
    click.echo(f"current: {current or '(empty database)'}\nnewest:  {head_revision(engine)}")
