"""Typo tolerance for keywords: conservative, so a real word is never read as a command.

Only a message that is a single word (after filler) is corrected, only for words of 4+ letters,
by one slip, and never into a word on ``data/real_words.txt`` ("stol", "stor", "font", "født"
stay themselves). A word within one slip of two different meanings is not corrected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.tenants import word_lists
from bot.tenants.wording import fold, words

__all__ = ["Fuzzy", "correct", "fuzzy_entries", "one_edit"]

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, frozenset[str]]:
    # Staggered QWERTY: a key touches its row neighbours, two keys above and two below.
    pos = {ch: (r, c) for r, row in enumerate(_KEYBOARD_ROWS) for c, ch in enumerate(row)}
    near: dict[str, set[str]] = {ch: set() for ch in pos}
    for a, (ra, ca) in pos.items():
        for b, (rb, cb) in pos.items():
            if (ra == rb and abs(ca - cb) == 1) or (rb == ra + 1 and cb in (ca - 1, ca)):
                near[a].add(b)
                near[b].add(a)
    return {k: frozenset(v) for k, v in near.items()}


_NEAR = _keyboard_neighbours()

Substitution = Literal["none", "near", "any"]


def one_edit(typed: str, word: str, *, substitution: Substitution, deletion: bool) -> bool:
    """``typed`` is ``word`` with exactly one slip: swapped neighbours, one extra letter,
    optionally one missing letter, optionally one changed letter (any, or a neighbouring key)."""
    lt, lw = len(typed), len(word)
    if lt == lw:
        diff = [i for i in range(lt) if typed[i] != word[i]]
        if (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and typed[diff[0]] == word[diff[1]]
            and typed[diff[1]] == word[diff[0]]
        ):
            return True
        if len(diff) != 1 or substitution == "none":
            return False
        return substitution == "any" or typed[diff[0]] in _NEAR.get(word[diff[0]], frozenset())
    if lt == lw + 1:
        return any(typed[:i] + typed[i + 1 :] == word for i in range(lt))
    if deletion and lt == lw - 1:
        return any(word[:i] + word[i + 1 :] == typed for i in range(lw))
    return False


# Real words one slip away from a keyword: they mean themselves, never a keyword.
_REAL_WORDS = words(word_lists.words("real_words"))

_MIN_FUZZY = 4


@dataclass(frozen=True, slots=True)
class Fuzzy:
    word: str  # folded
    value: object
    label: str
    strict: bool  # no substitutions: for keywords that change what we may send


def fuzzy_entries(pairs: Iterable[tuple[word_lists.Entry, object]]) -> tuple[Fuzzy, ...]:
    """The entries flagged ``~`` or ``~strict``, as candidates for :func:`correct`."""
    return tuple(
        Fuzzy(fold(e.text), value, e.text, strict="~strict" in e.flags)
        for e, value in pairs
        if e.flags & {"~", "~strict"}
    )


def correct(word: str, candidates: Iterable[Fuzzy]) -> Fuzzy | None:
    """The single meaning ``word`` is a typo of, or None (unknown, real word or ambiguous)."""
    if len(word) < _MIN_FUZZY or not word.isalpha() or word in _REAL_WORDS:
        return None
    hits = [
        c
        for c in candidates
        if len(c.word) >= _MIN_FUZZY
        and one_edit(
            word,
            c.word,
            substitution="none" if c.strict else "near",
            deletion=len(c.word) >= (6 if c.strict else 5),
        )
    ]
    if len({h.value for h in hits}) != 1:
        return None
    return hits[0]
