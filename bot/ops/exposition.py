"""Serving metrics: who may scrape, the registry to read, and the worker's own small server.

Both the web's /metrics and the worker's METRICS_PORT answer only to loopback or to
`Authorization: Bearer <METRICS_TOKEN>`: the figures are not personal, but how busy a crisis
service is and which channel is failing is nobody else's business.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session, sessionmaker

from bot.ops.collector import DatabaseStateCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def may_scrape(authorization: str | None, remote_addr: str | None, token: str | None) -> bool:
    """Loopback, or the right bearer token (compared in constant time)."""
    if token and authorization:
        scheme, _sep, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode()):
            return True
    try:
        return remote_addr is not None and ipaddress.ip_address(remote_addr).is_loopback
    except ValueError:
        return False


def render(sessions: sessionmaker[Session] | None) -> tuple[bytes, str]:
    """The exposition text: this process's counters (all processes' in multi-process mode),
    then the database-state gauges when `sessions` is given (distinct families concatenate)."""
    if os.environ.get(MULTIPROC_ENV):
        counters = CollectorRegistry()
        # prometheus_client leaves this constructor unannotated; it only registers itself.
        MultiProcessCollector(counters)  # type: ignore[no-untyped-call]
        body = generate_latest(counters)
    else:
        body = generate_latest(REGISTRY)
    if sessions is not None:
        state = CollectorRegistry()
        state.register(DatabaseStateCollector(sessions))
        body += generate_latest(state)
    return body, CONTENT_TYPE_LATEST


def metrics_app(sessions: sessionmaker[Session] | None, token: str | None) -> Callable[..., Any]:
    """A WSGI app for the worker's port: GET /metrics, same access rule as the web's."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not may_scrape(environ.get("HTTP_AUTHORIZATION"), environ.get("REMOTE_ADDR"), token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                                 ("WWW-Authenticate", "Bearer")])
            return [b"loopback or Authorization: Bearer METRICS_TOKEN\n"]
        body, content_type = render(sessions)
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]

    return app


def serve_worker_metrics(port: int, token: str | None, host: str = "0.0.0.0",
                         sessions: sessionmaker[Session] | None = None) -> WSGIServer:
    """Start the worker's metrics server in a daemon thread; returns it (for shutdown())."""
    server = make_server(host, port, metrics_app(sessions, token), ThreadingWSGIServer,
                         handler_class=_SilentHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
