"""Refusing what a web browser can be made to send: cross-site requests and DNS rebinding.

A server without authentication trusts whoever reaches it, and a browser on
the same machine reaches 127.0.0.1 on behalf of any web page. Three checks
keep pages out: a browser's cross-origin request (``Origin``, or
``Sec-Fetch-Site`` when there is no ``Origin``) is refused unless its origin
is configured; a body must be ``application/json``, which a page cannot send
cross-origin without a preflight; and a server bound to loopback answers only
to loopback ``Host`` names (and configured ones), so a rebound DNS name of an
attacker's site cannot reach it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phantomdb.server.errors import ApiError

if TYPE_CHECKING:
    from phantomdb.server.config import Settings

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
_SAME_ORIGIN = frozenset({b"same-origin", b"none"})


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


class BrowserChecks:
    """The checks of one server, from its settings."""

    def __init__(self, settings: Settings):
        self.origins = frozenset(origin.encode("latin-1") for origin in settings.allowed_origins)
        self.hosts: frozenset[str] | None = None  # None: any Host (bound beyond loopback)
        if is_loopback(settings.host):
            self.hosts = _LOOPBACK_NAMES | {settings.host.lower()} | set(settings.allowed_hosts)

    def check_request(self, host: bytes | None, origin: bytes | None, fetch_site: bytes | None) -> None:
        """Refuse a foreign ``Host`` on loopback and a cross-origin browser request."""
        if host is not None and self.hosts is not None and _host_name(host) not in self.hosts:
            raise ApiError(
                "forbidden",
                "This server answers only to loopback host names: start it with --allow-host NAME"
                " to be reached as another name",
            )
        if origin is not None:
            if origin not in self.origins:
                raise ApiError(
                    "forbidden",
                    "Cross-origin browser requests are refused: start the server with"
                    " --allow-origin ORIGIN to serve pages of ORIGIN",
                )
        elif fetch_site is not None and fetch_site not in _SAME_ORIGIN:
            raise ApiError("forbidden", "Cross-site browser requests are refused")

    @staticmethod
    def check_body(content_type: bytes | None, body: bytes) -> None:
        """Refuse a body that is not declared JSON (a page's form or text/plain POST)."""
        if body and not _is_json(content_type):
            raise ApiError(
                "unsupported_media_type",
                "A request body must be JSON, sent as Content-Type: application/json",
            )


def _host_name(host: bytes) -> str:
    """The name of a ``Host`` header, without its port."""
    text = host.decode("latin-1").lower()
    if text.startswith("["):
        return text[: text.find("]") + 1]
    return text.rpartition(":")[0] if ":" in text else text


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    media_type = content_type.partition(b";")[0].strip().lower()
    return media_type == b"application/json"
