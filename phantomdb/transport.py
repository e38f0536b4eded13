"""HTTP transport of the PhantomDB client: keep-alive http.client connections.

Every REST call of ``phantomdb.PhantomDB`` goes through ``Transport.request``.
The transport's own cost per call decides how fast the Django backend can be
(shared/PERF-NOTES.md: requests adds 1.0-1.3 ms per call, urllib3 about
0.45 ms, http.client about 0.2 ms), so the hot path is plain ``http.client``
on pooled keep-alive connections, with orjson bodies and headers built once.

Retries never risk running a write twice: a request is sent again only when
the connection failed before anything was sent, or when it is an idempotent
GET whose connection broke.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import orjson

from phantomdb.encoding import encode_value
from phantomdb.errors import (
    DataError,
    InterfaceError,
    InternalError,
    OperationalError,
    PhantomDBError,
    error_from_response,
)

__all__ = ["HeadersHook", "Transport"]

logger = logging.getLogger("phantomdb.transport")

USER_AGENT = "phantomdb-python/0.1.0"

#: Called before each request with an empty dict it may add headers to (a W3C
#: ``traceparent``, say). ``opentelemetry.propagate.inject`` fits as is.
HeadersHook = Callable[[MutableMapping[str, str]], Any]

# Methods whose request may be sent twice without changing the outcome.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
# Methods whose request without a body still says Content-Length: 0.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# Codes for error responses that carry no PhantomDB JSON error (a proxy's page).
_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "unauthorized",
    404: "route_not_found",
    405: "method_not_allowed",
    410: "transaction_expired",
    413: "payload_too_large",
    502: "operational_error",
    503: "operational_error",
    504: "operational_error",
}

UNAUTHORIZED_MESSAGE = "Unauthorized access"

# Failures of a connection while a request is sent or its response is read.
_BROKEN = (ConnectionError, http.client.HTTPException, OSError)


class _ConnectFailed(Exception):
    """A connection could not be opened, so no byte of the request was sent."""

    def __init__(self, reason: str, retriable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retriable = retriable


def _json_default(value: Any) -> Any:
    # A safety net: values are encoded by the client before they get here, but a
    # Decimal or bytes in, say, a column default must still travel in its $ form.
    return encode_value(value)


def _is_dropped(sock: socket.socket) -> bool:
    """True when an idle keep-alive socket is readable: the server closed it (EOF)
    or sent something unasked; either way it cannot carry the next request."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class _KeptReader:
    """A connection's buffered reader of its socket, which every response on it reads from.

    http.client gives each response a new buffered reader (``sock.makefile``)
    and closes it after the body; a keep-alive connection reuses this one. A
    response that is still being read when its connection closes (``Connection:
    close``) becomes the reader's last user and closes it when done, as it would
    close its own reader.
    """

    __slots__ = ("file", "in_use", "orphaned", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.file = sock.makefile("rb")
        self.in_use = False  # a response is reading from it
        self.orphaned = False  # its connection closed: the last response closes it

    def makefile(self, mode: str) -> Any:  # what HTTPResponse asks its "socket" for
        self.in_use = True
        return self.file

    def done(self) -> None:
        """The response reading from it finished (or was closed)."""
        self.in_use = False
        if self.orphaned:
            self.file.close()

    def release(self) -> None:
        """Its connection closed; close now unless a response still reads from it."""
        self.orphaned = True
        if not self.in_use:
            self.file.close()


class _Response(http.client.HTTPResponse):
    """A response read through its connection's ``_KeptReader``, left open for the next one."""

    def __init__(self, reader: _KeptReader, debuglevel: int = 0, method: str | None = None):
        super().__init__(reader, debuglevel, method)  # type: ignore[arg-type]  # takes reader.makefile()
        self._reader = reader

    def _close_conn(self) -> None:
        if self.fp is not None:
            self.fp = None  # type: ignore[assignment]  # http.client's own "closed" marker
            self._reader.done()


class _PreparedHead:
    """A mixin for http.client connections: fewer objects and checks per request.

    ``putheader`` checks and encodes every header of every request; the headers
    that are the same on every request (Host, credentials, User-Agent...) are
    checked once by ``prepare_headers`` instead and written with ``put_prepared``.
    Responses read through one ``_KeptReader`` per socket instead of a new
    buffered reader each.
    """

    _kept: _KeptReader | None = None
    _join_next = False  # the next send() is a request head whose body follows
    _held: bytes | None = None

    def put_prepared(self, lines: bytes) -> None:
        """Add header lines that ``prepare_headers`` made (CRLF-separated, no final CRLF)."""
        self._output(lines)  # type: ignore[attr-defined]  # what putheader itself ends with

    def end_request(self, body: bytes | None) -> None:
        """``endheaders(body)``, with the head and a body in one send.

        http.client sends them in two: with TCP_NODELAY, two TCP segments, and
        the server may wake up for the head alone.
        """
        if not body:
            self.endheaders()  # type: ignore[attr-defined]
            return
        self._join_next = True
        try:
            self.endheaders(body)  # type: ignore[attr-defined]  # sends the head, then the body
        except BaseException:
            self._held = None
            raise
        finally:
            self._join_next = False
        held, self._held = self._held, None
        if held is not None:  # endheaders sent no body after the head
            super().send(held)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self._join_next:
            self._join_next = False
            self._held = data
            return
        held = self._held
        if held is not None:
            self._held = None
            data = held + data
        super().send(data)  # type: ignore[misc]

    def response_class(  # called by getresponse() as self.response_class(self.sock, ...)
        self, sock: socket.socket, debuglevel: int = 0, method: str | None = None, url: str | None = None
    ) -> http.client.HTTPResponse:
        kept = self._kept
        if kept is None or kept.sock is not sock:
            kept = self._kept = _KeptReader(sock)
        return _Response(kept, debuglevel, method)

    def close(self) -> None:
        kept, self._kept = self._kept, None
        try:
            super().close()  # type: ignore[misc]
        finally:
            if kept is not None:
                kept.release()


# response_class is a method here, a class in http.client: both are called the same way.
class _Connection(_PreparedHead, http.client.HTTPConnection):  # type: ignore[misc]
    pass


class _SecureConnection(_PreparedHead, http.client.HTTPSConnection):  # type: ignore[misc]
    pass


_PooledConnection = _Connection | _SecureConnection


class _HeaderRecorder(http.client.HTTPConnection):
    """Runs http.client's own checks and encoding of request headers and keeps the lines."""

    def __init__(self, host: str, port: int, default_port: int):
        super().__init__(host, port)
        self.default_port = default_port
        self.lines: list[bytes] = []

    def _output(self, s: bytes) -> None:
        self.lines.append(s)


def prepare_headers(host: str, port: int, default_port: int, headers: Mapping[str, str]) -> bytes:
    """The Host and Accept-Encoding lines http.client writes, then ``headers``: one block.

    Raises ValueError for a header http.client refuses (a CR or LF in a token, say).
    """
    recorder = _HeaderRecorder(host, port, default_port)
    recorder.putrequest("GET", "/")  # adds Host and Accept-Encoding as for any request
    for name, value in headers.items():
        recorder.putheader(name, value)
    return b"\r\n".join(recorder.lines[1:])  # without the request line


class Transport:
    """A small LIFO pool of keep-alive HTTP(S) connections to one PhantomDB server.

    Thread-safe: each request takes a connection of its own from the pool. The
    pool keeps at most ``pool_size`` idle connections; more concurrent requests
    open extra connections that are closed afterwards.
    """

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float | None = 30.0,
        connect_timeout: float | None = 5.0,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        pool_size: int = 4,
        retries: int = 2,
        backoff: float = 0.05,
        headers_hook: HeadersHook | None = None,
    ):
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"PhantomDB URL must start with http:// or https://, not {parts.scheme}://")
        if not parts.hostname:
            raise ValueError("PhantomDB URL has no host")
        if parts.username is not None and user is None and token is None:
            user = unquote(parts.username)
            password = unquote(parts.password or "")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        host_text = f"[{self.host}]" if ":" in self.host else self.host
        # The URL shown in errors and logs never carries credentials.
        self.url = f"{self.scheme}://{host_text}:{self.port}{self.prefix}"
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.pool_size = max(0, pool_size)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.headers_hook = headers_hook
        self._ssl_context = self._make_ssl_context(verify, cert) if self.scheme == "https" else None
        headers = {
            "Accept": "application/json",
            "Connection": "keep-alive",
            "User-Agent": USER_AGENT,
        }
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif user is not None:
            basic = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
        self._headers = headers
        self._prepared: bytes | None
        default_port = 443 if self.scheme == "https" else 80
        try:
            self._prepared = prepare_headers(self.host, self.port, default_port, headers)
        except ValueError:  # a header http.client refuses: it says so on each request, as it always did
            self._prepared = None
        self._idle: list[_PooledConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"<Transport {self.url} pool_size={self.pool_size}>"

    @staticmethod
    def _make_ssl_context(verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext:
        """``verify`` is True (system CAs), False (no check), or a CA bundle path."""
        if verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif verify is True:
            context = ssl.create_default_context()
        else:
            context = ssl.create_default_context(cafile=verify)
        if cert is not None:
            certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
            context.load_cert_chain(certfile, keyfile)
        return context

    # -- the pool ---------------------------------------------------------------

    def _new_connection(self) -> _PooledConnection:
        """Open a connection now, so that a failure is known to precede any send."""
        conn: _PooledConnection
        if self._ssl_context is not None:
            conn = _SecureConnection(
                self.host, self.port, timeout=self.connect_timeout, context=self._ssl_context
            )
        else:
            conn = _Connection(self.host, self.port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except TimeoutError:
            conn.close()
            raise _ConnectFailed(f"timed out after {self.connect_timeout}s") from None
        except ssl.SSLCertVerificationError as exc:
            conn.close()  # asking again gets the same certificate
            raise _ConnectFailed(exc.verify_message or str(exc), retriable=False) from None
        except OSError as exc:
            conn.close()
            raise _ConnectFailed(exc.strerror or str(exc) or type(exc).__name__) from None
        sock = conn.sock
        assert sock is not None
        with contextlib.suppress(OSError):  # a platform without TCP_NODELAY
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout)
        return conn

    def _checkout(self) -> _PooledConnection:
        """The most recently used idle connection the server has not closed, else a new one."""
        while True:
            with self._lock:
                if self._closed:
                    raise InterfaceError("The PhantomDB client is closed")
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._new_connection()
            if conn.sock is not None and not _is_dropped(conn.sock):
                return conn
            logger.debug("dropping a keep-alive connection to %s that the server closed", self.url)
            conn.close()

    def _checkin(self, conn: _PooledConnection) -> None:
        with self._lock:
            if not self._closed and conn.sock is not None and len(self._idle) < self.pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection; requests after this raise."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- the one request path ---------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        transaction: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one call; return its JSON body (None when empty), or raise a PhantomDBError.

        ``path`` is relative to the server URL and already quoted, query included.
        """
        payload: bytes | None = None
        if body is not None:
            try:
                payload = orjson.dumps(body, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
            except orjson.JSONEncodeError as exc:  # an integer beyond 64 bits, say
                raise DataError(f"PhantomDB cannot send this value: {exc}", code="data_error") from None
        # The hook adds to a dict of its own, so the prepared headers stay prepared.
        added: dict[str, str] = {}
        if self.headers_hook is not None:
            self.headers_hook(added)
        send_headers: dict[str, str] | None = None
        if headers or self._prepared is None:
            # The general way: every header through putheader.
            send_headers = self._headers.copy()
            if payload is not None:
                send_headers["Content-Type"] = "application/json"
            elif method in _BODY_METHODS:
                send_headers["Content-Length"] = "0"
            if transaction is not None:
                send_headers["PhantomDB-Transaction"] = transaction
            if headers:
                send_headers.update(headers)
            send_headers.update(added)
        target = self.prefix + path
        idempotent = method in _IDEMPOTENT

        attempt = 0
        while True:
            try:
                conn = self._checkout()
            except _ConnectFailed as exc:
                if exc.retriable and attempt < self.retries:
                    attempt += 1
                    logger.debug("connecting to %s failed (%s); retry %d", self.url, exc.reason, attempt)
                    time.sleep(self.backoff * (2 ** (attempt - 1)))
                    continue
                raise OperationalError(
                    f"Failed to connect to PhantomDB server at {self.url}: {exc.reason}",
                    code="connection_failed",
                ) from None
            try:
                if send_headers is None:
                    self._send(conn, method, target, payload, transaction, added)
                else:
                    self._send_with(conn, method, target, payload, send_headers)
                response = conn.getresponse()
                data = response.read()
            except TimeoutError:
                conn.close()
                raise OperationalError(
                    f"PhantomDB server at {self.url} did not answer {method} {_route(path)} "
                    f"within {self.timeout}s",
                    code="timeout",
                ) from None
            except _BROKEN as exc:
                conn.close()
                reason = str(exc) or type(exc).__name__
                if idempotent and attempt < self.retries:
                    attempt += 1
                    logger.debug(
                        "%s %s on %s broke (%s); retry %d", method, _route(path), self.url, reason, attempt
                    )
                    continue
                code = "connection_failed" if idempotent else "connection_lost"
                if idempotent:
                    message = (
                        f"Failed to connect to PhantomDB server at {self.url}: "
                        f"the connection broke during {method} {_route(path)} ({reason})"
                    )
                else:
                    message = (
                        f"Lost the connection to PhantomDB server at {self.url} during "
                        f"{method} {_route(path)} ({reason}); not retried, as the server may have applied it"
                    )
                raise OperationalError(message, code=code) from None
            if response.will_close:
                conn.close()
            else:
                self._checkin(conn)
            status = response.status
            if status >= 400:
                raise self._error(status, data, response.getheader("Content-Type"))
            if not data:
                return None
            content_type = response.getheader("Content-Type") or ""
            if "json" not in content_type:
                return data.decode("utf-8", "replace")
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                raise InternalError(
                    f"PhantomDB server at {self.url} answered {method} {_route(path)} "
                    f"with invalid JSON: {exc}",
                    code="internal_error",
                    status=status,
                ) from None

    def _send(
        self,
        conn: _PooledConnection,
        method: str,
        target: str,
        payload: bytes | None,
        transaction: str | None,
        added: Mapping[str, str],
    ) -> None:
        """Write one request: what ``conn.request`` writes, with the fixed headers prepared once."""
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.put_prepared(self._prepared)  # type: ignore[arg-type]  # not None on this path
        if payload is not None:
            conn.put_prepared(b"Content-Type: application/json\r\nContent-Length: %d" % len(payload))
        elif method in _BODY_METHODS:
            conn.put_prepared(b"Content-Length: 0")
        if transaction is not None:
            conn.putheader("PhantomDB-Transaction", transaction)
        for name, value in added.items():
            conn.putheader(name, value)
        conn.end_request(payload)

    @staticmethod
    def _send_with(
        conn: _PooledConnection, method: str, target: str, payload: bytes | None, headers: Mapping[str, str]
    ) -> None:
        """Write one request with ``headers`` as given (a hook's too): what ``conn.request`` writes."""
        names = {name.lower() for name in headers}
        conn.putrequest(
            method, target, skip_host="host" in names, skip_accept_encoding="accept-encoding" in names
        )
        for name, value in headers.items():
            conn.putheader(name, value)
        if payload is not None and "content-length" not in names and "transfer-encoding" not in names:
            conn.putheader("Content-Length", str(len(payload)))
        conn.end_request(payload)

    @staticmethod
    def _error(status: int, data: bytes, content_type: str | None) -> PhantomDBError:
        """The exception for an error response: its code decides the class."""
        code = message = None
        if data and content_type and "json" in content_type:
            try:
                error = orjson.loads(data).get("error")
                code, message = error.get("code"), error.get("message")
            except (orjson.JSONDecodeError, AttributeError):
                pass
        if not isinstance(code, str):
            code = _STATUS_CODES.get(status, "internal_error" if status >= 500 else f"http_{status}")
        if status in (401, 403) or code == "unauthorized":
            message = UNAUTHORIZED_MESSAGE
        if not isinstance(message, str):
            text = data[:200].decode("utf-8", "replace").strip()
            message = f"PhantomDB server answered HTTP {status}" + (f": {text}" if text else "")
        return error_from_response(code, message, status)


def _route(path: str) -> str:
    """Messages and logs name the route, never the query string: it holds values."""
    return path.split("?", 1)[0]


def quote_name(name: str) -> str:
    """Quote a database, table or savepoint name as one path segment."""
    return quote(name, safe="")
