"""The one place blueprints reach the process's runtime and the request's database session.

`create_app` stores the Runtime on the app; every blueprint imports `runtime()`, `db()` and
`settings()` from here instead of reading `current_app.extensions` itself. This module imports
nothing from `webhooks`, so blueprints can import it at the top without a cycle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from bot.core.config import Settings
from bot.runtime import Runtime

RUNTIME_KEY = "trygthjem"
TELEGRAM_RUNNER_KEY = "telegram_runner"
DEMO_TELEGRAM_KEY = "demo_telegram"
T = TypeVar("T")
_build_lock = threading.Lock()


def attach(app: Flask, rt: Runtime) -> None:
    """Make `rt` the runtime of `app` and close the request's session at teardown."""
    app.extensions[RUNTIME_KEY] = rt

    @app.teardown_appcontext
    def _close_db(_exc: BaseException | None) -> None:
        s = g.pop("db", None)
        if s is not None:
            s.close()


def runtime_of(app: Flask) -> Runtime:
    rt: Runtime = app.extensions[RUNTIME_KEY]
    return rt


def runtime() -> Runtime:
    """The runtime of the app serving this request."""
    return runtime_of(current_app)


def settings() -> Settings:
    return runtime().settings


def db() -> Session:
    """The request's database session (opened on first use, closed at teardown)."""
    if "db" not in g:
        g.db = runtime().sessions()
    s: Session = g.db
    return s


def per_app(app: Flask, key: str, build: Callable[[Runtime], T]) -> T:
    """One `build(runtime)` per app, made on first use (tests may put their own there first)."""
    found = app.extensions.get(key)
    if found is None:
        with _build_lock:
            found = app.extensions.get(key)
            if found is None:
                found = app.extensions[key] = build(runtime_of(app))
    value: T = found
    return value


def this_app() -> Flask:
    """The real app object behind `current_app` (for work handed to other threads)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug proxy
    return app
