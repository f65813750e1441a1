"""Caseworkers: passwords and Telegram links."""

from __future__ import annotations

import sys

import click

from bot.cli.common import main, open_sessions, settings_from_env
from bot.cli.telegram import bot_username


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

    from bot.casework.passwords import WeakPassword, set_password
    from bot.core import audit
    from bot.models import Caseworker

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with open_sessions()() as session:
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



@caseworker.command("end-sessions")
@click.argument("email")
def caseworker_end_sessions(email: str) -> None:
    """Log the caseworker with EMAIL out of the dashboard everywhere (e.g. a lost laptop)."""
    from sqlalchemy import func, select

    from bot.casework.web_sessions import end_all_sessions
    from bot.core import audit
    from bot.core.db import transaction
    from bot.models import Caseworker

    with transaction(open_sessions()) as session:
        cw = session.scalar(select(Caseworker).where(
            func.lower(Caseworker.email) == email.strip().lower()))
        if cw is None:
            raise click.ClickException(f"no caseworker with e-mail {email}")
        ended = end_all_sessions(session, cw.id, "ended_by_operator")
        audit.record(session, "cli", "end_sessions", "caseworker", cw.id, ended=ended)
    click.echo(f"Ended {ended} dashboard session(s) of {email}.")


@caseworker.command("telegram-link")
@click.argument("email")
def caseworker_telegram_link(email: str) -> None:
    """Print a one-time link that connects the caseworker's Telegram (for alert buttons)."""
    from sqlalchemy import func, select

    from bot.core.db import transaction
    from bot.landlords.invites import caseworker_payload, create_caseworker_link, deep_link
    from bot.models import Caseworker

    settings = settings_from_env()
    username = bot_username(settings)
    with transaction(open_sessions(settings)) as session:
        found = session.scalar(select(Caseworker).where(
            func.lower(Caseworker.email) == email.strip().lower()))
        if found is None:
            raise click.ClickException(f"no caseworker with e-mail {email!r}")
        token = create_caseworker_link(session, found)
        name = found.name
    click.echo(f"Telegram link for {name} (one use; a new one replaces it):")
    click.echo(deep_link(username, caseworker_payload(token)))
