"""Reply codes caseworkers text back to acknowledge or resolve an alert.

The alert SMS ends "Svar 42 OK for at kvittere, 42 LØST for at lukke." Real replies vary:
"ok 42", "OK #42", "42 LOST" (phones without ø), "42 loest", "resolve 42", "42ok". The
parser is strict about meaning and loose about form: exactly one alert number and exactly
one action word, in either order, with case, accents, punctuation, '#' and spacing ignored.
Anything else (a bare "ok", a bare "42", "42 ikke ok", two numbers, both actions) is None,
so the message falls through to a human instead of closing the wrong alert.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = ["ReplyAction", "ReplyCode", "parse_reply_code"]

# Same strings as bot.models.enums.Action, so a ReplyCode's action feeds transition() directly.
ReplyAction = Literal["acknowledge", "resolve"]


@dataclass(frozen=True)
class ReplyCode:
    alert_id: int
    action: ReplyAction


# Words after normalisation: casefolded, accents stripped (so "kvittér" -> "kvitter" and the
# Swedish keyboard's "löst" -> "lost"). ø and æ are letters of their own, not accented, and
# survive as-is.
_ACTIONS: dict[str, ReplyAction] = {
    **dict.fromkeys(
        (
            "ok", "okay", "okey", "ack", "acknowledge", "acknowledged",
            "kvitter", "kvittere", "kvitteret", "kvittering", "modtaget",
        ),
        "acknowledge",
    ),
    **dict.fromkeys(
        (
            "løst", "lost", "loest", "losst", "resolve", "resolved",
            "luk", "lukke", "lukket",
        ),
        "resolve",
    ),
}

# Words that may accompany a code without changing its meaning ("42 ok tak", a copied
# "Svar 42 OK", "nr 42 løst"). Anything not listed here, such as "ikke", voids the reply.
_FILLER = frozenset({"tak", "svar", "nr"})

# A reply code is a handful of characters; a long message is a conversation, not a code.
_MAX_LENGTH = 100
# Alert ids are database keys; nine digits is plenty and keeps int() far from its limits.
_MAX_ID_DIGITS = 9

_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+")


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def parse_reply_code(text: str) -> ReplyCode | None:
    """The alert id and action in a caseworker's SMS reply, or None. Never raises."""
    if not isinstance(text, str) or len(text) > _MAX_LENGTH:
        return None
    alert_id: int | None = None
    action: ReplyAction | None = None
    # Letters and digits split apart, so "42ok" and "#42" both give the token "42".
    for token in _TOKEN.findall(_normalise(text)):
        if token.isdigit():
            if alert_id is not None or len(token) > _MAX_ID_DIGITS:
                return None
            alert_id = int(token)
        elif token in _ACTIONS:
            if action is not None:
                return None
            action = _ACTIONS[token]
        elif token not in _FILLER:
            return None
    if alert_id is None or alert_id < 1 or action is None:
        return None
    return ReplyCode(alert_id, action)
