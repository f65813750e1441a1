"""Translations for everything the service says: Danish first, English second.

Source messages (msgids) are English and live in code; translations live in gettext catalogues
``bot/locale/<lang>/LC_MESSAGES/messages.po``. The ``.po`` files are read at runtime with Babel
and compiled to an in-memory ``.mo`` once per language, so there is no build step and no stale
``.mo`` file can shadow an edited ``.po``.

Placeholders use ``str.format`` names: ``"Hi {name}."``. A literal brace is written ``{{``.

Adding or changing a message
----------------------------
1. In code, wrap the English text in a marker so extraction finds it, either at module level
   (``GREETING = N_("Hi {name}.")`` and later ``gettext(lang, GREETING, name=...)``) or inline
   (``gettext(lang, "Hi {name}.", name=...)``; the msgid must be a string literal). Tenant SMS
   texts belong in :mod:`bot.tenants.texts`; other audiences (caseworker alerts, landlord
   Telegram bot) can keep theirs in their own module under ``bot/``.
2. Add the same msgid to **both** ``bot/locale/da/LC_MESSAGES/messages.po`` and
   ``bot/locale/en/LC_MESSAGES/messages.po`` with a non-empty msgstr (in ``en`` usually a copy of
   the msgid) and the same placeholders. Do not mark entries ``#, fuzzy`` - fuzzy entries are
   ignored at runtime. When a msgid changes, change it in both files and remove the old entry.
3. Run ``pytest tests/core/test_i18n.py``: it extracts every marked msgid from ``bot/`` and fails on
   any missing, untranslated, fuzzy, obsolete or placeholder-mismatched entry, and on tenant
   texts that are not GSM-7 or longer than two SMS segments.
"""

from __future__ import annotations

import functools
import gettext as _gettext
import importlib.resources
import logging
from collections.abc import Callable
from io import BytesIO
from string import Formatter

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.core.segments import to_gsm7_friendly

__all__ = [
    "DEFAULT",
    "DOMAIN",
    "EXTRACT_KEYWORDS",
    "N_",
    "SUPPORTED",
    "catalog",
    "gettext",
    "ngettext",
    "normalize_lang",
]

log = logging.getLogger(__name__)

SUPPORTED: tuple[str, ...] = ("da", "en")
DEFAULT = "da"
DOMAIN = "messages"

# Keyword spec for babel.messages.extract: the marker, and the msgid positions (1-based) of
# this module's gettext/ngettext, whose first argument is the language.
EXTRACT_KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "N_": None,
    "gettext": (2,),
    "ngettext": (2, 3),
}


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it (translate later with a language)."""
    return msgid


def normalize_lang(lang: str | None) -> str:
    """``"da-DK"``, ``"EN_gb"`` -> ``"da"``, ``"en"``; anything unsupported -> Danish."""
    if not lang:
        return DEFAULT
    base = str(lang).strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in SUPPORTED else DEFAULT


@functools.cache
def catalog(lang: str) -> Catalog:
    """The Babel catalogue parsed from ``bot/locale/<lang>/LC_MESSAGES/messages.po``."""
    lang = normalize_lang(lang)
    po = importlib.resources.files("bot").joinpath(f"locale/{lang}/LC_MESSAGES/{DOMAIN}.po")
    with po.open("rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


@functools.cache
def _translations(lang: str) -> _gettext.GNUTranslations:
    buf = BytesIO()
    write_mo(buf, catalog(lang), use_fuzzy=False)  # fuzzy = unreviewed: never sent
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def _format(lang: str, translated: str, source: str, params: dict[str, object]) -> str:
    try:
        return translated.format(**params)
    except (KeyError, IndexError, ValueError):
        if translated == source:
            raise  # the msgid itself is broken: a programming error
        # A translator's slip in a placeholder must not stop an SMS; send the English source.
        log.error("bad placeholder in %s translation of %r", lang, source)
        return source.format(**params)


def gettext(lang: str | None, msgid: str, **params: object) -> str:
    """``msgid`` translated to ``lang`` (unsupported -> Danish), with ``{name}`` params filled."""
    lang = normalize_lang(lang)
    return _format(lang, _translations(lang).gettext(msgid), msgid, params)


def ngettext(
    lang: str | None, singular: str, plural: str, n: int, **params: object
) -> str:
    """Plural-aware :func:`gettext`; ``{n}`` is available as a placeholder."""
    lang = normalize_lang(lang)
    translated = _translations(lang).ngettext(singular, plural, n)
    source = singular if n == 1 else plural
    return _format(lang, translated, source, {"n": n, **params})


def sms_text(lang: str | None, msgid: str, **params: object) -> str:
    """A catalogue text for an SMS: translated, then kept GSM-7 (a name like "Zoë" or a curly
    quote must not switch the message to UCS-2 and double its cost)."""
    return to_gsm7_friendly(gettext(lang, msgid, **params))


_HOLE = "\x00"  # stands for the filled-in value while a template is rendered once


def _plain_fields(template: str, param: str) -> bool:
    """True if every placeholder of `template` is a bare ``{param}`` (no spec, no conversion)."""
    try:
        return all(field in (None, param) and not spec and not conversion
                   for _text, field, spec, conversion in Formatter().parse(template))
    except ValueError:
        return False


def sms_filler(lang: str | None, msgid: str, param: str) -> Callable[[str], str]:
    """``lambda value: sms_text(lang, msgid, **{param: value})``, translated and made GSM-7
    once: per call only the value is made GSM-7 and put in (the check-in planner renders a
    prompt per tenant, thousands per batch).

    Exact because the GSM-7 repair works character by character. A template with anything
    but bare ``{param}`` placeholders falls back to :func:`sms_text` per call.
    """
    translated = _translations(normalize_lang(lang)).gettext(msgid)
    if not (_plain_fields(translated, param) and _plain_fields(msgid, param)):
        return lambda value: sms_text(lang, msgid, **{param: value})
    parts = [to_gsm7_friendly(part)
             for part in gettext(lang, msgid, **{param: _HOLE}).split(_HOLE)]

    def fill(value: str) -> str:
        return to_gsm7_friendly(value).join(parts)

    return fill
