"""The word lists that intent parsing reads: plain-text files in ``bot/tenants/data/``.

Each list is its own file, so a caseworker or translator can add a phrasing without touching
code; the format (one entry per line, ``#`` comments, flags such as ``~strict``) is described in
``bot/tenants/data/README.md``. Files are read once per process.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass

__all__ = ["FLAGS", "Entry", "entries", "mood_emoji", "words"]

# ~        also recognised with one typo (swapped, extra or missing letter, neighbouring key)
# ~strict  also with one typo, but never a changed letter (for words that change what we send)
# =whole   only when it is the whole message ("en", "to": everyday words otherwise)
FLAGS = frozenset({"~", "~strict", "=whole"})


@dataclass(frozen=True, slots=True)
class Entry:
    text: str  # as written in the file, flags removed
    flags: frozenset[str]


def _lines(name: str) -> list[str]:
    source = importlib.resources.files("bot.tenants").joinpath(f"data/{name}.txt")
    out = []
    for raw in source.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


@functools.cache
def entries(name: str) -> tuple[Entry, ...]:
    """The phrases of list ``name`` (file ``data/<name>.txt``), one per line, with their flags."""
    out = []
    for line in _lines(name):
        parts = line.split()
        flags = frozenset(p for p in parts if p[0] in "~=")
        unknown = flags - FLAGS
        if unknown:
            raise ValueError(f"data/{name}.txt: unknown flag(s) {sorted(unknown)} in {line!r}")
        out.append(Entry(" ".join(p for p in parts if p not in flags), flags))
    return tuple(out)


@functools.cache
def words(name: str) -> tuple[str, ...]:
    """A list of single words (file ``data/<name>.txt``), several per line allowed."""
    return tuple(word for line in _lines(name) for word in line.split())


@functools.cache
def mood_emoji() -> dict[str, int]:
    """Emoji -> check-in answer, from ``data/mood_emoji.txt`` (``<answer> <emoji> ...``)."""
    out: dict[str, int] = {}
    for line in _lines("mood_emoji"):
        answer, *emoji = line.split()
        if answer not in ("1", "2", "3"):
            raise ValueError(f"data/mood_emoji.txt: {line!r} must start with 1, 2 or 3")
        for chars in emoji:
            out.update(dict.fromkeys(chars, int(answer)))
    return out
