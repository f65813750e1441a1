"""The folded tables the intent parser matches against, built once from ``data/*.txt``.

Each table maps a phrase (a tuple of folded words) to its meaning and the phrase as written in
the file; ``*_FUZZY`` are the entries flagged ``~``/``~strict`` for typo tolerance. Command
values are :class:`bot.tenants.intents.IntentKind` values as strings, answers are 1, 2 or 3.
"""

from __future__ import annotations

from bot.tenants import word_lists
from bot.tenants.typos import Fuzzy, fuzzy_entries
from bot.tenants.wording import phrase, words

Table = dict[tuple[str, ...], tuple[object, str]]


def _table(*lists: tuple[str, object]) -> Table:
    return {
        phrase(e.text): (value, e.text)
        for name, value in lists
        for e in word_lists.entries(name)
    }


def _fuzzy(*lists: tuple[str, object]) -> tuple[Fuzzy, ...]:
    return fuzzy_entries((e, value) for name, value in lists for e in word_lists.entries(name))


def _phrases(name: str) -> list[tuple[str, ...]]:
    return sorted((phrase(e.text) for e in word_lists.entries(name)), key=len, reverse=True)


_COMMAND_LISTS = (("command_stop", "stop"), ("command_start", "start"),
                  ("command_info", "help_info"))
_CHECKIN_LISTS = (("answer_1_good", 1), ("answer_2_so_so", 2), ("answer_3_need_help", 3))

# Politeness and padding around a command ("stop tak", "afmeld mig venligst", "START igen").
# Stripped from the ends only, so a phrase like "hvem er du" keeps its middle.
COMMAND_FILLER = words(word_lists.words("command_filler"))
COMMANDS = _table(*_COMMAND_LISTS)
COMMAND_FUZZY = _fuzzy(*_COMMAND_LISTS)

# Greetings and thanks before or after the real content.
COURTESY = words(word_lists.words("courtesy"))
# Greetings that start with an answer word: "god morgen" is not "god" (good).
GREETINGS = [phrase(e.text) for e in word_lists.entries("greetings")]
# Lead-ins stripped before looking for an answer. A number may follow only the first kind:
# "svar 2" is an answer, "det er 3 uger siden" and "jeg har det 2 gange" are not.
ANSWER_PREFIXES = _phrases("answer_prefixes")
STATE_PREFIXES = _phrases("state_prefixes")

CHECKIN = _table(*_CHECKIN_LISTS)
# Number words only count as the whole message: "en" and "to" are everyday words.
WHOLE_ONLY = {
    phrase(e.text)
    for name, _ in _CHECKIN_LISTS
    for e in word_lists.entries(name)
    if "=whole" in e.flags
}
CHECKIN_FUZZY = _fuzzy(*_CHECKIN_LISTS)

CALL_WHOLE = _table(("call_me_whole", "call_me"))
CALL_ANYWHERE = _table(("call_me_anywhere", "call_me"))
RING_FUZZY = _fuzzy(("call_me_whole", "call_me"))
NEGATION = words(word_lists.words("negation"))
