"""SMS encoding and segment counting (GSM 03.38 / 3GPP TS 23.038).

Tenants have cheap phones and every segment costs money, so tenant texts are written to stay in
the GSM-7 alphabet. Danish is lucky here: ``æ ø å Æ Ø Å`` are all in the GSM-7 *basic* table, so
ordinary Danish costs no more than English. A single character outside GSM-7 (a curly quote
pasted from a word processor, an emoji, an en dash) switches the whole message to UCS-2 and
cuts the capacity from 160 to 70 characters; :func:`to_gsm7_friendly` repairs the usual culprits.

Counting rules:

* GSM-7: 160 septets in one SMS; a concatenated message carries 153 per part (the user data
  header takes 7). Extension-table characters (``€ [ ] { } \\ ^ ~ |`` and form feed) are sent as
  ESC + char and count 2. An escape pair is never split across two parts.
* UCS-2: 70 UTF-16 code units in one SMS, 67 per part. Characters outside the BMP (most emoji)
  are a surrogate pair and count 2; a pair is never split across two parts.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "encoding",
    "gsm7_length",
    "is_gsm7",
    "segments",
    "to_gsm7_friendly",
]

# The 128 characters of the GSM 03.38 default alphabet, minus ESC (0x1B) which is not a character.
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Reached via ESC, so each costs two septets.
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")
# Matches a text made only of GSM-7 characters: one C-level scan instead of a Python loop per
# character (the planner renders a prompt per tenant, and nearly every text is GSM-7 already).
_ALL_GSM7 = re.compile("[" + re.escape("".join(sorted(GSM7_BASIC | GSM7_EXTENSION))) + "]*")

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67


def is_gsm7(text: str) -> bool:
    """True if every character is in the GSM-7 basic or extension table."""
    return _ALL_GSM7.fullmatch(text) is not None


def encoding(text: str) -> Literal["GSM-7", "UCS-2"]:
    """The encoding a gateway will pick for ``text``."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def gsm7_length(text: str) -> int:
    """Length in septets (extension characters count 2). ``ValueError`` if not GSM-7."""
    total = 0
    for ch in text:
        if ch in GSM7_BASIC:
            total += 1
        elif ch in GSM7_EXTENSION:
            total += 2
        else:
            raise ValueError(f"not a GSM-7 character: {ch!r}")
    return total


def _unit_sizes(text: str) -> list[int]:
    """Per-character size in the encoding's units: septets for GSM-7, UTF-16 units for UCS-2."""
    if is_gsm7(text):
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def segments(text: str) -> int:
    """Number of SMS parts ``text`` is sent as. An empty text is 0: there is nothing to send."""
    if not text:
        return 0
    gsm = is_gsm7(text)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if gsm else (UCS2_SINGLE, UCS2_MULTI)
    sizes = _unit_sizes(text)
    if sum(sizes) <= single:
        return 1
    # Pack greedily; a 2-unit character (escape pair / surrogate pair) that does not fit in what
    # is left of a part moves whole to the next part, as real encoders do.
    parts, used = 1, 0
    for size in sizes:
        if used + size > multi:
            parts += 1
            used = 0
        used += size
    return parts


# Typographic characters that word processors, phones and translators slip in.
_FRIENDLY: dict[str, str] = {
    **dict.fromkeys("‘’‚‛′`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "…": "...",
    "•": "-",
    "·": "-",
    "‹": "<",
    "›": ">",
    "\t": " ",
    "\u2028": "\n",
    "\u2029": "\n",
    # Non-breaking, thin, ideographic and other special spaces.
    **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                    "\u200a\u202f\u205f\u3000", " "),
    # Invisible characters: they cost a UCS-2 switch and carry nothing a phone shows.
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
}


def _fold_letter(ch: str) -> str:
    """Drop the accent from a letter GSM-7 lacks (``á`` -> ``a``); GSM-7 letters stay."""
    if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
        return ch
    base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    return base if base and is_gsm7(base) else ch


def to_gsm7_friendly(text: str) -> str:
    """Replace typographic look-alikes by GSM-7 characters so the text stays cheap.

    Only safe, meaning-preserving replacements are made (quotes, dashes, ellipsis, special
    spaces, accents that GSM-7 lacks). Anything else - emoji, other scripts - is left untouched, so
    :func:`is_gsm7` still tells the truth about the result.
    """
    if is_gsm7(text):
        return text
    out: list[str] = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
        elif ch in _FRIENDLY:
            out.append(_FRIENDLY[ch])
        else:
            out.append(_fold_letter(ch))
    return "".join(out)
