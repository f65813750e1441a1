"""Understanding what a tenant's SMS means.

Tenants write from cheap phones, in Danish first, short, misspelt, sometimes distressed.
:func:`parse` turns any text into an :class:`Intent` and never raises.

Order of precedence (first that applies wins):

1. ``EMPTY`` - nothing but whitespace/control characters (also, checked last, a message of
   only punctuation such as "..."; a lone "?" is ``HELP_INFO``).
2. ``CRISIS`` - crisis language anywhere in the message (``data/crisis_terms.txt``). It wins
   over everything: "1 men jeg vil dø" is a crisis, "STOP jeg vil dø" is a crisis.
3. ``VIOLENCE`` - violence in a close relationship anywhere (``data/violence_terms.txt``):
   "jeg er bange for min kæreste", "STOP han slår mig". Threats to life are crisis terms.
4. ``STOP`` / ``START`` / ``HELP_INFO`` - only when the *whole* message is the keyword, give or
   take polite filler ("stop tak", "afmeld mig", "START igen"), the way carriers and Twilio treat
   opt-out keywords. "Kan ikke stoppe med at drikke" is not an opt-out.
5. Need-help language anywhere, unless negated just before (``data/need_help_terms.txt``: "I
   don't feel good", "jeg har ingen mad", "jeg er blevet smidt ud") - ``CHECKIN_ANSWER`` 3.
6. ``CHECKIN_ANSWER`` - a leading 1/2/3 ("2 lidt træt"), a leading answer phrase ("godt",
   "har det skidt", "ikke så godt"), a leading mood emoji or emoticon ("👍", ":("). Words after
   the answer are kept in ``text`` for the caseworker. An answer 1 or 2 whose remaining words ask
   for a call ("fint, men ring til mig") becomes ``CALL_ME`` so the request is not lost behind a
   "good to hear" reply; answer 3 already makes the caseworker get in touch.
7. ``CALL_ME`` - "ring", "ring mig", "kan du ringe", "call me" (not when negated: "du må ikke
   ringe til mig").
8. ``GREETING`` - only greetings and thanks ("hej", "tak", "godmorgen"): no alarm in the reply.
9. ``FREE_TEXT`` - anything else; forwarded to the caseworker.

Every word list is a file in ``bot/tenants/data/`` (format in its README.md), read by
:mod:`bot.tenants.word_lists` and folded into tables by :mod:`bot.tenants.vocabulary`; folding
and tokens are in :mod:`bot.tenants.wording`, typo tolerance in :mod:`bot.tenants.typos`, the
anywhere-lists (crisis, violence, need) in :mod:`bot.tenants.terms`, mood emoji in
:mod:`bot.tenants.moods`.

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

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.tenants import vocabulary as vocab
from bot.tenants.moods import moods as _moods
from bot.tenants.terms import CRISIS, NEED_HELP, VIOLENCE
from bot.tenants.typos import correct
from bot.tenants.wording import Token, clean, fold
from bot.tenants.wording import tokens as tokenize

__all__ = ["Intent", "IntentKind", "crisis_terms", "fold", "parse", "violence_terms"]

log = logging.getLogger(__name__)


class IntentKind(StrEnum):
    CHECKIN_ANSWER = "checkin_answer"
    CALL_ME = "call_me"
    STOP = "stop"
    START = "start"
    HELP_INFO = "help_info"
    CRISIS = "crisis"
    VIOLENCE = "violence"
    GREETING = "greeting"
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
    tokens: Sequence[Token], i: int, table: vocab.Table
) -> tuple[int, object, str] | None:
    """Longest phrase of ``table`` starting at token ``i``: (length, value, label)."""
    for n in range(min(6, len(tokens) - i), 0, -1):
        key = tuple(t.folded for t in tokens[i : i + n])
        if key in table:
            value, label = table[key]
            return n, value, label
    return None


def _starts_with(tokens: Sequence[Token], i: int, phrase: tuple[str, ...]) -> bool:
    return tuple(t.folded for t in tokens[i : i + len(phrase)]) == phrase


def _skip_courtesy(tokens: Sequence[Token], i: int) -> int:
    while i < len(tokens):
        if tokens[i].folded in vocab.COURTESY:
            i += 1
            continue
        greeting = next((g for g in vocab.GREETINGS if _starts_with(tokens, i, g)), None)
        if greeting is None:
            break
        i += len(greeting)
    return i


def _only_courtesy(tokens: Sequence[Token]) -> bool:
    return _skip_courtesy(tokens, 0) == len(tokens)


def _skip_prefix(tokens: Sequence[Token], i: int, prefixes: list[tuple[str, ...]]) -> int:
    # Only strip when something follows: "har det" alone stays free text.
    for prefix in prefixes:
        if _starts_with(tokens, i, prefix) and i + len(prefix) < len(tokens):
            return i + len(prefix)
    return i


def _checkin(text: str, tokens: Sequence[Token]) -> Intent | None:
    i = _skip_courtesy(tokens, 0)
    start = tokens[i - 1].end if i else 0

    mood = _moods(text, start, leading=True)
    if mood is None and i == len(tokens):
        # Only greetings/thanks in words: a mood anywhere still answers ("tak 🙂").
        mood = _moods(text, 0, leading=False)
    if mood is not None:
        answer, matched, end = mood
        after: Sequence[Token] = [t for t in tokens if t.start >= end]
        return Intent(
            IntentKind.CHECKIN_ANSWER, answer, matched, _rest(text, end, _only_courtesy(after))
        )
    if i == len(tokens):
        return None

    # A digit, possibly after "svar"/"nr": "2", " 1.", "svar: 3", "2 lidt træt", "3jeg".
    j = _skip_prefix(tokens, i, vocab.ANSWER_PREFIXES)
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
        state = _skip_prefix(tokens, j, vocab.STATE_PREFIXES)
        nxt = _skip_prefix(tokens, state, vocab.ANSWER_PREFIXES)
        if nxt == j:
            break
        j = nxt
    hit = _match_at(tokens, j, vocab.CHECKIN)
    if hit is not None:
        n, value, label = hit
        after = tokens[j + n :]
        whole_only = tuple(t.folded for t in tokens[j : j + n]) in vocab.WHOLE_ONLY
        if not (whole_only and not _only_courtesy(after)):
            assert isinstance(value, int)
            return Intent(
                IntentKind.CHECKIN_ANSWER, value, label,
                _rest(text, tokens[j + n - 1].end, _only_courtesy(after)),
            )

    # One misspelt word: "gidt", "hjlp", "dårlgt".
    words = [t for t in tokens[j:] if t.folded not in vocab.COURTESY]
    if len(words) == 1:
        fuzzy = correct(words[0].folded, vocab.CHECKIN_FUZZY)
        if fuzzy is not None:
            assert isinstance(fuzzy.value, int)
            return Intent(
                IntentKind.CHECKIN_ANSWER, fuzzy.value, fuzzy.label, None, corrected=True
            )
    return None


def _core(tokens: Sequence[Token]) -> tuple[str, ...]:
    """The words of a would-be command without filler at either end; "stop stop" is "stop"."""
    words = [t.folded for t in tokens]
    while words and words[0] in vocab.COMMAND_FILLER:
        words.pop(0)
    while words and words[-1] in vocab.COMMAND_FILLER:
        words.pop()
    if len(set(words)) == 1:
        return (words[0],)
    return tuple(words)


def _command(tokens: Sequence[Token]) -> Intent | None:
    core = _core(tokens)
    if not core:
        return None
    if core in vocab.COMMANDS:
        kind, label = vocab.COMMANDS[core]
        return Intent(IntentKind(str(kind)), matched=label)
    if len(core) == 1:
        hit = correct(core[0], vocab.COMMAND_FUZZY)
        if hit is not None:
            return Intent(IntentKind(str(hit.value)), matched=hit.label, corrected=True)
    return None


def _negated(tokens: Sequence[Token], i: int, n: int) -> bool:
    before = tokens[max(0, i - 3) : i]
    after = tokens[i + n : i + n + 1]
    return any(t.folded in vocab.NEGATION for t in (*before, *after))


def _call_me(tokens: Sequence[Token]) -> tuple[str, bool] | None:
    """(what matched, corrected) if the message asks to be called."""
    core = _core(tokens)
    if core in vocab.CALL_WHOLE:
        return vocab.CALL_WHOLE[core][1], False
    if len(core) == 1:
        hit = correct(core[0], vocab.RING_FUZZY)
        if hit is not None:
            return hit.label, True
    for i in range(len(tokens)):
        phrase = _match_at(tokens, i, vocab.CALL_ANYWHERE)
        if phrase is not None and not _negated(tokens, i, phrase[0]):
            return phrase[2], False
    return None


def crisis_terms() -> tuple[str, ...]:
    """The crisis terms as written in ``data/crisis_terms.txt``."""
    return CRISIS.terms()


def violence_terms() -> tuple[str, ...]:
    """The violence terms as written in ``data/violence_terms.txt``."""
    return VIOLENCE.terms()


def parse(text: str | None) -> Intent:
    """Read a tenant's SMS. Never raises; see the module docstring for the rules."""
    try:
        return _parse(text)
    except Exception:  # pragma: no cover - a parsing bug must not lose the message
        # The message itself is not logged: it may be about health, drugs or violence.
        log.exception("intent parsing failed; treating message as free text")
        try:
            return Intent(IntentKind.FREE_TEXT, text=clean(text) or None)
        except Exception:
            return Intent(IntentKind.FREE_TEXT)


def _parse(raw: str | None) -> Intent:
    text = clean(raw)
    if not text:
        return Intent(IntentKind.EMPTY)
    toks = tokenize(text)

    for kind, term_list in ((IntentKind.CRISIS, CRISIS), (IntentKind.VIOLENCE, VIOLENCE)):
        term = term_list.find(toks)
        if term is not None:
            return Intent(kind, matched=term, text=text)

    command = _command(toks)
    if command is not None:
        return Intent(
            command.kind, matched=command.matched, text=text, corrected=command.corrected
        )
    if not toks and "?" in text and not text.strip(_REST_STRIP):
        return Intent(IntentKind.HELP_INFO, matched="?", text=text)

    checkin = _checkin(text, toks)
    if checkin is None or checkin.answer != 3:
        # "1 men jeg har ingen mad": the need counts, not the polite answer before it.
        need = NEED_HELP.find(toks)
        if need is not None:
            return Intent(IntentKind.CHECKIN_ANSWER, 3, matched=need, text=text)
    if checkin is not None:
        # "fint, men ring til mig": the request must not drown in a "good to hear" reply.
        if checkin.answer in (1, 2) and checkin.text:
            call = _call_me(tokenize(checkin.text))
            if call is not None:
                return Intent(IntentKind.CALL_ME, matched=call[0], text=text, corrected=call[1])
        return checkin

    call = _call_me(toks)
    if call is not None:
        return Intent(IntentKind.CALL_ME, matched=call[0], text=text, corrected=call[1])

    if toks and _only_courtesy(toks):
        return Intent(IntentKind.GREETING, matched=" ".join(t.folded for t in toks), text=text)
    if not toks and not any(unicodedata.category(ch)[0] in "LNS" for ch in text):
        # Only punctuation ("...", "!!"): nothing to forward, ask again.
        return Intent(IntentKind.EMPTY)
    return Intent(IntentKind.FREE_TEXT, text=text)
