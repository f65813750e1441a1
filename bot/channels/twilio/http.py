"""Twilio HTTP client that sends every request to another base URL.

The Twilio SDK has no setting for its API host (``edge``/``region`` only rewrite the host name
under twilio.com), so pointing it at an emulator or a proxy (config ``TWILIO_API_URL``) needs an
HTTP client that rewrites each URL just before it is sent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response


class RebasedTwilioHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
    """``TwilioHttpClient`` that replaces scheme and host of each URL with ``base_url``'s.

    A path in ``base_url`` (e.g. ``http://proxy:8080/twilio``) is put in front of the API path;
    the query string of the original URL is kept. All other keyword arguments go to
    ``TwilioHttpClient`` (timeout, logger, proxy, max_retries, ...).
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"base_url must not have a query or fragment, got {base_url!r}")
        super().__init__(**kwargs)
        self.base_url = base_url
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._path_prefix = parts.path.rstrip("/")

    def rebase(self, url: str) -> str:
        """Return ``url`` moved onto ``base_url`` (path and query kept)."""
        parts = urlsplit(url)
        return urlunsplit(
            (self._scheme, self._netloc, self._path_prefix + parts.path, parts.query, "")
        )

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        return super().request(
            method,
            self.rebase(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
