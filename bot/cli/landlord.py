"""Landlords: invite links for the Telegram bot."""

from __future__ import annotations

import click

from bot.cli.common import main, open_sessions, settings_from_env
from bot.cli.telegram import bot_username


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

    from bot.core.db import transaction
    from bot.landlords.invites import create_invite, deep_link
    from bot.models import Landlord

    settings = settings_from_env()
    username = bot_username(settings)
    with transaction(open_sessions(settings)) as session:
        found = session.scalar(select(Landlord).where(
            func.lower(Landlord.email) == email.strip().lower()))
        if found is None:
            raise click.ClickException(f"no landlord with e-mail {email!r}: import landlords first")
        token = create_invite(session, found, ttl=timedelta(days=days))
        name = found.name
    click.echo(f"Invite for {name} (valid {days} days, one use). Send them this link:")
    click.echo(deep_link(username, token))
