"""Caseworker SMS reply codes: "42 OK" acknowledges alert 42, "42 LØST" resolves it."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.casework.reply_codes import ReplyCode, parse_reply_code

ACK, RES = "acknowledge", "resolve"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The forms the alert SMS suggests, and their everyday variants.
        ("42 OK", ReplyCode(42, ACK)),
        ("42 ok", ReplyCode(42, ACK)),
        ("ok 42", ReplyCode(42, ACK)),
        ("OK #42", ReplyCode(42, ACK)),
        ("#42 ok", ReplyCode(42, ACK)),
        ("# 42 ok", ReplyCode(42, ACK)),
        ("  42   Ok  ", ReplyCode(42, ACK)),
        ("42 ok.", ReplyCode(42, ACK)),
        ("42, ok!", ReplyCode(42, ACK)),
        ("42-OK", ReplyCode(42, ACK)),
        ("42ok", ReplyCode(42, ACK)),
        ("42\nok", ReplyCode(42, ACK)),
        ("42 okay", ReplyCode(42, ACK)),
        ("42 kvitter", ReplyCode(42, ACK)),
        ("42 kvittér", ReplyCode(42, ACK)),
        ("Kvitteret 42", ReplyCode(42, ACK)),
        ("42 ack", ReplyCode(42, ACK)),
        ("ACK 7", ReplyCode(7, ACK)),
        ("42 ok tak", ReplyCode(42, ACK)),
        ("Svar 42 OK", ReplyCode(42, ACK)),
        ("42 LØST", ReplyCode(42, RES)),
        ("42 løst", ReplyCode(42, RES)),
        ("42 LOST", ReplyCode(42, RES)),  # phone without ø
        ("42 loest", ReplyCode(42, RES)),
        ("42 LÖST", ReplyCode(42, RES)),  # Swedish keyboard
        ("løst #42", ReplyCode(42, RES)),
        ("42 resolved", ReplyCode(42, RES)),
        ("resolve 42", ReplyCode(42, RES)),
        ("Resolve #42.", ReplyCode(42, RES)),
        ("42 lukket", ReplyCode(42, RES)),
        ("nr 1234567 løst", ReplyCode(1234567, RES)),
        ("042 ok", ReplyCode(42, ACK)),
        ("４２ ｏｋ", ReplyCode(42, ACK)),  # full-width characters
        # Not a reply code: falls through to a human.
        ("ok", None),
        ("OK!", None),
        ("42", None),
        ("#42", None),
        ("hej", None),
        ("", None),
        ("   ", None),
        ("42 ikke ok", None),  # "not ok": must never acknowledge
        ("42 43 ok", None),  # which alert?
        ("42 ok 42", None),
        ("42 ok løst", None),  # both actions: ambiguous
        ("ok ok 42", None),
        ("0 ok", None),
        ("1234567890 ok", None),  # absurdly long id
        ("9" * 5000 + " ok", None),  # would trip int()'s digit limit if parsed
        ("42 okidoki", None),
        ("hvem er 42? ok", None),
        ("jeg har det ok, ring 42", None),
        ("ok " + "tak " * 40 + "42", None),  # too long to be a code
        ("٤٢ ok", None),  # non-ASCII digits are not an alert id
    ],
)
def test_reply_code_table(text: str, expected: ReplyCode | None) -> None:
    assert parse_reply_code(text) == expected


def test_reply_code_action_values_match_escalation_actions() -> None:
    from bot.models.enums import Action

    for text in ("1 ok", "1 løst"):
        code = parse_reply_code(text)
        assert code is not None
        assert Action(code.action) in (Action.ACKNOWLEDGE, Action.RESOLVE)


def test_non_string_input_returns_none() -> None:
    assert parse_reply_code(None) is None  # type: ignore[arg-type]
    assert parse_reply_code(42) is None  # type: ignore[arg-type]


@given(st.text())
@example("\x00")
@example("42 \u0301ok")
@example("ǅ 42 ok")
def test_never_raises_on_arbitrary_text(text: str) -> None:
    result = parse_reply_code(text)
    assert result is None or isinstance(result, ReplyCode)


ACK_WORDS = ["ok", "OK", "Ok", "okay", "ack", "kvitter", "KVITTER", "modtaget"]
RESOLVE_WORDS = ["løst", "LØST", "lost", "LOST", "loest", "resolved", "resolve", "lukket"]
SEPARATORS = [" ", "  ", " #", ", ", "-", "\t", ": "]


@given(
    alert_id=st.integers(min_value=1, max_value=999_999_999),
    word_action=st.one_of(
        st.tuples(st.sampled_from(ACK_WORDS), st.just(ACK)),
        st.tuples(st.sampled_from(RESOLVE_WORDS), st.just(RES)),
    ),
    separator=st.sampled_from(SEPARATORS),
    id_first=st.booleans(),
    hash_prefix=st.booleans(),
    trailing=st.sampled_from(["", ".", "!", " ", " tak"]),
)
def test_well_formed_codes_always_parse(
    alert_id: int,
    word_action: tuple[str, str],
    separator: str,
    id_first: bool,
    hash_prefix: bool,
    trailing: str,
) -> None:
    word, action = word_action
    number = f"#{alert_id}" if hash_prefix else str(alert_id)
    text = (f"{number}{separator}{word}" if id_first else f"{word}{separator}{number}") + trailing
    assert parse_reply_code(text) == ReplyCode(alert_id, action)  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789 #okløstLOSTackhej.,!", max_size=30))
def test_result_id_appears_in_text(text: str) -> None:
    result = parse_reply_code(text)
    if result is not None:
        assert str(result.alert_id) in text
        assert result.action in (ACK, RES)
