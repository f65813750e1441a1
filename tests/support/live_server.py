"""Serve a WSGI app (e.g. the Flask dashboard) on 127.0.0.1 for browser and HTTP tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def serve_wsgi(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` on a free port in a background thread; yield its base URL, e.g.
    ``http://127.0.0.1:43121``; shut it down on exit.

        with serve_wsgi(create_app(testing=True)) as base_url:
            page.goto(base_url + "/login")
    """
    # Port 0 lets the OS pick, so parallel test runs never collide; threaded because a browser
    # opens several connections at once (page, assets, favicon).
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
