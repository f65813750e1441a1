"""Understanding tenants' SMS (bot/tenants/intents.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.tenants.intents import Intent, IntentKind, crisis_terms, fold, parse, violence_terms

CHECKIN = IntentKind.CHECKIN_ANSWER
CALL = IntentKind.CALL_ME
STOP = IntentKind.STOP
START = IntentKind.START
INFO = IntentKind.HELP_INFO
CRISIS = IntentKind.CRISIS
FREE = IntentKind.FREE_TEXT
EMPTY = IntentKind.EMPTY
VIOLENCE = IntentKind.VIOLENCE
GREETING = IntentKind.GREETING
NEED = CHECKIN  # need-help words anywhere: answer 3

# (message, kind, answer) - real-looking replies, Danish first.
CASES: list[tuple[str, IntentKind, int | None]] = [
    # Digits, with and without extra words.
    ("1", CHECKIN, 1),
    (" 1.", CHECKIN, 1),
    ("2", CHECKIN, 2),
    ("3!", CHECKIN, 3),
    ("#2", CHECKIN, 2),
    ("(3)", CHECKIN, 3),
    ("１", CHECKIN, 1),  # full-width digit
    ("1️⃣", CHECKIN, 1),  # keycap emoji
    ("2 lidt træt", CHECKIN, 2),
    ("2. lidt træt i dag", CHECKIN, 2),
    ("3 jeg har det dårligt", CHECKIN, 3),
    ("3jeg kan ikke sove", CHECKIN, 3),
    ("Hej! 1", CHECKIN, 1),
    ("svar 2", CHECKIN, 2),
    ("Svar: 3", CHECKIN, 3),
    ("1 tak", CHECKIN, 1),
    # Numbers that are not answers.
    ("12", FREE, None),
    ("1.5", FREE, None),
    ("2:30", FREE, None),
    ("1-2 dage", FREE, None),
    ("kl 2", FREE, None),
    ("det er 3 uger siden", FREE, None),
    ("jeg har 2 børn", FREE, None),
    # Answer words.
    ("godt", CHECKIN, 1),
    ("Godt tak", CHECKIN, 1),
    ("fint", CHECKIN, 1),
    ("Fint!", CHECKIN, 1),
    ("ok", CHECKIN, 1),
    ("OK", CHECKIN, 1),
    ("okay", CHECKIN, 1),
    ("Okay 👍", CHECKIN, 1),
    ("good", CHECKIN, 1),
    ("Fine thanks", CHECKIN, 1),
    ("jeg har det godt", CHECKIN, 1),
    ("har det fint tak", CHECKIN, 1),
    ("det går godt", CHECKIN, 1),
    ("i dag går det fint", CHECKIN, 1),
    ("i'm fine", CHECKIN, 1),
    ("skidt", CHECKIN, 2),
    ("så som så", CHECKIN, 2),
    ("saa som saa", CHECKIN, 2),
    ("sa som sa", CHECKIN, 2),
    ("nogenlunde", CHECKIN, 2),
    ("ikke så godt", CHECKIN, 2),
    ("har det skidt i dag", CHECKIN, 2),
    ("so-so", CHECKIN, 2),
    ("not great", CHECKIN, 2),
    ("dårligt", CHECKIN, 3),
    ("daarligt", CHECKIN, 3),
    ("darligt", CHECKIN, 3),
    ("Jeg har det ikke godt", CHECKIN, 3),
    ("ikke godt", CHECKIN, 3),
    ("not good", CHECKIN, 3),
    ("elendigt", CHECKIN, 3),
    ("tre", CHECKIN, 3),
    ("to", CHECKIN, 2),
    ("to dage", FREE, None),
    # HJÆLP / HELP mean "I need help" - never an info leaflet.
    ("hjælp", CHECKIN, 3),
    ("HJÆLP!!!", CHECKIN, 3),
    ("Hjælp mig", CHECKIN, 3),
    ("hjaelp", CHECKIN, 3),
    ("hjalp", CHECKIN, 3),
    ("hjelp", CHECKIN, 3),
    ("hjææææælp", CHECKIN, 3),
    ("jeg har brug for hjælp", CHECKIN, 3),
    ("help", CHECKIN, 3),
    ("HELP", CHECKIN, 3),
    ("help me please", CHECKIN, 3),
    ("I need help", CHECKIN, 3),
    ("SOS", CHECKIN, 3),
    # Emoji and emoticons.
    ("👍", CHECKIN, 1),
    ("👍🏽", CHECKIN, 1),
    ("🙂", CHECKIN, 1),
    ("😊😊", CHECKIN, 1),
    ("Tak 🙂", CHECKIN, 1),
    ("Tak :)", CHECKIN, 1),
    ("😐", CHECKIN, 2),
    ("🤷‍♀️", CHECKIN, 2),
    (":/", CHECKIN, 2),
    ("😞", CHECKIN, 3),
    ("😢", CHECKIN, 3),
    ("🆘", CHECKIN, 3),
    (":(", CHECKIN, 3),
    ("😀😢", CHECKIN, 3),  # mixed: the worse one counts
    ("😢 har ikke sovet", CHECKIN, 3),
    ("🐶", FREE, None),
    # Call me.
    ("ring", CALL, None),
    ("RING", CALL, None),
    ("ring mig", CALL, None),
    ("Ring til mig", CALL, None),
    ("ring mig op", CALL, None),
    ("kan du ringe", CALL, None),
    ("Hej, kan du ringe til mig i morgen?", CALL, None),
    ("Vil du ringe mig op?", CALL, None),
    ("call me", CALL, None),
    ("CALL", CALL, None),
    ("Kan vi snakke i morgen", CALL, None),
    ("fint, men ring til mig", CALL, None),  # the request must not drown in "good to hear"
    ("3 ring til mig", CHECKIN, 3),  # answer 3 already makes the caseworker call
    ("du må ikke ringe til mig", FREE, None),
    ("lad være med at ringe", FREE, None),
    ("jeg ringer i morgen", FREE, None),
    ("ring 112", FREE, None),
    # Stop.
    ("stop", STOP, None),
    ("STOP ", STOP, None),
    ("Stop.", STOP, None),
    ("STOP STOP", STOP, None),
    ("stop tak", STOP, None),
    ("Stop det nu", STOP, None),
    ("afmeld", STOP, None),
    ("Afmeld mig venligst", STOP, None),
    ("frameld", STOP, None),
    ("stopall", STOP, None),
    ("unsubscribe", STOP, None),
    ("cancel", STOP, None),
    ("quit", STOP, None),
    ("Jeg vil gerne stoppe", STOP, None),
    ("vil ikke have flere sms'er", STOP, None),
    ("stop med at skrive", STOP, None),
    ("Ｓｔｏｐ", STOP, None),
    ("stpo", STOP, None),
    ("stopp", STOP, None),
    ("kan ikke stoppe med at drikke", FREE, None),
    ("jeg stopper med at ryge", FREE, None),
    ("stol", FREE, None),
    ("stor", FREE, None),
    ("quite", FREE, None),
    # Start.
    ("start", START, None),
    ("START igen", START, None),
    ("unstop", START, None),
    ("tilmeld", START, None),
    ("strat", FREE, None),
    ("smart", FREE, None),
    # Info.
    ("info", INFO, None),
    ("INFO", INFO, None),
    ("Info?", INFO, None),
    ("hjælp info", INFO, None),
    ("help info", INFO, None),
    ("?", INFO, None),
    ("Hvem er du?", INFO, None),
    ("hvad er det her", INFO, None),
    # Crisis wins over everything.
    ("selvmord", CRISIS, None),
    ("jeg tænker på selvmord", CRISIS, None),
    ("selvmordstanker igen", CRISIS, None),
    ("selvmort", CRISIS, None),
    ("jeg vil tage mit eget liv", CRISIS, None),
    ("Jeg vil slå mig selv ihjel", CRISIS, None),
    ("sla mig selv ihjel", CRISIS, None),
    ("jeg vil dø", CRISIS, None),
    ("jeg vil bare dø", CRISIS, None),
    ("vil skade mig selv", CRISIS, None),
    ("jeg cutter igen", CRISIS, None),
    ("har taget en overdosis", CRISIS, None),
    ("jeg kan ikke mere", CRISIS, None),
    ("I want to kill myself", CRISIS, None),
    ("suicide", CRISIS, None),
    ("sucide", CRISIS, None),
    ("i want to hurt myself", CRISIS, None),
    ("took an overdose", CRISIS, None),
    ("1 men jeg vil dø", CRISIS, None),
    ("Godt. Jeg vil dø", CRISIS, None),
    ("STOP jeg vil dø", CRISIS, None),
    ("han slår mig ihjel", CRISIS, None),  # a threat to life is a crisis
    ("he is going to kill me", CRISIS, None),
    ("👍 jeg har lyst til at dø", CRISIS, None),
    ("jeg vil ikke dø", CRISIS, None),  # no negation handling on purpose
    # Violence in a close relationship: its own reading, also over STOP.
    ("han slår mig", VIOLENCE, None),
    ("min kæreste truer mig", VIOLENCE, None),
    ("jeg er bange for min kæreste", VIOLENCE, None),
    ("Jeg er bange for kæresten", VIOLENCE, None),
    ("he hits me", VIOLENCE, None),
    ("I'm scared of my boyfriend", VIOLENCE, None),
    ("STOP han slår mig", VIOLENCE, None),
    ("1 men han slår mig", VIOLENCE, None),
    ("jeg er bange for min eksamen", NEED, 3),  # scared, but not of a person
    # Need-help words anywhere, unless negated.
    ("I don't feel good", NEED, 3),
    ("hej, jeg har det ikke godt", NEED, 3),
    ("1 men jeg har ingen mad", NEED, 3),
    ("jeg er ikke bange", FREE, None),
    ("I'm not scared", FREE, None),
    ("im not hungry", FREE, None),
    # Everyday phrases that look a bit like crisis language but are not.
    ("Det slår mig at huslejen er høj", FREE, None),
    ("jeg er i fare for at miste lejligheden", FREE, None),
    ("voldsomt træt", FREE, None),
    ("har kvalme", FREE, None),
    # Free text and empty.
    ("Hvornår kommer vicevært?", FREE, None),
    ("Min vaskemaskine er i stykker", FREE, None),
    ("Jeg mangler penge til husleje", NEED, 3),
    # Only greetings and thanks.
    ("tak", GREETING, None),
    ("god morgen", GREETING, None),
    ("Good morning", GREETING, None),
    ("hej hej", GREETING, None),
    ("hej", GREETING, None),
    ("nej", FREE, None),
    ("x" * 10_000, FREE, None),
    ("", EMPTY, None),
    ("   ", EMPTY, None),
    ("\n\t ", EMPTY, None),
    ("...", EMPTY, None),
    ("\x00\x01", EMPTY, None),
]


@pytest.mark.parametrize(("message", "kind", "answer"), CASES, ids=[c[0][:30] for c in CASES])
def test_table(message: str, kind: IntentKind, answer: int | None) -> None:
    intent = parse(message)
    assert (intent.kind, intent.answer) == (kind, answer), intent


def test_table_is_big() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ("3 jeg har det dårligt", "jeg har det dårligt"),
        ("2 lidt træt", "lidt træt"),
        ("2. lidt træt", "lidt træt"),
        ("👍🏽 men huslejen er for høj", "men huslejen er for høj"),
        ("godt, men naboen larmer", "men naboen larmer"),
        ("1", None),
        ("Godt tak", None),
        ("👍 tak", None),
        ("1️⃣", None),
    ],
)
def test_checkin_keeps_the_rest_as_free_text(message: str, text: str | None) -> None:
    intent = parse(message)
    assert intent.kind is CHECKIN
    assert intent.text == text


def test_free_text_is_kept_whole_and_cleaned() -> None:
    assert parse("  Min vask\x00 er i stykker  ").text == "Min vask  er i stykker"
    assert parse("Hej\nhvornår kommer I?").text == "Hej\nhvornår kommer I?"
    assert parse("").text is None


def test_crisis_keeps_text_and_names_the_term() -> None:
    intent = parse("1 men jeg vil dø")
    assert intent == Intent(CRISIS, matched="vil dø", text="1 men jeg vil dø")


def test_matched_and_corrected() -> None:
    assert parse("HJÆLP").matched == "hjælp"
    assert parse("stop").corrected is False
    stpo = parse("stpo")
    assert (stpo.kind, stpo.matched, stpo.corrected) == (STOP, "stop", True)
    gidt = parse("gidt")
    assert (gidt.kind, gidt.answer, gidt.corrected) == (CHECKIN, 1, True)


def test_crisis_term_at_the_end_of_a_long_message() -> None:
    assert parse("bla " * 2500 + "selvmord").kind is CRISIS


@pytest.mark.parametrize("raw", ["\ud800", "a\udfffb", "\ud83d\udc4d", None])
def test_broken_unicode_and_none(raw: str | None) -> None:
    intent = parse(raw)
    assert isinstance(intent, Intent)
    if intent.text is not None:
        intent.text.encode("utf-8")  # storable


# --- crisis data file --------------------------------------------------------------------


def _example(term: str) -> str:
    """A sentence a term must match: gaps filled, stems used as they are."""
    return "jeg " + re.sub(r"(?<!\S)\*(?!\S)", "bare", term).replace("*", "") + " nu"


def test_crisis_terms_loaded_in_both_languages() -> None:
    terms = crisis_terms()
    assert len(terms) > 80
    for needed in ("selvmord*", "vil dø", "slå mig * ihjel", "bange for mit liv", "kill myself"):
        assert needed in terms


def test_violence_terms_loaded_in_both_languages() -> None:
    terms = violence_terms()
    for needed in ("han slår mig", "bange for * kæreste*", "he hits me", "afraid of * boyfriend*"):
        assert needed in terms
    assert not set(terms) & set(crisis_terms()), "a term belongs to one list"


@pytest.mark.parametrize("term", violence_terms())
def test_every_violence_term_matches_itself(term: str) -> None:
    for sentence in (_example(term), _example(term).upper()):
        assert parse(sentence).kind is VIOLENCE, sentence


@pytest.mark.parametrize("term", crisis_terms())
def test_every_crisis_term_matches_itself(term: str) -> None:
    for sentence in (_example(term), _example(term).upper()):
        assert parse(sentence).kind is CRISIS, sentence


# --- typo tolerance stays conservative ---------------------------------------------------

EVERYDAY_WORDS = [
    word
    for line in (
        "stol stor stod stok stof step shop top stomp strop stoop store story stopper stoppede",
        "stat starter smart stark stuart tart sart strat star stare",
        "into indo inf ting king sing bring rang rings rung",
        "født gods find font hint mint hell held hold helt hjem hjelm",
        "sofa sokker stue tur tag tid tak and under slut quiet quite cancer",
    )
    for word in line.split()
]


@pytest.mark.parametrize("word", EVERYDAY_WORDS)
def test_everyday_words_never_become_stop_or_start(word: str) -> None:
    assert parse(word).kind not in (STOP, START)


@pytest.mark.parametrize("word", ["føedt", "fodt", "font", "find", "hold", "hell", "skudt"])
def test_real_words_are_not_corrected_into_answers(word: str) -> None:
    assert parse(word).kind is FREE


@pytest.mark.parametrize(
    ("typo", "kind", "answer"),
    [
        ("stpo", STOP, None),
        ("sotp", STOP, None),
        ("stopp", STOP, None),
        ("afmled", STOP, None),
        ("afmeldt", STOP, None),
        ("unsubscibe", STOP, None),
        ("satrt", START, None),
        ("starte", START, None),
        ("tilmeldt", START, None),
        ("ifno", INFO, None),
        ("gidt", CHECKIN, 1),
        ("godr", CHECKIN, 1),
        ("fimt", CHECKIN, 1),
        ("okat", CHECKIN, 1),
        ("skidr", CHECKIN, 2),
        ("dårlgt", CHECKIN, 3),
        ("hjlp", CHECKIN, 3),
        ("hjalpe", CHECKIN, 3),
        ("hepl", CHECKIN, 3),
        ("rign", CALL, None),
    ],
)
def test_small_typos(typo: str, kind: IntentKind, answer: int | None) -> None:
    intent = parse(typo)
    assert (intent.kind, intent.answer) == (kind, answer)
    assert intent.corrected


def test_typos_only_on_whole_message() -> None:
    # "stpo" alone is a typo of STOP; inside a sentence it is just a word.
    assert parse("stpo i morgen").kind is not STOP
    assert parse("gidt og jeg er træt").kind is FREE


@pytest.mark.parametrize(
    ("a", "b"),
    [("HJÆLP", "hjaelp"), ("Dårligt", "daarligt"), ("Så", "saa"), ("Æble", "aeble"),
     ("Søren", "soeren"), ("hjææælp", "hjælp"), ("Café", "cafe")],
)
def test_fold(a: str, b: str) -> None:
    assert fold(a) == fold(b)


# --- properties -----------------------------------------------------------------------------


def _check_invariants(intent: Intent) -> None:
    assert isinstance(intent, Intent)
    assert isinstance(intent.kind, IntentKind)
    if intent.kind is CHECKIN:
        assert intent.answer in (1, 2, 3)
    else:
        assert intent.answer is None
    if intent.kind is EMPTY:
        assert intent.text is None
    if intent.kind in (FREE, CRISIS, CALL, STOP, START, INFO):
        assert intent.text
    if intent.text is not None:
        intent.text.encode("utf-8")
        assert "\x00" not in intent.text


@settings(max_examples=500)
@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    _check_invariants(parse(text))


@settings(max_examples=50)
@given(st.text(min_size=1, max_size=300).map(lambda s: (s * (10_000 // len(s) + 1))[:10_000]))
def test_never_raises_on_long_text(text: str) -> None:
    _check_invariants(parse(text))


@given(
    st.lists(
        st.sampled_from(
            ["1", "2", "3", "ok", "stop", "hjælp", "jeg", "vil", "dø", "ring", "mig", "godt",
             "ikke", "👍", "😢", ":)", ".", "!", " ", "\n", "start", "info", "selvmord", "træt"]
        ),
        max_size=12,
    )
)
def test_never_raises_on_keyword_soup(parts: list[str]) -> None:
    _check_invariants(parse(" ".join(parts)))


KEYWORDS = [
    "stop", "afmeld", "start", "tilmeld", "info", "ring", "ring mig", "call me", "hjælp",
    "help", "godt", "fint", "ok", "skidt", "så som så", "dårligt", "1", "2", "3",
]


def _recase(text: str, flips: list[bool]) -> str:
    flips = flips + [False] * len(text)
    return "".join(c.upper() if f else c.lower() for c, f in zip(text, flips, strict=False))


@given(
    keyword=st.sampled_from(KEYWORDS),
    flips=st.lists(st.booleans(), max_size=12),
    before=st.sampled_from(["", " ", "  ", "\n", "\t "]),
    after=st.sampled_from(["", " ", ".", "!", "!!", " \n", "?"]),
)
def test_keywords_survive_case_and_whitespace(
    keyword: str, flips: list[bool], before: str, after: str
) -> None:
    base = parse(keyword)
    varied = parse(before + _recase(keyword, flips) + after)
    assert (varied.kind, varied.answer) == (base.kind, base.answer)
    assert base.kind is not FREE


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_parse_is_deterministic(text: str) -> None:
    assert parse(text) == parse(text)
