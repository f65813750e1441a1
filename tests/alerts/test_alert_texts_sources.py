"""Every alert source has a caseworker text (a source without one made the escalator fail on
that alert forever: free-text "message" alerts never reached anyone)."""

from __future__ import annotations

import pytest

from bot.alerts import texts as alert_texts
from bot.models import Alert
from bot.models.enums import Source


@pytest.mark.parametrize("source", list(Source))
@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_source_has_an_sms_headline(source: Source, lang: str) -> None:
    alert = Alert(id=42, source=str(source), severity="low", summary="x")
    text = alert_texts.sms_text(alert, lang)
    assert text.startswith("Trygt Hjem #42 ")
    assert "42 OK" in text
    assert alert_texts.CAUSES[source] != alert_texts.MINIMAL_CAUSE


def test_message_alert_wording() -> None:
    alert = Alert(id=7, source="message", severity="low", summary="x")
    assert alert_texts.headline(alert, "da") == "Trygt Hjem #7 LAV: en lejer har sendt en besked."
