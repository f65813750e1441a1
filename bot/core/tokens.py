"""One-time tokens (landlord invites, caseworker Telegram link codes): only hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(nbytes: int = 16) -> str:
    """URL-safe random token; fits Telegram's 64-character /start payload."""
    return secrets.token_urlsafe(nbytes)


def new_code(digits: int = 6) -> str:
    """Short numeric code a person can type (e.g. into Telegram)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def matches(token: str, token_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), token_hash)
