"""The `trygthjem` command line.

This is a composition root: it may import the Flask app and the scheduler (lazily, inside the
commands), which the rest of `bot/` never does.
"""

from bot.cli import (  # noqa: F401  (each module adds its commands to `main`)
    caseworker,
    db,
    importing,
    landlord,
    org,
    policy,
    run,
    schedule,
    telegram,
    tenant,
)
from bot.cli.common import main

__all__ = ["main"]
