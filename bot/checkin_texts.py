"""Caseworker-facing texts about check-ins (alert summaries), through the catalogues."""

from __future__ import annotations

from bot.i18n import N_, gettext

MISSED_SUMMARY = N_("Missed check-ins in a row for {name}: {n}")
OPTED_OUT_SUMMARY = N_(
    "{name} has opted out of SMS (STOP). No check-ins are sent until the tenant writes START."
)


def missed_summary(lang: str | None, name: str, n: int) -> str:
    """Alert summary when a tenant's run of unanswered check-ins reaches a threshold."""
    return gettext(lang, MISSED_SUMMARY, name=name, n=n)


def opted_out_summary(lang: str | None, name: str) -> str:
    """Low alert raised once per opt-out, so the caseworker knows check-ins have stopped."""
    return gettext(lang, OPTED_OUT_SUMMARY, name=name)
