"""/metrics for Prometheus, per-request metrics, and the web process's heartbeat."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from flask import Blueprint, Flask, Response, g, request

from bot.core.db import transaction
from bot.core.logs import get_logger
from bot.core.metrics import HTTP_LATENCY, HTTP_REQUESTS
from bot.models import utcnow
from bot.ops import exposition, heartbeat
from webhooks.context import runtime as current_runtime
from webhooks.context import runtime_of

log = get_logger(__name__)
bp = Blueprint("metrics", __name__)
WEB_BEAT_EVERY = timedelta(minutes=1)


@bp.get("/metrics")
def metrics() -> Response:
    runtime = current_runtime()
    if not exposition.may_scrape(request.headers.get("Authorization"), request.remote_addr,
                                 runtime.settings.metrics_token):
        return Response("loopback or Authorization: Bearer METRICS_TOKEN\n", 401,
                        {"WWW-Authenticate": "Bearer", "Content-Type": "text/plain"})
    body, content_type = exposition.render(runtime.sessions)
    return Response(body, 200, {"Content-Type": content_type})


def install(app: Flask) -> None:
    app.register_blueprint(bp)
    beat_lock = threading.Lock()
    last_beat = [utcnow() - 2 * WEB_BEAT_EVERY]

    @app.before_request
    def _metrics_start() -> None:
        g.metrics_started = time.perf_counter()
        now = utcnow()
        if now - last_beat[0] >= WEB_BEAT_EVERY and beat_lock.acquire(blocking=False):
            try:
                last_beat[0] = now
                with transaction(runtime_of(app).sessions) as session:
                    heartbeat.beat(session, "web", now=now)
            except Exception as exc:  # the request itself will meet a broken database
                log.warning("heartbeat.failed", error=str(exc).splitlines()[0][:200])
            finally:
                beat_lock.release()

    @app.after_request
    def _metrics_count(response: Response) -> Response:
        # The route template (/dashboard/alerts/<int:alert_id>), never the raw path: bounded.
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        HTTP_REQUESTS.labels(route=route, method=request.method,
                             status=str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            HTTP_LATENCY.labels(route=route).observe(time.perf_counter() - started)
        return response
