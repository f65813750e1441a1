"""Security headers on every response, and the client address behind trusted proxies.

The pages load scripts and styles only from this site's own static files (no inline script,
style or event handler), so the Content-Security-Policy can forbid everything else. Nothing is
cached: dashboard pages and API answers carry tenant data, and a shared computer's back button
or disk cache must not show it after logout. Only static files (no personal data) may be cached.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.core.config import Settings

CSP = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
))
# The programme report embeds its charts as inline SVG (pygal) with inline <style>: that page
# alone may use inline styles. Scripts stay 'self' only everywhere.
CSP_INLINE_STYLES = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HSTS = "max-age=31536000; includeSubDomains"

# Referrer-Policy same-origin, not no-referrer: Flask-WTF's CSRF check on HTTPS needs the
# Referer of the dashboard's own forms, and nothing leaves the site.
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def install(app: Flask, settings: Settings) -> None:
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # the documented way to wrap
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    https = bool(settings.public_base_url and settings.public_base_url.startswith("https://"))
    # (lower-case name, name, value), once: a view's own value wins (e.g. the report's CSP).
    # Headers.setdefault costs an exception and two scans per missing header, and every
    # response misses them all.
    defaults = tuple((name.lower(), name, value) for name, value in (
        *HEADERS.items(), *((("Strict-Transport-Security", HSTS),) if https else ())))

    @app.after_request
    def _headers(response: Response) -> Response:
        present = {name.lower() for name, _value in response.headers}
        for lower, name, value in defaults:
            if lower not in present:
                response.headers.add(name, value)
        if not _is_static():
            response.headers["Cache-Control"] = "no-store"
        return response


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")
