"""Mood emoji and emoticons as check-in answers: "👍" is 1, "😐" is 2, ":(" is 3.

The emoji are listed in ``data/mood_emoji.txt``; emoticons are a pattern, so they live here.
"""

from __future__ import annotations

import re

from bot.tenants import word_lists

__all__ = ["moods"]

# Skin tones, variation selectors and ZWJ sequences are not listed: they are simply skipped.
_EMOJI = word_lists.mood_emoji()
_EMOTICON = re.compile(
    r"(?P<e1>[:;=]-?[)D\]]|<3|\(:)|(?P<e2>:-?[|/\\]|:-?S)|(?P<e3>:'?-?\()"
)


def _emoticon_answer(m: re.Match[str]) -> int:
    return 1 if m.group("e1") else 2 if m.group("e2") else 3


def moods(text: str, pos: int, *, leading: bool) -> tuple[int, str, int] | None:
    """Mood emoji and emoticons from ``pos`` (with ``leading``: only those before the first
    letter or digit): the worst answer among them, what matched, and where they end."""
    worst, seen, end = 0, [], pos
    i = pos
    while i < len(text):
        ch = text[i]
        if leading and ch.isalnum():
            break
        m = _EMOTICON.match(text, i)
        if m:
            worst, end = max(worst, _emoticon_answer(m)), m.end()
            seen.append(m.group())
            i = m.end()
            continue
        if ch in _EMOJI:
            worst, end = max(worst, _EMOJI[ch]), i + 1
            seen.append(ch)
        i += 1
    return (worst, "".join(seen), end) if worst else None
