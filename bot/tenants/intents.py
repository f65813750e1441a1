"""Understanding what a tenant's SMS means.

Tenants write from cheap phones, in Danish first, short, misspelt, sometimes distressed.
:func:`parse` turns any text into an :class:`Intent` and never raises.

Order of precedence (first that applies wins):

1. ``EMPTY`` - nothing but whitespace/control characters (also, checked last, a message of
   only punctuation such as "..."; a lone "?" is ``HELP_INFO``).
2. ``CRISIS`` - crisis language anywhere in the message (``bot/data/crisis_terms.txt``). It wins
   over everything: "1 men jeg vil dø" is a crisis, "STOP han slår mig" is a crisis.
3. ``STOP`` / ``START`` / ``HELP_INFO`` - only when the *whole* message is the keyword, give or
   take polite filler ("stop tak", "afmeld mig", "START igen"), the way carriers and Twilio treat
   opt-out keywords. "Kan ikke stoppe med at drikke" is not an opt-out.
4. ``CHECKIN_ANSWER`` - a leading 1/2/3 ("2 lidt træt"), a leading answer phrase ("godt",
   "har det skidt", "ikke så godt"), a leading mood emoji or emoticon ("👍", ":("). Words after
   the answer are kept in ``text`` for the caseworker. An answer 1 or 2 whose remaining words ask
   for a call ("fint, men ring til mig") becomes ``CALL_ME`` so the request is not lost behind a
   "good to hear" reply; answer 3 already makes the caseworker get in touch.
5. ``CALL_ME`` - "ring", "ring mig", "kan du ringe", "call me" (not when negated: "du må ikke
   ringe til mig").
6. ``FREE_TEXT`` - anything else; forwarded to the caseworker.

Decisions:

* **HJÆLP / HELP mean "I need help"** and give ``CHECKIN_ANSWER`` with answer 3, which alerts
  the caseworker. The carrier convention that HELP returns an info text is for US short codes;
  our tenants are Danish and some are in distress, and a person who writes "hjælp" must never
  get a leaflet back. Service information is ``INFO`` (also "hjælp info", "help info", "?",
  "hvem er du"). Deployment note: if the Twilio messaging service has Advanced Opt-Out enabled,
  HELP must be removed from its help keywords so Twilio does not auto-answer it before us.
* **Opt-out words mirror Twilio's defaults** (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
  OPTOUT, REVOKE) plus Danish AFMELD, FRAMELD, "hold op": Twilio blocks further messages after
  those anyway, so our state must agree with it. Opt-in is START, UNSTOP, TILMELD; YES is *not*
  opt-in (it is an ordinary answer to a Danish tenant), which can only leave us more careful than
  Twilio, never less.
* **Typo tolerance is conservative.** Only a message that is a single word (after filler) is
  corrected, only for words of 4+ letters, by one edit, and never into a word on a list of real
  Danish/English words ("stol", "stor", "font", "født" stay themselves). STOP/START and INFO
  accept only swapped letters, one extra letter and (for 6+ letters) one missing letter, not a
  changed letter: "stpo"/"stopp" stop, "stol" does not. Check-in words also accept one missing
  letter (5+ letters) and one changed letter if it is a neighbouring key ("gidt" -> godt).
  A word within one edit of two different meanings is not corrected. Crisis terms of 7+
  letters match with one typo ("selvmort"); false alarms there are acceptable.
* Negative phrasing is read as need: "ikke godt" / "not ok" is answer 3, "ikke så godt" is 2.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = ["Intent", "IntentKind", "crisis_terms", "fold", "parse"]

log = logging.getLogger(__name__)


class IntentKind(StrEnum):
    CHECKIN_ANSWER = "checkin_answer"
    CALL_ME = "call_me"
    STOP = "stop"
    START = "start"
    HELP_INFO = "help_info"
    CRISIS = "crisis"
    FREE_TEXT = "free_text"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class Intent:
    """What a tenant's message means.

    ``answer``: 1 good / 2 so-so / 3 need help, only for ``CHECKIN_ANSWER``.
    ``matched``: what triggered the reading - the crisis term as written in the data file, the
    keyword or phrase, the digit or the emoji. ``None`` for ``FREE_TEXT``/``EMPTY``.
    ``text``: the tenant's words worth forwarding to the caseworker: for ``CHECKIN_ANSWER`` the
    words after the answer (``None`` if only the answer and courtesies like "tak"), otherwise
    the whole cleaned message (``None`` for ``EMPTY``).
    ``corrected``: the keyword was recognised through typo tolerance.
    """

    kind: IntentKind
    answer: int | None = None
    matched: str | None = None
    text: str | None = None
    corrected: bool = False

    def __post_init__(self) -> None:
        if self.kind is IntentKind.CHECKIN_ANSWER:
            if self.answer not in (1, 2, 3):
                raise ValueError(f"check-in answer must be 1, 2 or 3, not {self.answer!r}")
        elif self.answer is not None:
            raise ValueError(f"{self.kind} carries no answer")


# --------------------------------------------------------------------------------------------
# Normalisation


def _clean(raw: object) -> str:
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


def _words(*texts: str) -> frozenset[str]:
    return frozenset(fold(w) for text in texts for w in text.split())


# Letters and digits; the underscore is punctuation to a tenant.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class _Token:
    folded: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in _WORD.finditer(text):
        folded = fold(m.group())
        if folded:
            out.append(_Token(folded, m.start(), m.end()))
    return out


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(t.folded for t in _tokens(text))


# --------------------------------------------------------------------------------------------
# Crisis terms


@dataclass(frozen=True, slots=True)
class _CrisisTerm:
    term: str  # as written in the data file, for Intent.matched and audit
    pattern: re.Pattern[str]
    fuzzy_word: str | None  # single long word (or word stem) that also matches with one typo


def _compile_crisis(term: str) -> _CrisisTerm | None:
    parts: list[str] = []
    words: list[str] = []
    for raw in term.split():
        if raw == "*":
            parts.append(r"(?:\S+ ){0,2}")
            continue
        prefix = raw.endswith("*")
        folded = [t.folded for t in _tokens(raw.rstrip("*"))]
        if not folded:
            continue
        words.extend(folded)
        for i, word in enumerate(folded):
            tail = r"\S*" if prefix and i == len(folded) - 1 else ""
            parts.append(re.escape(word) + tail + " ")
    if not words:
        return None
    # Matched against " ".join(tokens) + " ", so every word is followed by exactly one space.
    pattern = re.compile(r"(?<!\S)" + "".join(parts))
    fuzzy = words[0] if len(words) == 1 and len(words[0]) >= 7 else None
    return _CrisisTerm(term, pattern, fuzzy)


@functools.cache
def _crisis() -> tuple[_CrisisTerm, ...]:
    source = importlib.resources.files("bot.tenants").joinpath("data/crisis_terms.txt")
    terms = []
    for line in source.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            compiled = _compile_crisis(line)
            if compiled is not None:
                terms.append(compiled)
    return tuple(terms)


def crisis_terms() -> tuple[str, ...]:
    """The crisis terms as written in ``bot/data/crisis_terms.txt``."""
    return tuple(t.term for t in _crisis())


def _find_crisis(tokens: Sequence[_Token]) -> str | None:
    if not tokens:
        return None
    joined = " ".join(t.folded for t in tokens) + " "
    for term in _crisis():
        if term.pattern.search(joined):
            return term.term
    words = {t.folded for t in tokens if len(t.folded) >= 6 and t.folded.isalpha()}
    for term in _crisis():
        if term.fuzzy_word and any(
            _one_edit(w, term.fuzzy_word, substitution="any", deletion=True) for w in words
        ):
            return term.term
    return None


# --------------------------------------------------------------------------------------------
# Typo tolerance

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


_Substitution = Literal["none", "near", "any"]


def _one_edit(typed: str, word: str, *, substitution: _Substitution, deletion: bool) -> bool:
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
_REAL_WORDS = _words(
    "stol stor stod stok stof step shop stomp strop stoop stoup stuart strat",
    "quiet quite into indo",
    "født fodt font tint flint finte find finde",
    "skid skit skidte skudt slidt farlig farligt darling",
    "whelp hell held hold helt greta goof food hood",
    "ting sing king rang rings bring",
)

_MIN_FUZZY = 4


@dataclass(frozen=True, slots=True)
class _Fuzzy:
    word: str  # folded
    value: object
    label: str
    strict: bool  # no substitutions: for keywords that change what we may send


def _correct(word: str, candidates: Iterable[_Fuzzy]) -> _Fuzzy | None:
    """The single meaning ``word`` is a typo of, or None (unknown, real word or ambiguous)."""
    if len(word) < _MIN_FUZZY or not word.isalpha() or word in _REAL_WORDS:
        return None
    hits = [
        c
        for c in candidates
        if len(c.word) >= _MIN_FUZZY
        and _one_edit(
            word,
            c.word,
            substitution="none" if c.strict else "near",
            deletion=len(c.word) >= (6 if c.strict else 5),
        )
    ]
    if len({h.value for h in hits}) != 1:
        return None
    return hits[0]


# --------------------------------------------------------------------------------------------
# Keyword tables (written naturally, folded at import)


def _table(entries: Iterable[tuple[str, object]]) -> dict[tuple[str, ...], tuple[object, str]]:
    return {_phrase(text): (value, text) for text, value in entries}


# Politeness and padding around a command ("stop tak", "afmeld mig venligst", "START igen").
# Stripped from the ends only, so a phrase like "hvem er du" keeps its middle.
_COMMAND_FILLER = _words(
    "nu tak venligst please pls plz sms smser er beskeder besked beskederne messages texts mig me",
    "alle all jeg i vil gerne bare hej hey hi hello hejsa igen again ok okay det it",
)

_COMMANDS = _table(
    [
        *((w, IntentKind.STOP) for w in (
            "stop", "stoppe", "stopall", "unsubscribe", "cancel", "end", "quit", "optout",
            "opt out", "revoke", "afmeld", "frameld", "hold op", "stop med at skrive",
            "ingen flere", "ikke flere", "ikke have flere", "ikke modtage flere",
            "ønsker ikke flere", "no more messages",
        )),
        *((w, IntentKind.START) for w in ("start", "unstop", "tilmeld", "genstart")),
        *((w, IntentKind.HELP_INFO) for w in (
            "info", "information", "hjælp info", "help info", "hvad er det her", "hvad er dette",
            "hvad er det", "hvem er du", "hvem er det", "hvem er i", "who is this",
            "what is this", "hvad er trygt hjem", "what is trygt hjem",
        )),
    ]
)
_COMMAND_FUZZY = tuple(
    _Fuzzy(fold(w), kind, w, strict=True)
    for w, kind in (
        ("stop", IntentKind.STOP), ("stopall", IntentKind.STOP),
        ("unsubscribe", IntentKind.STOP), ("cancel", IntentKind.STOP),
        ("afmeld", IntentKind.STOP), ("frameld", IntentKind.STOP),
        ("start", IntentKind.START), ("unstop", IntentKind.START),
        ("tilmeld", IntentKind.START), ("info", IntentKind.HELP_INFO),
    )
)

# Greetings and thanks before or after the real content.
_COURTESY = _words(
    "hej hey hi hello hejsa hallo halløj goddag godmorgen godaften dav davs tak thanks thank you",
    "thx tack mange tusind mvh kh hilsen please pls",
)
# Greetings that start with an answer word: "god morgen" is not "god" (good).
_GREETINGS = [
    _phrase(p)
    for p in ("god morgen", "god dag", "god aften", "god eftermiddag", "good morning",
              "good evening", "good afternoon", "godt nytår", "god weekend")
]
# Lead-ins stripped before looking for an answer. A number may follow only the first kind:
# "svar 2" is an answer, "det er 3 uger siden" and "jeg har det 2 gange" are not.
_ANSWER_PREFIXES = sorted(
    (_phrase(p) for p in ("svar", "mit svar er", "nr", "nummer", "answer", "my answer is",
                          "number")),
    key=len, reverse=True,
)
_STATE_PREFIXES = sorted(
    (_phrase(p) for p in (
        "jeg har det", "har det", "det går", "går det", "går", "jeg føler mig", "føler mig",
        "jeg er", "det er", "i dag", "i am", "i'm", "im", "i feel", "feeling", "it's", "its",
        "it is", "today",
    )),
    key=len, reverse=True,
)

_CHECKIN = _table(
    [
        *((w, 1) for w in (
            "godt", "god", "gode", "fint", "fin", "ok", "okay", "okey", "okej", "oki", "oke",
            "super", "fantastisk", "dejligt", "rigtig godt", "meget godt", "helt fint",
            "rigtig fint", "alt er godt", "alt godt", "alt vel", "alt ok", "ganske godt",
            "good", "fine", "great", "all good", "very good", "really good",
            "doing good", "doing well", "doing fine",
        )),
        *((w, 2) for w in (
            "så som så", "sådan da", "sådan lidt", "nogenlunde", "middel", "mellem", "jævnt",
            "okay nok", "skidt", "lidt skidt", "lidt dårligt", "lidt træt", "træt", "træls",
            "ikke så godt", "ikke så fint", "ikke helt godt", "ikke helt fint",
            "ikke rigtig godt", "meh", "so so", "so-so", "not great", "not so good",
            "not too good", "not so great", "could be better", "kunne være bedre", "tired",
        )),
        *((w, 3) for w in (
            "hjælp", "hjælp mig", "hjelp", "hjelp mig", "brug for hjælp", "har brug for hjælp",
            "jeg har brug for hjælp", "skal bruge hjælp", "help", "help me", "need help",
            "i need help", "sos", "dårligt", "dårlig", "rigtig dårligt", "meget dårligt",
            "rigtig skidt", "meget skidt", "virkelig skidt", "elendigt", "elendig", "forfærdeligt",
            "ikke godt", "ikke fint", "ikke ok", "ikke okay", "bad",
            "very bad", "terrible", "awful", "not good", "not ok", "not okay", "not well",
        )),
        ("en", 1), ("et", 1), ("een", 1), ("one", 1),
        ("to", 2), ("two", 2),
        ("tre", 3), ("three", 3),
    ]
)
# Number words only count as the whole message: "en" and "to" are everyday words.
_WHOLE_ONLY = {_phrase(w) for w in ("en", "et", "een", "one", "to", "two", "tre", "three")}
_CHECKIN_FUZZY = tuple(
    _Fuzzy(fold(w), answer, w, strict=strict)
    for w, answer, strict in (
        ("godt", 1, False), ("fint", 1, False), ("okay", 1, False), ("good", 1, True),
        ("fine", 1, True), ("skidt", 2, False), ("dårligt", 3, False), ("dårlig", 3, False),
        ("hjælp", 3, False), ("help", 3, True), ("elendigt", 3, False),
    )
)

_CALL_WHOLE = _table(
    (w, IntentKind.CALL_ME)
    for w in (
        "ring", "ringe", "ring op", "ring til", "ring tilbage", "call", "call back",
        "kan du ringe", "kan du ringe til", "kan du ringe op", "vil du ringe", "opkald",
    )
)
_CALL_ANYWHERE = _table(
    (w, IntentKind.CALL_ME)
    for w in (
        "ring mig", "ring til mig", "ringe til mig", "ringer til mig", "ring mig op",
        "ringe mig op", "kan du ringe", "vil du ringe", "kan i ringe", "vil i ringe",
        "ring tilbage", "ringe tilbage", "call me", "give me a call", "please call",
        "can you call", "vil gerne snakke", "vil gerne tale", "kan vi snakke", "kan vi tale",
        "want to talk", "need to talk", "can we talk",
    )
)
_NEGATION = _words("ikke ik aldrig not dont don't never lad")

# Mood emoji by answer; skin tones, variation selectors and ZWJ sequences are skipped.
_EMOJI: dict[str, int] = {
    **dict.fromkeys("👍🙂😊😀😃😄😁😆☺😌❤♥💪👌✅🥰😍✌😎🤗🥳💚💙💛🧡💜👏☀🌞", 1),
    **dict.fromkeys("😐🤷😑😕🫤😶🙃😬🥱😴🤔", 2),
    **dict.fromkeys("😞😢😭🆘😔😟😩😫😰😨😱😖😣☹🙁👎💔😿🥺😥😓🤕🤒😡😠🤬", 3),
}
_EMOTICON = re.compile(
    r"(?P<e1>[:;=]-?[)D\]]|<3|\(:)|(?P<e2>:-?[|/\\]|:-?S)|(?P<e3>:'?-?\()"
)


# --------------------------------------------------------------------------------------------
# Parsing


# A check-in digit: not part of a bigger number, a decimal, a time or a range ("12", "1.5",
# "2:30", "1-2").
_LEADING_NUMBER = re.compile(r"([123])(?![0-9])(?![.,:/-][0-9])")
_REST_STRIP = " \t\n,.;:!?-)(]['\"/*#"


def _rest(text: str, start: int, courtesy_only: bool) -> str | None:
    """Words after the answer, without leading punctuation or stray emoji modifiers."""
    if courtesy_only:
        return None
    rest = text[start:]
    i = 0
    while i < len(rest) and (
        rest[i] in _REST_STRIP or unicodedata.category(rest[i]) in ("Mn", "Me", "Cf", "Sk")
    ):
        i += 1
    return rest[i:].strip() or None


def _match_at(
    tokens: Sequence[_Token], i: int, table: dict[tuple[str, ...], tuple[object, str]]
) -> tuple[int, object, str] | None:
    """Longest phrase of ``table`` starting at token ``i``: (length, value, label)."""
    for n in range(min(6, len(tokens) - i), 0, -1):
        key = tuple(t.folded for t in tokens[i : i + n])
        if key in table:
            value, label = table[key]
            return n, value, label
    return None


def _starts_with(tokens: Sequence[_Token], i: int, phrase: tuple[str, ...]) -> bool:
    return tuple(t.folded for t in tokens[i : i + len(phrase)]) == phrase


def _skip_courtesy(tokens: Sequence[_Token], i: int) -> int:
    while i < len(tokens):
        if tokens[i].folded in _COURTESY:
            i += 1
            continue
        greeting = next((g for g in _GREETINGS if _starts_with(tokens, i, g)), None)
        if greeting is None:
            break
        i += len(greeting)
    return i


def _only_courtesy(tokens: Sequence[_Token]) -> bool:
    return _skip_courtesy(tokens, 0) == len(tokens)


def _skip_prefix(tokens: Sequence[_Token], i: int, prefixes: list[tuple[str, ...]]) -> int:
    # Only strip when something follows: "har det" alone stays free text.
    for prefix in prefixes:
        if _starts_with(tokens, i, prefix) and i + len(prefix) < len(tokens):
            return i + len(prefix)
    return i


def _emoticon_answer(m: re.Match[str]) -> int:
    return 1 if m.group("e1") else 2 if m.group("e2") else 3


def _moods(text: str, pos: int, *, leading: bool) -> tuple[int, str, int] | None:
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


def _checkin(text: str, tokens: Sequence[_Token]) -> Intent | None:
    i = _skip_courtesy(tokens, 0)
    start = tokens[i - 1].end if i else 0

    mood = _moods(text, start, leading=True)
    if mood is None and i == len(tokens):
        # Only greetings/thanks in words: a mood anywhere still answers ("tak 🙂").
        mood = _moods(text, 0, leading=False)
    if mood is not None:
        answer, matched, end = mood
        after = [t for t in tokens if t.start >= end]
        return Intent(
            IntentKind.CHECKIN_ANSWER, answer, matched, _rest(text, end, _only_courtesy(after))
        )
    if i == len(tokens):
        return None

    # A digit, possibly after "svar"/"nr": "2", " 1.", "svar: 3", "2 lidt træt", "3jeg".
    j = _skip_prefix(tokens, i, _ANSWER_PREFIXES)
    first = tokens[j]
    number = _LEADING_NUMBER.match(text, first.start)
    if number and (first.end == first.start + 1 or first.folded[1:].isalpha()):
        end = first.start + 1
        after = tokens[j + 1 :] if first.end == end else [first, *tokens[j + 1 :]]
        courtesy = first.end == end and _only_courtesy(after)
        return Intent(
            IntentKind.CHECKIN_ANSWER, int(number.group(1)), number.group(1),
            _rest(text, end, courtesy),
        )

    # Answer words, possibly after "jeg har det"/"det går": "godt", "har det skidt".
    for _ in range(3):  # "svar: jeg har det godt", "i dag går det fint"
        nxt = _skip_prefix(tokens, _skip_prefix(tokens, j, _STATE_PREFIXES), _ANSWER_PREFIXES)
        if nxt == j:
            break
        j = nxt
    hit = _match_at(tokens, j, _CHECKIN)
    if hit is not None:
        n, answer, label = hit
        after = tokens[j + n :]
        whole_only = tuple(t.folded for t in tokens[j : j + n]) in _WHOLE_ONLY
        if not (whole_only and not _only_courtesy(after)):
            assert isinstance(answer, int)
            return Intent(
                IntentKind.CHECKIN_ANSWER, answer, label,
                _rest(text, tokens[j + n - 1].end, _only_courtesy(after)),
            )

    # One misspelt word: "gidt", "hjlp", "dårlgt".
    words = [t for t in tokens[j:] if t.folded not in _COURTESY]
    if len(words) == 1:
        fuzzy = _correct(words[0].folded, _CHECKIN_FUZZY)
        if fuzzy is not None:
            assert isinstance(fuzzy.value, int)
            return Intent(
                IntentKind.CHECKIN_ANSWER, fuzzy.value, fuzzy.label, None, corrected=True
            )
    return None


def _core(tokens: Sequence[_Token]) -> tuple[str, ...]:
    """The words of a would-be command without filler at either end; "stop stop" is "stop"."""
    words = [t.folded for t in tokens]
    while words and words[0] in _COMMAND_FILLER:
        words.pop(0)
    while words and words[-1] in _COMMAND_FILLER:
        words.pop()
    if len(set(words)) == 1:
        return (words[0],)
    return tuple(words)


def _command(tokens: Sequence[_Token]) -> Intent | None:
    core = _core(tokens)
    if not core:
        return None
    if core in _COMMANDS:
        kind, label = _COMMANDS[core]
        assert isinstance(kind, IntentKind)
        return Intent(kind, matched=label)
    if len(core) == 1:
        hit = _correct(core[0], _COMMAND_FUZZY)
        if hit is not None:
            assert isinstance(hit.value, IntentKind)
            return Intent(hit.value, matched=hit.label, corrected=True)
    return None


_RING_FUZZY = (_Fuzzy(fold("ring"), IntentKind.CALL_ME, "ring", strict=True),)


def _negated(tokens: Sequence[_Token], i: int, n: int) -> bool:
    before = tokens[max(0, i - 3) : i]
    after = tokens[i + n : i + n + 1]
    return any(t.folded in _NEGATION for t in (*before, *after))


def _call_me(tokens: Sequence[_Token]) -> tuple[str, bool] | None:
    """(what matched, corrected) if the message asks to be called."""
    core = _core(tokens)
    if core in _CALL_WHOLE:
        return _CALL_WHOLE[core][1], False
    if len(core) == 1:
        hit = _correct(core[0], _RING_FUZZY)
        if hit is not None:
            return hit.label, True
    for i in range(len(tokens)):
        phrase = _match_at(tokens, i, _CALL_ANYWHERE)
        if phrase is not None and not _negated(tokens, i, phrase[0]):
            return phrase[2], False
    return None


def parse(text: str | None) -> Intent:
    """Read a tenant's SMS. Never raises; see the module docstring for the rules."""
    try:
        return _parse(text)
    except Exception:  # pragma: no cover - a parsing bug must not lose the message
        # The message itself is not logged: it may be about health, drugs or violence.
        log.exception("intent parsing failed; treating message as free text")
        try:
            return Intent(IntentKind.FREE_TEXT, text=_clean(text) or None)
        except Exception:
            return Intent(IntentKind.FREE_TEXT)


def _parse(raw: str | None) -> Intent:
    text = _clean(raw)
    if not text:
        return Intent(IntentKind.EMPTY)
    tokens = _tokens(text)

    term = _find_crisis(tokens)
    if term is not None:
        return Intent(IntentKind.CRISIS, matched=term, text=text)

    command = _command(tokens)
    if command is not None:
        return Intent(
            command.kind, matched=command.matched, text=text, corrected=command.corrected
        )
    if not tokens and "?" in text and not text.strip(_REST_STRIP):
        return Intent(IntentKind.HELP_INFO, matched="?", text=text)

    checkin = _checkin(text, tokens)
    if checkin is not None:
        # "fint, men ring til mig": the request must not drown in a "good to hear" reply.
        if checkin.answer in (1, 2) and checkin.text:
            call = _call_me(_tokens(checkin.text))
            if call is not None:
                return Intent(IntentKind.CALL_ME, matched=call[0], text=text, corrected=call[1])
        return checkin

    call = _call_me(tokens)
    if call is not None:
        return Intent(IntentKind.CALL_ME, matched=call[0], text=text, corrected=call[1])

    if not tokens and not any(unicodedata.category(ch)[0] in "LNS" for ch in text):
        # Only punctuation ("...", "!!"): nothing to forward, ask again.
        return Intent(IntentKind.EMPTY)
    return Intent(IntentKind.FREE_TEXT, text=text)
