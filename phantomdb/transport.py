"""HTTP transport of the PhantomDB client: pooled keep-alive HTTP/1.1 connections.

Every REST call of ``phantomdb.PhantomDB`` goes through ``Transport.request``
(or ``Transport.stream`` for a result read as it arrives). The transport's own
cost per call decides how fast the Django backend can be (shared/PERF-NOTES.md:
requests adds 1.0-1.3 ms per call, urllib3 about 0.45 ms, http.client about
0.2 ms), so a request is written as one buffer in one send and its response
parsed by httptools (the parser PhantomDB Lite's server uses too): http.client
reads a response head line by line and parses it with the ``email`` package,
about 80 us a call here that httptools does in 2.

Retries never risk running a write twice: a request is sent again only when
the connection failed before anything was sent, or when it is an idempotent
GET whose connection broke.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

import httptools
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

__all__ = ["Body", "HeadersHook", "RequestTransport", "StreamedBody", "Transport"]

logger = logging.getLogger("phantomdb.transport")

USER_AGENT = "phantomdb-python/0.1.0"

#: Called before each request with an empty dict it may add headers to (a W3C
#: ``traceparent``, say). ``opentelemetry.propagate.inject`` fits as is.
HeadersHook = Callable[[MutableMapping[str, str]], Any]


class StreamedBody(Protocol):
    """A response body read as it arrives (``Body`` over HTTP)."""

    status: int
    content_type: str

    @property
    def streamed(self) -> bool: ...

    def json(self) -> Any: ...

    def pieces(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class RequestTransport(Protocol):
    """What carries a client's calls: ``Transport`` (HTTP), or an embedded server's in-process one."""

    url: str
    prefix: str

    def request(self, method: str, path: str, body: Any = None, *, transaction: str | None = None) -> Any: ...

    def stream(
        self, method: str, path: str, body: Any = None, *, transaction: str | None = None
    ) -> StreamedBody: ...

    def close(self) -> None: ...


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
_BROKEN = (ConnectionError, OSError)

#: A response head longer than this is refused (http.client's limit is about the same).
MAX_HEAD_BYTES = 64 * 1024
#: Bytes asked of the socket per read.
RECEIVE_BYTES = 64 * 1024

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP header name (RFC 9110)
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\0]")
_FORBIDDEN_IN_TARGET = re.compile(r"[\x00-\x20\x7f]")


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


class _Response:
    """One response, parsed by httptools as its bytes arrive: the status, the few headers
    the client reads, and the body in the pieces it came in (chunked framing removed)."""

    __slots__ = (
        "_parser",
        "chunked",
        "complete",
        "content_type",
        "extra",
        "head_bytes",
        "head_done",
        "keep_alive",
        "pieces",
        "sized",
        "status",
    )

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.content_type = ""
        self.keep_alive = False
        self.sized = False  # Content-Length or chunked: the end is known without EOF
        self.chunked = False  # sent as it was made: a streamed result
        self.head_done = False
        self.head_bytes = 0
        self.complete = False
        self.extra = False  # bytes followed the response: the connection cannot carry another
        self.pieces: list[bytes] = []

    def feed(self, data: bytes) -> None:
        if not self.head_done:
            self.head_bytes += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not self.complete:
                raise _ProtocolError(f"invalid HTTP response ({exc})") from None
            self.extra = True
        if not self.head_done and self.head_bytes > MAX_HEAD_BYTES:
            raise _ProtocolError(f"a response head longer than {MAX_HEAD_BYTES} bytes")

    def end_of_stream(self) -> None:
        """The server closed the connection: the end of a body that had no length, else an error
        (the server's own, when it cut a streamed result and said why on its last line)."""
        if self.head_done and not self.sized:
            self.complete = True
            self.keep_alive = False
            return
        error = cut_stream_error(b"".join(self.pieces[-3:]))
        if error is not None:
            raise _StreamCut(error)
        raise _ProtocolError("the server closed the connection before the response ended")

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.complete:
            self.extra = True

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            self.content_type = value.decode("latin-1")
        elif name == b"content-length":
            self.sized = True
        elif name == b"transfer-encoding":
            self.sized = True
            self.chunked = b"chunked" in value.lower()

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.pieces.append(body)

    def on_message_complete(self) -> None:
        if self.status < 200:  # 100 Continue and friends: the real response follows
            self.head_done = self.sized = self.chunked = False
            self.head_bytes = self.status = 0
            return
        self.complete = True
        self.detach()

    def detach(self) -> None:
        """Drop the parser, which holds this object's callbacks: no reference cycle outlives
        the response (Django's tests of memory release without the garbage collector see one)."""
        self._parser = None  # type: ignore[assignment]  # not parsed any more


class _ProtocolError(ConnectionError):
    """The server's bytes are not a valid HTTP/1.1 response: the connection is unusable."""


class _StreamCut(Exception):
    """The server cut a streamed result short, saying why (``error``) on its last line."""

    def __init__(self, error: PhantomDBError):
        super().__init__(str(error))
        self.error = error


def cut_stream_error(tail: bytes) -> PhantomDBError | None:
    """The error a streamed body's last line names, if the server ended it with one
    (docs/rest-api.md, "Streamed results": ``{"error": {...}}`` instead of the rest)."""
    tail = tail.rstrip(b"\n")
    line = tail[tail.rfind(b"\n") + 1 :]
    if not line.startswith(b'{"error"'):
        return None
    try:
        error = orjson.loads(line)["error"]
        code, message = error["code"], error["message"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if not isinstance(code, str) or not isinstance(message, str):
        return None
    return error_from_response(code, message, 200)


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request goes out in one send (head and body
    together, never split by Nagle), its response is read with httptools."""

    __slots__ = ("response", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.response: _Response | None = None  # the last one; closing detaches it if unfinished

    def exchange(self, request: bytes) -> _Response:
        """Send ``request``; return its response once the head has arrived."""
        self.sock.sendall(request)
        response = self.response = _Response()
        while not response.head_done:
            self.receive(response)
        return response

    def receive(self, response: _Response) -> None:
        """Feed the next bytes the server sent to ``response``."""
        data = self.sock.recv(RECEIVE_BYTES)
        if data:
            response.feed(data)
        else:
            response.end_of_stream()

    def read_body(self, response: _Response) -> bytes:
        """The rest of the body."""
        while not response.complete:
            self.receive(response)
        pieces, response.pieces = response.pieces, []
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def close(self) -> None:
        if self.response is not None:
            self.response.detach()
        with contextlib.suppress(OSError):
            self.sock.close()


def checked_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """``headers``, once no name or value could split a request head (else InterfaceError)."""
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or _FORBIDDEN_IN_VALUE.search(value):
            raise InterfaceError(f"Invalid HTTP header {name!r}: {value!r}")
    return headers


def _header_lines(headers: Mapping[str, str]) -> bytes:
    """``Name: value`` lines (CRLF-terminated) of checked headers."""
    return "".join(f"{name}: {value}\r\n" for name, value in checked_headers(headers).items()).encode(
        "latin-1"
    )


def checked_target(target: str) -> str:
    """A request's path and query, once nothing in it could split the request line (else InterfaceError)."""
    if _FORBIDDEN_IN_TARGET.search(target):
        raise InterfaceError(f"Invalid request target {target!r}")
    return target


def authorization(user: str | None, password: str | None, token: str | None) -> str | None:
    """The ``Authorization`` header's value for a token (Bearer) or a user (Basic), if any."""
    if token is not None:
        return f"Bearer {token}"
    if user is not None:
        return "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
    return None


def encode_body(body: Any) -> bytes:
    """A request body as JSON; a value JSON cannot carry is a DataError before anything is sent."""
    try:
        return orjson.dumps(body, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except orjson.JSONEncodeError as exc:  # an integer beyond 64 bits, say
        raise DataError(f"PhantomDB cannot send this value: {exc}", code="data_error") from None


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
        if _FORBIDDEN_IN_TARGET.search(self.prefix):
            raise ValueError(f"PhantomDB URL path {self.prefix!r} holds a space or control character")
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
        default_port = 443 if self.scheme == "https" else 80
        headers = {
            "Host": host_text if self.port == default_port else f"{host_text}:{self.port}",
            "Accept": "application/json",
            "Accept-Encoding": "identity",
            "Connection": "keep-alive",
            "User-Agent": USER_AGENT,
        }
        credentials = authorization(user, password, token)
        if credentials is not None:
            headers["Authorization"] = credentials
        # Checked and encoded once: the same on every request.
        self._fixed = _header_lines(headers)
        self._idle: list[_Connection] = []
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

    def _new_connection(self) -> _Connection:
        """Open a connection now, so that a failure is known to precede any send."""
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except TimeoutError:
            raise _ConnectFailed(f"timed out after {self.connect_timeout}s") from None
        except OSError as exc:
            raise _ConnectFailed(exc.strerror or str(exc) or type(exc).__name__) from None
        with contextlib.suppress(OSError):  # a platform without TCP_NODELAY
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._ssl_context is not None:
            try:
                sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)
            except ssl.SSLCertVerificationError as exc:
                sock.close()  # asking again gets the same certificate
                raise _ConnectFailed(exc.verify_message or str(exc), retriable=False) from None
            except TimeoutError:
                sock.close()
                raise _ConnectFailed(f"timed out after {self.connect_timeout}s") from None
            except OSError as exc:
                sock.close()
                raise _ConnectFailed(exc.strerror or str(exc) or type(exc).__name__) from None
        sock.settimeout(self.timeout)
        return _Connection(sock)

    def _checkout(self) -> _Connection:
        """The most recently used idle connection the server has not closed, else a new one."""
        while True:
            with self._lock:
                if self._closed:
                    raise InterfaceError("The PhantomDB client is closed")
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._new_connection()
            if not _is_dropped(conn.sock):
                return conn
            logger.debug("dropping a keep-alive connection to %s that the server closed", self.url)
            conn.close()

    def _checkin(self, conn: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def _release(self, conn: _Connection, response: _Response) -> None:
        """Back to the pool if ``response`` left it able to carry the next request."""
        if response.keep_alive and not response.extra:
            self._checkin(conn)
        else:
            conn.close()

    def close(self) -> None:
        """Close every idle connection; requests after this raise."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- the one request path ---------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, *, transaction: str | None = None) -> Any:
        """Send one call; return its JSON body (None when empty), or raise a PhantomDBError.

        ``path`` is relative to the server URL and already quoted, query included.
        """
        conn, response, data = self._exchange(method, path, body, transaction, whole=True)
        self._release(conn, response)
        return self._decoded(method, path, response, data)

    def stream(self, method: str, path: str, body: Any = None, *, transaction: str | None = None) -> Body:
        """Send one call and return its body to read as it arrives (``Body``).

        Errors are raised here, as by ``request``; a body the server sent whole
        (not chunked) is read whole before this returns.
        """
        conn, response, data = self._exchange(method, path, body, transaction, whole=False)
        if response.complete:
            self._release(conn, response)
        return Body(self, conn, response, data, method, path)

    def _exchange(
        self, method: str, path: str, body: Any, transaction: str | None, *, whole: bool
    ) -> tuple[_Connection, _Response, bytes]:
        """Send the request (retried while that is safe) and read its head; and its body,
        when ``whole`` or when the response is an error or not streamed."""
        request = self._request_bytes(method, self.prefix + path, body, transaction)
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
                response = conn.exchange(request)
                data = b""
                if whole or response.status >= 400 or not response.chunked:
                    data = conn.read_body(response)
            except TimeoutError:
                conn.close()
                raise self._timed_out(method, path) from None
            except _StreamCut as cut:
                conn.close()
                raise cut.error from None
            except _BROKEN as exc:
                conn.close()
                reason = str(exc) or type(exc).__name__
                if idempotent and attempt < self.retries:
                    attempt += 1
                    logger.debug(
                        "%s %s on %s broke (%s); retry %d", method, _route(path), self.url, reason, attempt
                    )
                    continue
                raise self._broken(method, path, reason, idempotent) from None
            if response.status >= 400:
                self._release(conn, response)
                raise response_error(response.status, data, response.content_type)
            return conn, response, data

    def _request_bytes(self, method: str, target: str, body: Any, transaction: str | None) -> bytes:
        """The whole request: request line, fixed and per-call headers, body."""
        line = b"%s %s HTTP/1.1\r\n" % (method.encode("ascii"), checked_target(target).encode("ascii"))
        parts = [line, self._fixed]
        payload = b""
        if body is not None:
            payload = encode_body(body)
            parts.append(b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(payload))
        elif method in _BODY_METHODS:
            parts.append(b"Content-Length: 0\r\n")
        extra: dict[str, str] = {}
        if transaction is not None:
            extra["PhantomDB-Transaction"] = transaction
        if self.headers_hook is not None:
            self.headers_hook(extra)
        if extra:
            parts.append(_header_lines(extra))
        parts.append(b"\r\n")
        parts.append(payload)
        return b"".join(parts)

    def _decoded(self, method: str, path: str, response: _Response, data: bytes) -> Any:
        return decoded(self.url, method, path, response.status, response.content_type, data)

    def _timed_out(self, method: str, path: str) -> OperationalError:
        return timed_out(self.url, self.timeout, method, path)

    def _broken(self, method: str, path: str, reason: str, idempotent: bool) -> OperationalError:
        if idempotent:
            return OperationalError(
                f"Failed to connect to PhantomDB server at {self.url}: "
                f"the connection broke during {method} {_route(path)} ({reason})",
                code="connection_failed",
            )
        return OperationalError(
            f"Lost the connection to PhantomDB server at {self.url} during {method} {_route(path)} "
            f"({reason}); not retried, as the server may have applied it",
            code="connection_lost",
        )


# What every transport answers the same way ------------------------------------


def decoded(url: str, method: str, path: str, status: int, content_type: str, data: bytes) -> Any:
    """A success's body: JSON decoded, other text as a string, None when empty."""
    if not data:
        return None
    if "json" not in content_type:
        return data.decode("utf-8", "replace")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InternalError(
            f"PhantomDB server at {url} answered {method} {_route(path)} with invalid JSON: {exc}",
            code="internal_error",
            status=status,
        ) from None


def timed_out(url: str, timeout: float | None, method: str, path: str) -> OperationalError:
    return OperationalError(
        f"PhantomDB server at {url} did not answer {method} {_route(path)} within {timeout}s", code="timeout"
    )


def lost_while_reading(url: str, method: str, path: str, reason: str) -> OperationalError:
    return OperationalError(
        f"Lost the connection to PhantomDB server at {url} while reading the "
        f"result of {method} {_route(path)} ({reason})",
        code="connection_lost",
    )


def response_error(status: int, data: bytes, content_type: str | None) -> PhantomDBError:
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


class Body:
    """A response body read as it arrives, for results too long to hold in memory at once.

    ``pieces()`` yields the body in the pieces the server sent it in; the
    connection goes back to the pool after the last one. ``close()`` before the
    end closes the connection instead, since the rest would still be on it.
    """

    __slots__ = ("_conn", "_data", "_method", "_path", "_response", "_transport", "content_type", "status")

    def __init__(
        self,
        transport: Transport,
        conn: _Connection,
        response: _Response,
        data: bytes,
        method: str,
        path: str,
    ):
        self._transport = transport
        self._conn: _Connection | None = None if response.complete else conn
        self._response = response
        self._data = data
        self._method = method
        self._path = path
        self.status = response.status
        self.content_type = response.content_type

    @property
    def streamed(self) -> bool:
        """True when the server sent the body chunked, as it produced it."""
        return self._response.chunked

    def json(self) -> Any:
        """A body the server sent whole, decoded as ``Transport.request`` decodes it."""
        return self._transport._decoded(self._method, self._path, self._response, b"".join(self.pieces()))

    def pieces(self) -> Iterator[bytes]:
        if self._data:
            data, self._data = self._data, b""
            yield data
        response = self._response
        while True:
            if response.pieces:
                pieces, response.pieces = response.pieces, []
                yield from pieces
            conn = self._conn
            if conn is None:  # closed, or read whole before it was handed over
                return
            if response.complete:
                self._conn = None
                self._transport._release(conn, response)
                return
            try:
                conn.receive(response)
            except TimeoutError:
                self.close()
                raise self._transport._timed_out(self._method, self._path) from None
            except _StreamCut as cut:
                self.close()
                raise cut.error from None
            except _BROKEN as exc:
                self.close()
                reason = str(exc) or type(exc).__name__
                raise lost_while_reading(self._transport.url, self._method, self._path, reason) from None

    def close(self) -> None:
        """Stop reading: the connection is closed unless the body was read to its end."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _route(path: str) -> str:
    """Messages and logs name the route, never the query string: it holds values."""
    return path.split("?", 1)[0]


def quote_name(name: str) -> str:
    """Quote a database, table or savepoint name as one path segment."""
    return quote(name, safe="")
