"""Help lines in tenant texts: Livslinien always with its hours (it is not open around the clock),
from one place (bot/tenants/helplines.py); 112 and 1888 are the lines that answer day and night."""

from __future__ import annotations

from datetime import time

import pytest

from bot.core import i18n
from bot.core.time_text import format_daily_hours
from bot.tenants import helplines, texts
from tests.core.test_i18n import RENDERINGS

AROUND_THE_CLOCK = ("døgnet rundt", "døgnåben", "day and night", "24/7", "24 hours", "altid")


def _lines_naming_livslinien() -> list[tuple[str, str, str]]:
    """(function, language, line) for every rendered line that names Livslinien; the bilingual
    texts for unknown numbers are Danish then English, one line each."""
    found = []
    for name, lang, rendered in RENDERINGS:
        for i, line in enumerate(rendered.split("\n")):
            if "Livslinien" in line:
                found.append((name, lang if lang != "-" else i18n.SUPPORTED[i], line))
    return found


LIVSLINIEN_LINES = _lines_naming_livslinien()


def test_the_crisis_and_unconfirmed_texts_name_livslinien() -> None:
    named = {name for name, _, _ in LIVSLINIEN_LINES}
    assert {"crisis_reply", "crisis_reply_stranger", "crisis_lines", "help_info",
            "reply_need_help", "call_me_ack", "reply_to_answer"} <= named


@pytest.mark.parametrize(("name", "lang", "line"), LIVSLINIEN_LINES)
def test_every_text_naming_livslinien_gives_its_hours(name: str, lang: str, line: str) -> None:
    hours = helplines.livslinien_hours(lang)
    assert hours in line, f"{name}/{lang} names Livslinien without its hours: {line!r}"
    lowered = line.casefold()
    assert not any(w in lowered for w in AROUND_THE_CLOCK), f"{name}/{lang}: {line!r}"


def test_the_hours_come_from_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    # Should the night line close, one constant changes and every text follows.
    monkeypatch.setattr(helplines, "LIVSLINIEN_HOURS", helplines.DailyHours(time(11), time(23)))
    assert "70 201 201 kl. 11-23." in texts.crisis_reply("da")
    assert "70 201 201, open 11:00-23:00." in texts.crisis_reply("en")
    danish, english = texts.crisis_lines().split("\n")
    assert danish.endswith("kl. 11-23.") and english.endswith("open 11:00-23:00.")
    assert "05" not in texts.help_info("da")


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_crisis_reply_calls_112_first_and_gives_livsliniens_hours(lang: str) -> None:
    reply = texts.crisis_reply(lang, told=False)
    assert reply.index("112") < reply.index("Livslinien")
    assert ("Livslinien på 70 201 201 kl. 11-05" if lang == "da"
            else "Livslinien on 70 201 201, open 11:00-05:00") in reply


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_lev_uden_vold_is_day_and_night(lang: str) -> None:
    # Verified: 1888 is free, anonymous and open around the clock (levudenvold.dk).
    for reply in (texts.violence_reply(lang), texts.violence_reply(lang, told=False)):
        assert "1888" in reply and ("døgnet rundt" if lang == "da" else "day and night") in reply


def test_format_daily_hours() -> None:
    assert format_daily_hours(time(11), time(5), "da") == "kl. 11-05"
    assert format_daily_hours(time(9, 30), time(17), "da") == "kl. 09.30-17"
    assert format_daily_hours(time(11), time(5), "en") == "11:00-05:00"
    assert format_daily_hours(time(11), time(5), "en_GB") == "11:00-05:00"
    with pytest.raises(ValueError):
        format_daily_hours(time(11), time(5), "sv")
