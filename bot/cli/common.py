"""What every command shares: the `main` group, settings, sessions and clear errors."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

import click

from bot.core.config import ConfigError, Settings, load_settings
from bot.core.db import DatabaseUnavailable

DEMO_DB = "trygthjem-demo.sqlite3"
# Demo-only credentials, set by `trygthjem demo` on its own SQLite file; never in real data.
DEMO_PASSWORD = "demo"
DEMO_LOGIN = "mette.holm@odense.example"


def settings_from_env(env_overrides: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ)
    env.update(env_overrides or {})
    try:
        return load_settings(env)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def build_process_runtime(settings: Settings) -> Any:
    from bot.core.logs import configure_logging
    from bot.runtime import build_runtime

    configure_logging(settings.log_format, settings.log_level)
    return build_runtime(settings)


def guard(fn: Callable[[], Any]) -> Any:
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

    Configuration comes from environment variables (see docs/configuration.md); without
    DATABASE_URL an SQLite file in the current directory is used.
    """





def open_sessions(settings: Settings | None = None) -> Any:
    """A session factory on a reachable, migrated database (else one clear error line)."""
    from bot.core.db import make_engine, make_session_factory

    engine = make_engine((settings or settings_from_env()).database_url)
    guard(lambda: require_schema(engine))
    return make_session_factory(engine)


def require_schema(engine: Any) -> None:
    from bot.core.db import check_connection, is_current

    check_connection(engine)
    if not is_current(engine):
        raise click.ClickException("the database schema is not current: run "
                                   "`trygthjem db upgrade` first")




def find_team(session: Any, ref: str) -> Any:
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






@contextlib.contextmanager
def tenant_session(ref: str) -> Any:
    """A session (committed on success) and the tenant named by id or phone, or a clear error."""
    from bot.checkins.schedule import find_tenant

    with open_sessions()() as session, session.begin():
        tenant = find_tenant(session, ref)
        if tenant is None:
            raise click.ClickException(f"no tenant with id or phone {ref!r}")
        yield session, tenant




def now() -> Any:
    from bot.models import utcnow

    return utcnow()


if __name__ == "__main__":
    main()
