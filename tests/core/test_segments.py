"""SMS encoding and segment counting (bot/core/segments.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    encoding,
    gsm7_length,
    is_gsm7,
    segments,
    to_gsm7_friendly,
)


def test_alphabet_sizes() -> None:
    # 128 code points minus ESC; the extension table has 10 printable entries.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    "text",
    [
        "æøåÆØÅ",
        "Hej Søren, hvordan går det? Svar 1 godt, 2 så som så, 3 brug for hjælp.",
        "Livslinien 70 201 201. Akut: 112.",
        "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà",
        "€[]{}\\^~|\f",
        "line\nbreak\r",
        "",
    ],
)
def test_gsm7_texts(text: str) -> None:
    assert is_gsm7(text)
    assert encoding(text) == "GSM-7"


@pytest.mark.parametrize(
    "text",
    ["👍", "“quoted”", "en – dash", "ellipsis…", "non\u00a0breaking", "Zoë", "á", "ç", "\t", "`"],
)
def test_not_gsm7(text: str) -> None:
    assert not is_gsm7(text)
    assert encoding(text) == "UCS-2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 1),
        ("a" * 159, 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("ø" * 160, 1),  # Danish letters are basic GSM-7: one septet each
        ("å" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("a" * 460, 4),
        # Extension characters count 2.
        ("€" * 80, 1),
        ("€" * 80 + "a", 2),
        ("a" * 159 + "€", 2),
        ("a" * 158 + "€", 1),
        # An escape pair is not split between parts: 152 + € would straddle 153.
        ("a" * 152 + "€" + "a" * 152, 3),
        ("a" * 151 + "€" + "a" * 153, 2),
        # UCS-2: 70 / 67 per part.
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        ("Hej 👍", 1),
        ("👍" * 35, 1),  # each emoji is a surrogate pair: 2 UTF-16 units
        ("👍" * 36, 2),
        ("a" + "👍" * 35, 2),
        # A surrogate pair is not split: 66 units + emoji would straddle 67.
        ("ж" * 66 + "👍" + "ж" * 66, 3),
        ("ж" * 65 + "👍" + "ж" * 67, 2),
        # One non-GSM character switches the whole message to UCS-2.
        ("a" * 69 + "’", 1),
        ("a" * 70 + "’", 2),
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


def test_gsm7_length() -> None:
    assert gsm7_length("Hej") == 3
    assert gsm7_length("€") == 2
    assert gsm7_length("[x]") == 5
    assert gsm7_length("æøå") == 3
    with pytest.raises(ValueError, match="not a GSM-7"):
        gsm7_length("👍")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“Hej” ‘du’", "\"Hej\" 'du'"),
        ("det er i orden – ikke?", "det er i orden - ikke?"),
        ("kl. 10—12", "kl. 10-12"),
        ("vent…", "vent..."),
        ("70\u00a0201\u00a0201", "70 201 201"),
        ("a\u2009b\u202fc", "a b c"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("Zoë José Ångström café", "Zoe José Ångström café"),
        ("Ærø Søby Åbenrå", "Ærø Søby Åbenrå"),
        ("«citat»", '"citat"'),
        ("• punkt", "- punkt"),
        ("tab\there", "tab here"),
        ("€ 100", "€ 100"),
        ("👍 stays", "👍 stays"),
    ],
)
def test_to_gsm7_friendly(text: str, expected: str) -> None:
    assert to_gsm7_friendly(text) == expected


def test_friendly_keeps_gsm7_text_unchanged() -> None:
    text = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
    assert to_gsm7_friendly(text) == text


@given(st.text())
def test_properties(text: str) -> None:
    n = segments(text)
    assert (n == 0) == (text == "")
    friendly = to_gsm7_friendly(text)
    if is_gsm7(text):
        assert friendly == text
        septets = gsm7_length(text)
        if text:
            assert (n == 1) if septets <= 160 else (n >= -(-septets // 153))
    # Friendly conversion never makes a message more expensive in encoding terms.
    assert not (is_gsm7(text) and not is_gsm7(friendly))


@given(st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC)), min_size=161, max_size=2000))
def test_basic_gsm7_multipart_formula(text: str) -> None:
    assert segments(text) == -(-len(text) // 153)
