"""Structured logs: JSON lines in production, readable colour-free lines for people.

``fmt`` is ``json``, ``console`` or ``auto`` (the default when LOG_FORMAT is unset): readable
lines when stderr is a terminal (someone running ``trygthjem worker --once`` by hand), JSON when
it is not (a service manager, a container, a pipe to a log collector)."""

from __future__ import annotations

import logging
import sys

import structlog


def resolve_format(fmt: str) -> str:
    """``auto`` -> ``console`` on a terminal, else ``json``; other values unchanged."""
    if fmt != "auto":
        return fmt
    isatty = getattr(sys.stderr, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    fmt = resolve_format(fmt)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        # Below the level, drop the event before the processors (timestamp, context) run: the
        # webhook logs several INFO lines per request that LOG_LEVEL=WARNING never shows.
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    # Library logs (werkzeug, apscheduler, alembic) go through the same renderer.
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our own http.request line replaces werkzeug's; the rest only matter when they fail.
    for noisy in ("httpx", "apscheduler", "twilio.http_client", "werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
