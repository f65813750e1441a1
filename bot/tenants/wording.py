"""Turning a tenant's raw SMS into text that is safe to keep and words that are easy to match.

Every list in ``data/`` and every message is folded the same way (:func:`fold`), so word lists
are written naturally ("hjælp", "slå mig ihjel") and match "HJAELP", "hjalp", "sla mig ihjel".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Token", "clean", "fold", "phrase", "tokens", "words"]


def clean(raw: object) -> str:
    """The message as text that is safe to store and show: valid Unicode, NFKC, no controls."""
    if raw is None:
        return ""
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw).decode("utf-8", "replace")
    if not isinstance(raw, str):
        raw = str(raw)
    # Join surrogate pairs and replace lone surrogates: they cannot be encoded or stored.
    text = raw.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = unicodedata.normalize("NFKC", text)
    # Control characters (NUL breaks PostgreSQL text) become spaces; newlines stay.
    text = "".join(
        ch if ch == "\n" or unicodedata.category(ch) != "Cc" else " " for ch in text
    )
    return text.strip()


_RUNS = re.compile(r"(.)\1{2,}")


def fold(word: str) -> str:
    """Fold a word for matching: case, accents, Danish letters and their ASCII spellings.

    ``æ``/``ae`` -> ``a``, ``ø``/``oe`` -> ``o``, ``å``/``aa`` -> ``a``, other accents dropped,
    runs of 3+ equal characters collapsed ("hjææælp", "HJAELP", "hjalp" all give "hjalp").
    """
    s = word.casefold()
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = s.replace("æ", "a").replace("ø", "o").replace("å", "a")
    s = _RUNS.sub(r"\1", s)
    return s.replace("ae", "a").replace("oe", "o").replace("aa", "a")


def words(items: tuple[str, ...]) -> frozenset[str]:
    """A word list (see :func:`bot.tenants.word_lists.words`), folded."""
    return frozenset(fold(w) for w in items)


# Letters and digits; the underscore is punctuation to a tenant.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Token:
    folded: str
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """The words of ``text``, folded, with where each stands in the text."""
    out = []
    for m in _WORD.finditer(text):
        folded = fold(m.group())
        if folded:
            out.append(Token(folded, m.start(), m.end()))
    return out


def phrase(text: str) -> tuple[str, ...]:
    return tuple(t.folded for t in tokens(text))
