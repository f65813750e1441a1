"""Catalogues in sync with the code, tenant texts cheap and safe (bot/core/i18n.py, texts)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.checkins import texts as checkin_texts
from bot.core import i18n
from bot.core.i18n import sms_text
from bot.core.segments import is_gsm7, segments
from bot.tenants import texts
from bot.tenants.intents import IntentKind, parse

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"
LOCALE_DIR = BOT_DIR / "locale"

# Realistic names, including a long double-barrelled Danish one and one outside GSM-7.
NAMES = ["Marie-Louise Østergaard-Kristiansen", "Bo", "Zoë Ødegård", "Jens-Christian"]
SAMPLE_PARAMS: dict[str, list[object]] = {
    "name": NAMES,
    "answer": [1, 2, 3],
    "told": [True, False],
    # None, a Danish mobile, a long foreign number: STOP's reply must fit all of them.
    "caseworker_phone": [None, "+4520123456", "+4917612345678", "+4570201201"],
}


WEBHOOKS_DIR = BOT_DIR.parent / "webhooks"
# The dashboard translates with _() in its modules and templates (webhooks/dashboard/__init__.py).
WEB_KEYWORDS: dict[str, tuple[int, ...] | None] = {**i18n.EXTRACT_KEYWORDS, "_": None}
WEB_METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]


def _extracted() -> dict[str, list[str]]:
    """Every msgid marked in bot/ and in the dashboard (webhooks/, Python and Jinja templates)
    -> where it is marked (for error messages)."""
    found: dict[str, list[str]] = {}
    sources = [(BOT_DIR, "bot", [("**.py", "python")], i18n.EXTRACT_KEYWORDS),
               (WEBHOOKS_DIR, "webhooks", WEB_METHODS, WEB_KEYWORDS)]
    for folder, prefix, methods, keywords in sources:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(folder), method_map=methods, keywords=keywords
        ):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    found.setdefault(msgid, []).append(f"{prefix}/{filename}:{lineno}")
    return found


EXTRACTED = _extracted()


def _po(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as fh:
        return read_po(fh, locale=lang, domain=i18n.DOMAIN)


def _entries(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id)  # skip the header


def _ids(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    s = message.string
    return tuple(s) if isinstance(s, (tuple, list)) else (s,)


def _fields(text: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(text) if field is not None}


def test_extraction_finds_the_tenant_texts() -> None:
    assert checkin_texts.CHECKIN_PROMPT in EXTRACTED
    assert texts.CRISIS_REPLY in EXTRACTED
    assert len(EXTRACTED) >= 14


def test_extraction_finds_the_dashboard_texts() -> None:
    """Templates (Jinja _()), dashboard modules (_()) and label tables (N_) are all covered."""
    assert any("templates/dashboard/queue.html" in w for w in EXTRACTED["Search"])
    assert any("dashboard/views.py" in w for w in EXTRACTED["Note saved."])
    assert any("dashboard/labels.py" in w for w in EXTRACTED["Triggered again"])


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_catalogue_files_exist_and_match_language(lang: str) -> None:
    catalog = _po(lang)
    assert str(catalog.locale) == lang
    assert not catalog.obsolete, f"{lang}: remove obsolete (#~) entries"


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_every_marked_msgid_is_translated(lang: str) -> None:
    catalog = _po(lang)
    problems = []
    for msgid, where in sorted(EXTRACTED.items()):
        message = catalog.get(msgid)
        if message is None:
            # A plural's second form is looked up through its singular.
            if any(msgid in _ids(m) for m in _entries(catalog)):
                continue
            problems.append(f"missing: {msgid!r} (marked at {', '.join(where)})")
        elif message.fuzzy:
            problems.append(f"fuzzy (ignored at runtime): {msgid!r}")
        elif not all(_strings(message)):
            problems.append(f"untranslated: {msgid!r}")
    assert not problems, f"{lang} catalogue:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_no_entries_that_the_code_no_longer_uses(lang: str) -> None:
    extra = [m.id for m in _entries(_po(lang)) if not set(_ids(m)) & EXTRACTED.keys()]
    assert not extra, f"{lang}: entries no longer marked in bot/: {extra}"


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_placeholders_match(lang: str) -> None:
    problems = []
    for message in _entries(_po(lang)):
        wanted = set().union(*(_fields(i) for i in _ids(message)))
        for translated in _strings(message):
            if translated and _fields(translated) != wanted:
                got = sorted(_fields(translated))
                problems.append(f"{message.id!r}: {got} != {sorted(wanted)}")
    assert not problems, "\n".join(problems)


TENANT_MSGIDS = sorted(
    value
    for module in (texts, checkin_texts)
    for name, value in vars(module).items()
    if name.isupper() and isinstance(value, str) and value in EXTRACTED
)


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
@pytest.mark.parametrize("msgid", TENANT_MSGIDS)
def test_tenant_translations_are_gsm7(lang: str, msgid: str) -> None:
    # Checked on the raw catalogue too, so a translator sees the problem rather than relying on
    # the friendly conversion at render time.
    translated = _po(lang)[msgid].string
    assert is_gsm7(translated), [ch for ch in translated if not is_gsm7(ch)]


def _text_functions() -> list[tuple[str, Callable[..., str]]]:
    """Every tenant SMS text function: replies (tenants) and the check-in question (checkins)."""
    return [
        (name, fn)
        for module in (texts, checkin_texts)
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and fn.__module__ == module.__name__
    ]


def _renderings() -> Iterator[tuple[str, str, str]]:
    """(function, language, rendered text) for every text, language and sample value."""
    for name, fn in _text_functions():
        params = [p for p in inspect.signature(fn).parameters if p != "lang"]
        missing = [p for p in params if p not in SAMPLE_PARAMS]
        assert not missing, f"add sample values for {missing} of texts.{name} to SAMPLE_PARAMS"
        has_lang = "lang" in inspect.signature(fn).parameters
        for lang in i18n.SUPPORTED if has_lang else ("-",):
            combos: list[dict[str, object]] = [{}]
            for p in params:
                combos = [{**c, p: v} for c in combos for v in SAMPLE_PARAMS[p]]
            for kwargs in combos:
                rendered = fn(lang, **kwargs) if has_lang else fn(**kwargs)
                yield name, lang, rendered


RENDERINGS = list(_renderings())


def test_all_text_functions_are_rendered() -> None:
    assert {name for name, _, _ in RENDERINGS} == {name for name, _ in _text_functions()}
    assert len(_text_functions()) >= 14


@pytest.mark.parametrize(("name", "lang", "rendered"), RENDERINGS)
def test_tenant_text_is_gsm7_and_at_most_two_segments(name: str, lang: str, rendered: str) -> None:
    assert rendered.strip()
    assert is_gsm7(rendered), f"{name}/{lang} not GSM-7: {rendered!r}"
    assert segments(rendered) <= 2, f"{name}/{lang} is {segments(rendered)} segments"
    assert "{" not in rendered and "}" not in rendered, "unfilled placeholder"


# Keywords the texts tell tenants to write, and what the parser must make of them.
ADVERTISED = {
    "RING": IntentKind.CALL_ME,
    "CALL": IntentKind.CALL_ME,
    "STOP": IntentKind.STOP,
    "START": IntentKind.START,
    "INFO": IntentKind.HELP_INFO,
}


def test_advertised_keywords_are_understood() -> None:
    seen = set()
    for name, lang, rendered in RENDERINGS:
        for word in re.findall(r"\b[A-ZÆØÅ]{3,}\b", rendered):
            assert word in ADVERTISED, (
                f"{name}/{lang} advertises {word}: teach bot/tenants/intents.py")
            seen.add(word)
            assert parse(word).kind is ADVERTISED[word]
            assert parse(word.lower()).kind is ADVERTISED[word]
    assert seen == ADVERTISED.keys()


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_checkin_prompt_offers_the_three_answers(lang: str) -> None:
    prompt = checkin_texts.checkin_prompt(lang, "Søren")
    assert "Søren" in prompt
    for digit in "123":
        assert digit in prompt
    assert prompt.startswith("Hej Søren" if lang == "da" else "Hi Søren")


def test_danish_prompt_wording() -> None:
    assert checkin_texts.checkin_prompt("da", "Anna").startswith(
        "Hej Anna. Hvordan går det? Svar 1 godt, 2 så som så, 3 brug for hjælp"
    )


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_crisis_reply_has_emergency_numbers_and_says_caseworker_alerted(lang: str) -> None:
    reply = texts.crisis_reply(lang)
    assert "112" in reply
    assert "Livslinien" in reply
    assert "70 201 201" in reply
    assert ("kontaktperson" if lang == "da" else "caseworker") in reply


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_safety_relevant_texts(lang: str) -> None:
    caseworker = "kontaktperson" if lang == "da" else "caseworker"
    assert caseworker in texts.reply_need_help(lang)
    assert "112" in texts.reply_need_help(lang)
    assert caseworker in texts.free_text_received(lang)
    stop = texts.stop_confirmation(lang)
    assert "START" in stop and caseworker in stop
    assert "STOP" in texts.start_confirmation(lang)
    info = texts.help_info(lang)
    assert "STOP" in info and "Livslinien 70 201 201" in info and "112" in info


def test_reply_to_answer() -> None:
    assert texts.reply_to_answer("da", 1) == texts.reply_good("da")
    assert texts.reply_to_answer("da", 2) == texts.reply_so_so("da")
    assert texts.reply_to_answer("da", 3) == texts.reply_need_help("da")
    assert texts.reply_to_answer("en", 99) == texts.reply_need_help("en")  # unknown: be safe


def test_unknown_sender_is_bilingual_and_has_no_data() -> None:
    reply = texts.unknown_sender()
    danish, english = reply.split("\n")
    assert danish == sms_text("da", texts.UNKNOWN_SENDER)
    assert english == sms_text("en", texts.UNKNOWN_SENDER)
    assert danish != english
    assert "112" in danish and "112" in english
    assert segments(reply) <= 2


def test_danish_and_english_differ() -> None:
    for name, fn in _text_functions():
        if "lang" in inspect.signature(fn).parameters and name != "reply_to_answer":
            kwargs = {"name": "Bo"} if "name" in inspect.signature(fn).parameters else {}
            assert fn("da", **kwargs) != fn("en", **kwargs), name


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("da", "da"), ("en", "en"), ("DA", "da"), ("da-DK", "da"), ("en_GB", "en"), ("de", "da"),
     ("", "da"), (None, "da"), ("xx-yy", "da")],
)
def test_normalize_lang(lang: str | None, expected: str) -> None:
    assert i18n.normalize_lang(lang) == expected


def test_gettext() -> None:
    assert i18n.gettext("da", texts.REPLY_GOOD) == "Tak! Hvor er det godt at høre. Hav en god dag."
    assert i18n.gettext("en", texts.REPLY_GOOD) == texts.REPLY_GOOD
    # Unknown language: Danish.
    assert i18n.gettext("sv", texts.REPLY_GOOD) == i18n.gettext("da", texts.REPLY_GOOD)
    assert "Bo" in i18n.gettext("en", checkin_texts.CHECKIN_PROMPT, name="Bo")
    # A msgid without a translation comes back as the (English) source, formatted.
    assert i18n.gettext("da", "Not in any catalogue, {x}", x=1) == "Not in any catalogue, 1"
    # Values are inserted, never interpreted as format strings.
    assert i18n.gettext("en", checkin_texts.CHECKIN_PROMPT, name="{name}").startswith("Hi {name}.")


def test_missing_param_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        i18n.gettext("en", checkin_texts.CHECKIN_PROMPT)


def test_translator_placeholder_slip_falls_back_to_source() -> None:
    assert i18n._format("da", "Hej {navn}", "Hi {name}", {"name": "Bo"}) == "Hi Bo"


def test_ngettext() -> None:
    assert i18n.ngettext("da", "{n} day", "{n} days", 1) == "1 day"
    assert i18n.ngettext("en", "{n} day", "{n} days", 3) == "3 days"


def test_marker_is_identity() -> None:
    assert i18n.N_("Hello") == "Hello"


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_violence_reply_gives_lev_uden_vold_and_112(lang: str) -> None:
    reply = texts.violence_reply(lang)
    assert "1888" in reply and "levudenvold.dk" in reply and "112" in reply
    assert "Lev Uden Vold" in reply
    assert ("gratis og anonymt" if lang == "da" else "free and anonymous") in reply
    assert ("døgnet rundt" if lang == "da" else "day and night") in reply
    assert ("kontaktperson" if lang == "da" else "caseworker") in reply


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_stop_reply_gives_the_caseworkers_number_readably(lang: str) -> None:
    assert "20 12 34 56" in texts.stop_confirmation(lang, "+4520123456")
    assert "+49 176 12345678" in texts.stop_confirmation(lang, "+4917612345678")
    assert "START" in texts.stop_confirmation(lang, "+4520123456")
    assert not re.search(r"\d", texts.stop_confirmation(lang))


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_info_says_what_1_2_and_3_mean(lang: str) -> None:
    info = texts.help_info(lang)
    meanings = (
        ("1, hvis det går godt", "2, hvis det går så som så", "3, hvis du har brug for hjælp")
        if lang == "da" else ("1 if things are good", "2 if so-so", "3 if you need help"))
    for meaning in meanings:
        assert meaning in info


def test_danish_asks_whether_you_need_to_talk_to_someone() -> None:
    for text in (texts.help_info("da"), texts.reply_so_so("da")):
        assert "Har du brug for at tale med nogen?" in text
        assert "Brug for at tale?" not in text


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_a_greeting_gets_a_warm_reply_without_112(lang: str) -> None:
    reply = texts.greeting_received(lang)
    assert "112" not in reply
    assert ("kontaktperson" if lang == "da" else "caseworker") in reply
