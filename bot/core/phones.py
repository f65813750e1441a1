"""Phone numbers: everything stored is E.164, parsed with Google's libphonenumber rules."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "DK"


class InvalidPhone(ValueError):
    pass


# Parsing costs ~0.3 ms and every inbound SMS parses sender and recipient; the same few
# numbers come back all day. Pure function, so cached (invalid input raises and is not cached).
@lru_cache(maxsize=8192)
def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of `raw` ("20 12 34 56" -> "+4520123456") or raise InvalidPhone."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("phone number is empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"{raw!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """Show only the last two digits, for logs and roles that must not see the number."""
    return e164[:3] + "*" * max(0, len(e164) - 5) + e164[-2:] if len(e164) > 5 else "***"


def display_phone(e164: str) -> str:
    """A number as people write it: "20 12 34 56" for a Danish one, "+46 70 123 45 67" abroad.

    Anything that does not parse is returned unchanged: a reply must never fail on a number.
    """
    try:
        number = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == DEFAULT_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
