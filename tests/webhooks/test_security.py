"""Web hardening: security headers, no inline script, 405 with Allow, trusted proxies."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from bot.alerts.lifecycle import raise_alert
from bot.runtime import Runtime
from tests.support.dashboard import admin, login, with_passwords
from tests.support.factories import World
from webhooks import create_app
from webhooks.security import CSP


def _assert_hardened(response: Any, *, cached: bool = False) -> None:
    h = response.headers
    csp = h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    script_src = csp.split("script-src")[1].split(";")[0]
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in csp
    path = response.request.path
    # Server-drawn SVG charts carry their styles inline (never a script): the report page, and
    # the wellbeing chart, which is an image of its own.
    if not (path.startswith("/dashboard/report") or path.endswith("/wellbeing.svg")):
        assert "unsafe-inline" not in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert h["X-Frame-Options"] == "DENY"
    if not cached:
        assert h["Cache-Control"] == "no-store", response.request.path


def _served_pages(app: Flask, alert_id: int, tenant_id: int) -> list[str]:
    """Every GET route of the app, with ids filled in (static files are listed apart)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint.endswith("static"):
            continue
        if rule.endpoint == "dashboard.alert_photo":
            continue  # an image fetched from Telegram (404 here): its headers are checked apart
        urls.append(rule.rule.replace("<int:alert_id>", str(alert_id))
                    .replace("<int:tenant_id>", str(tenant_id)))
    return urls


class _InlineFinder(HTMLParser):
    """What a CSP without 'unsafe-inline' would block: inline <script>/<style>, on*= handlers,
    style= attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self._in_inline_script = True
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower() \
                    .startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.found.append("inline <script>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def test_every_page_has_the_headers_and_no_inline_script(app: Flask, session: Session,
                                                         world: World) -> None:
    with_passwords(session, world)
    admin(session, world)
    alert, _ = raise_alert(session, source="need_help", summary="Anna svarede 3",
                           tenant=world.tenant)
    session.commit()
    client = app.test_client()
    login(client, "admin@odense.example")
    pages = _served_pages(app, alert.id, world.tenant.id)
    assert {"/dashboard/", "/dashboard/audit", "/demo/phone", "/demo/telegram"} <= set(pages)
    html_pages = 0
    for url in pages:
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        _assert_hardened(response)
        if response.mimetype == "text/html":
            html_pages += 1
            finder = _InlineFinder()
            finder.feed(response.get_data(as_text=True))
            found = finder.found
            if url.startswith("/dashboard/report"):  # inline SVG charts: styles only
                assert "'unsafe-inline'" in response.headers["Content-Security-Policy"] \
                    .split("style-src")[1].split(";")[0]
                found = [f for f in found if f != "<style>" and not f.endswith(" style=...>")]
            assert found == [], f"{url}: {found}"
    assert html_pages >= 9
    # Error pages and answers of every kind carry them too.
    for response in (client.get("/dashboard/tenants/999999"), client.get("/nope"),
                     client.post("/webhooks/twilio/sms", data={"From": "+4528000301"}),
                     app.test_client().get("/api/v1/alerts")):
        assert response.status_code >= 400
        _assert_hardened(response)


def test_static_files_may_be_cached_and_the_demo_scripts_exist(client: Any) -> None:
    for url in ("/dashboard/static/dashboard.css", "/demo/phone/static/demo_phone.js",
                "/demo/phone/static/demo_phone.css", "/demo/telegram/static/demo_telegram.js",
                "/demo/telegram/static/demo_telegram.css"):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_hardened(response, cached=True)
        assert response.headers.get("Cache-Control") != "no-store"
        response.close()


def test_hsts_only_when_the_public_url_is_https(runtime: Runtime) -> None:
    assert runtime.settings.public_base_url and runtime.settings.public_base_url.startswith(
        "https://")
    response = create_app(runtime).test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    runtime.settings = replace(runtime.settings, public_base_url="http://127.0.0.1:8000")
    assert "Strict-Transport-Security" not in create_app(runtime).test_client() \
        .get("/healthz").headers


def test_csp_forbids_all_but_this_site() -> None:
    directives = dict(d.split(" ", 1) for d in CSP.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert all("*" not in v and "http" not in v for v in directives.values())


@pytest.mark.parametrize(("method", "url", "allowed"), [
    ("get", "/webhooks/twilio/sms", {"POST"}),
    ("post", "/healthz", {"GET", "HEAD"}),
    ("delete", "/api/v1/alerts", {"GET", "HEAD"}),
    ("get", "/dashboard/logout", {"POST"}),
    ("put", "/dashboard/login", {"GET", "POST"}),
])
def test_405_names_the_allowed_methods(client: Any, method: str, url: str,
                                       allowed: set[str]) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert response.json["error"] == "Method Not Allowed"
    _assert_hardened(response)


def test_client_address_from_a_trusted_proxy_only(runtime: Runtime, session: Session,
                                                  world: World) -> None:
    """Behind TRUSTED_PROXIES=1 the login throttle sees the client, not the proxy; without it a
    forged X-Forwarded-For changes nothing."""
    from bot.casework.web_sessions import IP_MAX_FAILURES

    with_passwords(session, world)
    direct = create_app(runtime).test_client()
    for n in range(IP_MAX_FAILURES):  # each "from" a new forged address
        direct.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.9.9.{n}"
        assert login(direct, f"x{n}@nowhere.example", "wrong").status_code == 401
    assert login(direct, "cw@odense.example").status_code == 429
    runtime.settings = replace(runtime.settings, trusted_proxies=1)
    proxied = create_app(runtime).test_client()
    proxied.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.7"
    assert login(proxied, "cw@odense.example").status_code == 302


def test_trusted_proxies_setting() -> None:
    from bot.core.config import ConfigError, load_settings

    assert load_settings({}).trusted_proxies == 0
    assert load_settings({"TRUSTED_PROXIES": "1"}).trusted_proxies == 1
    for bad in ("-1", "6", "yes"):
        with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
            load_settings({"TRUSTED_PROXIES": bad})
