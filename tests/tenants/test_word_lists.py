"""The intent word lists are data files beside each other, each one described and loadable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.tenants import word_lists
from bot.tenants.intents import IntentKind, parse

DATA = Path(word_lists.__file__).parent / "data"
FILES = sorted(p.stem for p in DATA.glob("*.txt"))


def test_every_list_is_a_described_data_file() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert len(FILES) >= 18
    for name in FILES:
        assert f"`{name}.txt`" in readme, f"describe data/{name}.txt in data/README.md"


@pytest.mark.parametrize("name", [n for n in FILES if n != "mood_emoji"])
def test_every_list_loads(name: str) -> None:
    assert word_lists.entries(name)


def test_mood_emoji_cover_the_three_answers() -> None:
    assert set(word_lists.mood_emoji().values()) == {1, 2, 3}


def test_an_unknown_flag_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(word_lists, "_lines", lambda name: ["stop ~typo"])
    with pytest.raises(ValueError, match="unknown flag"):
        word_lists.entries.__wrapped__("command_stop")


def test_flags_from_the_files_take_effect() -> None:
    assert parse("stpo").kind is IntentKind.STOP  # "stop ~strict": a swapped letter
    assert parse("stol").kind is not IntentKind.STOP  # ... but never a changed one
    assert parse("to").answer == 2  # "to =whole"
    assert parse("to dage siden").kind is IntentKind.FREE_TEXT
