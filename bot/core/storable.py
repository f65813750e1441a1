"""Text as every database we run on can store it.

PostgreSQL refuses NUL in text (SQLite does not), and a lone surrogate (a valid JSON escape,
or what an invalid UTF-8 form decodes to) cannot be encoded at all. Input that is kept (a
tenant's SMS, a note, a log line) goes through :func:`storable` so a stray byte never turns a
message into an error and a lost message.
"""

from __future__ import annotations


def storable(value: object, limit: int | None = None) -> str:
    """``value`` as text with NUL made a space and unencodable characters replaced."""
    text = str(value).replace("\x00", " ").encode("utf-8", "replace").decode("utf-8")
    return text if limit is None else text[:limit]
