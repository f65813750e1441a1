"""Danish and English read alike: a parallel corpus of everyday phrasings (issue 14).

"jeg har det ikke godt" alerted the caseworker while "I don't feel good" did not. Each line of
``data/everyday_phrasings.tsv`` is one thing said both ways; both must get the same, expected
reading. Pure parsing: no database involved.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from bot.tenants.intents import Intent, IntentKind, parse

CORPUS = Path(__file__).parent / "data" / "everyday_phrasings.tsv"


class Pair(NamedTuple):
    expected: str
    danish: str
    english: str


def _pairs() -> list[Pair]:
    pairs = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            expected, danish, english = line.split("\t")
            pairs.append(Pair(expected, danish, english))
    return pairs


PAIRS = _pairs()


def _reading(intent: Intent) -> str:
    if intent.kind is IntentKind.CHECKIN_ANSWER:
        return {1: "good", 2: "so_so", 3: "need_help"}[intent.answer or 0]
    return intent.kind.value


def test_the_corpus_covers_every_topic_with_at_least_60_pairs() -> None:
    assert len(PAIRS) >= 60
    text = CORPUS.read_text(encoding="utf-8")
    for topic in ("not ok", "sad", "lonely", "can't cope", "no money", "no food",
                  "thrown out", "hurt", "drunk / high", "scared"):
        assert f"# --- {topic} ---" in text
    assert {p.expected for p in PAIRS} >= {"need_help", "violence", "crisis"}


@pytest.mark.parametrize("pair", PAIRS, ids=[p.english[:40] for p in PAIRS])
def test_danish_and_english_get_the_same_reading(pair: Pair) -> None:
    danish, english = _reading(parse(pair.danish)), _reading(parse(pair.english))
    assert (danish, english) == (pair.expected, pair.expected), pair
