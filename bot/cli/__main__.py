"""`python -m bot.cli`: the same as the `trygthjem` command."""

from bot.cli import main

main()
