"""Term lists matched anywhere in a message: crisis, violence and need-help language.

Each list is a file in ``data/`` (format in ``data/README.md``): one phrase per line, ``word*``
for a word and its endings, a lone ``*`` for zero to two words in between. Terms and messages
are folded the same way (:func:`bot.tenants.wording.fold`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.tenants import word_lists
from bot.tenants.typos import one_edit
from bot.tenants.wording import Token, tokens, words

__all__ = ["CRISIS", "NEED_HELP", "VIOLENCE", "TermList"]


_WORD_START = r"(?<!\S)"  # every term starts a word


@dataclass(frozen=True, slots=True)
class _Term:
    term: str  # as written in the data file, for Intent.matched and audit
    pattern: re.Pattern[str]
    fuzzy_word: str | None  # single long word (or word stem) that also matches with one typo
    own_words: frozenset[str]  # the term's own words: a negation among them is meant


def _compile(term: str) -> _Term | None:
    parts: list[str] = []
    found: list[str] = []
    for raw in term.split():
        if raw == "*":
            parts.append(r"(?:\S+ ){0,2}")
            continue
        prefix = raw.endswith("*")
        folded = [t.folded for t in tokens(raw.rstrip("*"))]
        if not folded:
            continue
        found.extend(folded)
        for i, word in enumerate(folded):
            tail = r"\S*" if prefix and i == len(folded) - 1 else ""
            parts.append(re.escape(word) + tail + " ")
    if not found:
        return None
    # Matched against " ".join(tokens) + " ", so every word is followed by exactly one space.
    pattern = re.compile(_WORD_START + "".join(parts))
    fuzzy = found[0] if len(found) == 1 and len(found[0]) >= 7 else None
    return _Term(term, pattern, fuzzy, frozenset(found))


@dataclass(frozen=True)
class TermList:
    """One term file. ``typos``: single words of 7+ letters also match with one slip (where a
    false alarm is cheap). ``negatable``: a negation just before a term cancels it ("jeg er
    ikke bange"); crisis and violence terms are never negatable - "jeg vil ikke dø" alerts."""

    name: str
    typos: bool
    negatable: bool

    @functools.cached_property
    def _terms(self) -> tuple[_Term, ...]:
        compiled = (_compile(e.text) for e in word_lists.entries(self.name))
        return tuple(t for t in compiled if t is not None)

    @functools.cached_property
    def _any(self) -> re.Pattern[str] | None:
        """All the list's patterns as one alternation: most messages hold none of the terms,
        and one scan in C says so instead of a Python loop over every term's pattern."""
        if not self._terms:
            return None
        return re.compile(r"(?<!\S)(?:" + "|".join(
            t.pattern.pattern.removeprefix(_WORD_START) for t in self._terms) + ")")

    @functools.cached_property
    def _fuzzy(self) -> tuple[_Term, ...]:
        return tuple(t for t in self._terms if t.fuzzy_word)

    def terms(self) -> tuple[str, ...]:
        """The terms as written in the file."""
        return tuple(t.term for t in self._terms)

    def find(self, toks: Sequence[Token]) -> str | None:
        """The first term of this list in the message, as written in the file, or None."""
        if not toks:
            return None
        joined = " ".join(t.folded for t in toks) + " "
        if self._any is None or self._any.search(joined) is not None:
            found = self._first(joined)
            if found is not None:
                return found
        if not self.typos:
            return None
        long_words = {t.folded for t in toks if len(t.folded) >= 6 and t.folded.isalpha()}
        if not long_words:
            return None
        for term in self._fuzzy:
            if term.fuzzy_word and any(
                one_edit(w, term.fuzzy_word, substitution="any", deletion=True)
                for w in long_words
            ):
                return term.term
        return None

    def _first(self, joined: str) -> str | None:
        """The first term in file order that matches ``joined`` (and is not negated)."""
        for term in self._terms:
            for m in term.pattern.finditer(joined):
                if not (self.negatable and _negated(joined, m, term.own_words)):
                    return term.term
        return None


_NEGATION = words(word_lists.words("negation"))


def _negated(joined: str, m: re.Match[str], own_words: frozenset[str]) -> bool:
    # A negation in the two words before the match ("ikke bange") or caught by a wildcard
    # ("jeg er ikke bange" against "jeg er * bange"); "har det ikke godt" means what it says.
    before = joined[: m.start()].split()[-2:]
    inside = [w for w in m.group().split() if w not in own_words]
    return any(w in _NEGATION for w in (*before, *inside))


CRISIS = TermList("crisis_terms", typos=True, negatable=False)
VIOLENCE = TermList("violence_terms", typos=True, negatable=False)
NEED_HELP = TermList("need_help_terms", typos=False, negatable=True)
