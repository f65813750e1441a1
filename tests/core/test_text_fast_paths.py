"""The planner's text fast paths give exactly what the per-text functions give."""

from __future__ import annotations

import pytest

from bot.checkins.texts import CHECKIN_PROMPT, CHECKIN_REMINDER, checkin_prompt
from bot.core.i18n import sms_filler, sms_text
from bot.core.segments import GSM7_BASIC, GSM7_EXTENSION, is_gsm7, to_gsm7_friendly

NAMES = ["Anna", "Zoë Ågård", "Siobhán O’Brien", "Ali 😀", "Jens {name}", "{0} {}", "Bo\\Ek",
         "A\u00a0B\u200bC", "…–—", "\x00", "", "Ωmega €"]


def test_is_gsm7_is_the_per_character_rule() -> None:
    """The one-regex check agrees with the alphabet for every BMP character, alone and in a
    text."""
    for code in range(0x10000):
        ch = chr(code)
        assert is_gsm7(ch) == (ch in GSM7_BASIC or ch in GSM7_EXTENSION), hex(code)
        assert is_gsm7(f"ab{ch}c") == is_gsm7(ch)


def test_friendly_text_already_gsm7_is_returned_as_is() -> None:
    text = "Hej Søren, hvordan går det? €[]{}\\^~|\n"
    assert to_gsm7_friendly(text) is text


@pytest.mark.parametrize("lang", ["da", "en", None, "xx", "EN-gb"])
@pytest.mark.parametrize("msgid", [CHECKIN_PROMPT, CHECKIN_REMINDER])
def test_filler_is_sms_text(lang: str | None, msgid: str) -> None:
    fill = sms_filler(lang, msgid, "name")
    for name in NAMES:
        assert fill(name) == sms_text(lang, msgid, name=name), (lang, name)
    assert sms_filler(lang, CHECKIN_PROMPT, "name")(NAMES[1]) == checkin_prompt(lang, NAMES[1])


@pytest.mark.parametrize("msgid", ["Hi {name!r}.", "Hi {name:>12}.", "Hi {name} {{x}}.",
                                   "No name at all.", "Hi {name}, {name}!"])
def test_filler_of_other_templates(msgid: str) -> None:
    """Formats the filler cannot do piecewise fall back to rendering each text."""
    fill = sms_filler("da", msgid, "name")
    for name in NAMES:
        assert fill(name) == sms_text("da", msgid, name=name), (msgid, name)
