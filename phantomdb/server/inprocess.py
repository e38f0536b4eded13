"""Calls from the process that embeds PhantomDB Lite, handed to its application without a socket.

The Django backend with ``HOST`` empty talks to a server in its own process:
over HTTP each call pays a loopback send and receive on both sides, a request
head written and parsed, a response head written and parsed, and uvicorn's
protocol in between (about 100 us a call here, shared/PERF-NOTES.md). In
process, a request becomes the ASGI scope uvicorn would have made and runs
on the server's event loop, so routing, authentication, limits, errors,
cancellation and streaming are the application's own, as over HTTP; only the
bytes on the wire are gone. The listening socket stays for everyone else
(``dbshell``, other processes, the test runner's workers).

A streamed body comes across in the pieces the application sends, at most
``_UNREAD_PIECES`` ahead of the reader: a reader that stops reading stalls the
application's ``send``, as a full socket buffer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from phantomdb.errors import InterfaceError, OperationalError
from phantomdb.server.errors import ApiError
from phantomdb.server.messages import error_response
from phantomdb.transport import (
    USER_AGENT,
    HeadersHook,
    authorization,
    checked_headers,
    checked_target,
    cut_stream_error,
    decoded,
    encode_body,
    lost_while_reading,
    response_error,
    timed_out,
)

if TYPE_CHECKING:
    from phantomdb.server.app import PhantomDBLite

logger = logging.getLogger("phantomdb.server")
_INTERNAL_ERROR = ApiError("internal_error", "Internal server error: the server logged it")

# Pieces of a streamed body the application may send before the reader takes them.
_UNREAD_PIECES = 4
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON = b"application/json"


class Gateway:
    """The door of one embedded server for calls of its own process: the application, the loop
    it runs on (known once the server started), and the calls submitted to it.

    A call submitted while the server shuts down is answered "no response" at
    once (``close``), never left waiting for its timeout.
    """

    def __init__(self, app: PhantomDBLite):
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._submitted: set[_Exchange] = set()  # not finished yet
        self._running: set[asyncio.Task[None]] = set()  # the loop holds tasks weakly

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def submit(self, exchange: _Exchange) -> None:
        """Start ``exchange`` on its loop (from any thread); RuntimeError once the server stopped."""
        with self._lock:
            if self.loop is None or self.loop is not exchange.loop:
                raise RuntimeError("the embedded server is not running")
            self._submitted.add(exchange)
        try:
            exchange.loop.call_soon_threadsafe(self._start, exchange)
        except RuntimeError:  # the loop closed meanwhile
            self._finished(exchange)
            raise

    def _start(self, exchange: _Exchange) -> None:
        if self.loop is None:  # shutting down
            self._finished(exchange)
            return
        # A context of its own: the caller's context variables stay the caller's.
        task = exchange.loop.create_task(self._serve(exchange), context=contextvars.Context())
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _serve(self, exchange: _Exchange) -> None:
        try:
            await exchange.run(self.app)
        finally:
            self._finished(exchange)

    def _finished(self, exchange: _Exchange) -> None:
        with self._lock:
            self._submitted.discard(exchange)
        exchange.end()

    async def close(self, timeout: float) -> None:
        """Let the calls in flight finish (on the loop, before the application shuts down);
        those that never started, or did not finish in time, end without an answer."""
        with self._lock:
            self.loop = None
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)
        with self._lock:
            left, self._submitted = self._submitted, set()
        for exchange in left:
            exchange.end()


class InProcessTransport:
    """A client's transport to the embedded server of ``gateway`` (see ``PhantomDB(transport=...)``).

    Takes ``Transport``'s arguments; those about connections and TLS
    (``connect_timeout``, ``verify``, ``cert``, ``pool_size``, ``retries``)
    have nothing to apply to. It serves the process that made it: after a
    fork the server's thread is not in the child, and a call says so at once.
    """

    def __init__(
        self,
        gateway: Gateway,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float | None = 30.0,
        headers_hook: HeadersHook | None = None,
        **connection_options: Any,
    ):
        self._gateway = gateway
        self.url = url
        self.prefix = ""
        self.timeout = timeout
        self.headers_hook = headers_hook
        host = urlsplit(url).netloc.encode("latin-1")
        self._fixed: list[tuple[bytes, bytes]] = [(b"host", host), (b"user-agent", USER_AGENT.encode())]
        credentials = authorization(user, password, token)
        if credentials is not None:
            self._fixed.append((b"authorization", credentials.encode("latin-1")))
        self._closed = False
        self._process = os.getpid()

    def __repr__(self) -> str:
        return f"<InProcessTransport {self.url}>"

    def close(self) -> None:
        self._closed = True

    def request(self, method: str, path: str, body: Any = None, *, transaction: str | None = None) -> Any:
        """As ``Transport.request``: the JSON body (None when empty), or the PhantomDBError."""
        exchange = self._exchange(method, path, body, transaction)
        return decoded(self.url, method, path, exchange.status, exchange.content_type, exchange.rest())

    def stream(
        self, method: str, path: str, body: Any = None, *, transaction: str | None = None
    ) -> _Exchange:
        """As ``Transport.stream``: the response, its body to read as it arrives."""
        return self._exchange(method, path, body, transaction)

    def _exchange(self, method: str, path: str, body: Any, transaction: str | None) -> _Exchange:
        if self._closed:
            raise InterfaceError("The PhantomDB client is closed")
        if os.getpid() != self._process:
            raise OperationalError(
                f"Failed to connect to PhantomDB server at {self.url}: the embedded server runs in the"
                " process that started it, not in this one (forked after it started): connect to its URL",
                code="connection_failed",
            )
        target, _, query = checked_target(path).partition("?")
        headers = list(self._fixed)
        payload = b""
        if body is not None:
            payload = encode_body(body)
            headers += [(b"content-type", _JSON), (b"content-length", b"%d" % len(payload))]
        elif method in _BODY_METHODS:
            headers.append((b"content-length", b"0"))
        extra: dict[str, str] = {}
        if transaction is not None:
            extra["PhantomDB-Transaction"] = transaction
        if self.headers_hook is not None:
            self.headers_hook(extra)
        for name, value in checked_headers(extra).items():
            headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(target),
            "raw_path": target.encode("ascii"),
            "query_string": query.encode("ascii"),
            "root_path": "",
            "headers": headers,
            "client": None,
            "server": None,
        }
        loop = self._gateway.loop
        try:
            if loop is None:
                raise RuntimeError("not running")
            exchange = _Exchange(self, loop, method, path, scope, payload)
            self._gateway.submit(exchange)
        except RuntimeError:
            raise OperationalError(
                f"Failed to connect to PhantomDB server at {self.url}: the embedded server has stopped",
                code="connection_failed",
            ) from None
        exchange.wait_for_head()
        if exchange.status >= 400:
            raise response_error(exchange.status, exchange.rest(), exchange.content_type)
        return exchange


class _Exchange:
    """One call: the application's side (``run``, ``receive``, ``send``) on the loop, and the
    response as the client reads it (``StreamedBody``) on the caller's thread.

    The loop hands the caller ``(status, headers, body, more)`` once, then
    ``(body, more)`` for each further piece, or ``None`` when the application
    returned before the last one; the caller hands the loop ``_took`` (a piece
    was read) and ``_hang_up`` (nothing more will be read).
    """

    def __init__(
        self,
        transport: InProcessTransport,
        loop: asyncio.AbstractEventLoop,
        method: str,
        path: str,
        scope: dict[str, Any],
        payload: bytes,
    ):
        self._transport = transport
        self.loop = loop
        self._method = method
        self._path = path
        self._scope = scope
        self._payload: bytes | None = payload
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.status = 0
        self.content_type = ""
        self.chunked = False
        self._first = b""
        self._open = True  # pieces are still to come
        self._tail = b""  # the last piece read: a cut stream's error line is in it
        # The loop's side, touched only on the loop.
        self._head: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self._unread = 0
        self._room: asyncio.Future[None] | None = None
        self._gone: asyncio.Future[None] | None = None
        self._hung_up = False
        self._answered = False  # the last piece was sent (or the reader told there is none)
        self._started = False  # a piece was sent

    # -- on the loop ------------------------------------------------------------

    async def run(self, app: PhantomDBLite) -> None:
        try:
            await app(self._scope, self.receive, self.send)
        except Exception:
            # The application answers its own errors; this is a bug of it: answer as uvicorn would.
            logger.exception("Exception in the PhantomDB Lite application (in-process call)")
            if not self._started:
                response = error_response(_INTERNAL_ERROR)
                head = [(b"content-type", response.content_type)]
                await self.send({"type": "http.response.start", "status": response.status, "headers": head})
                await self.send({"type": "http.response.body", "body": response.body})

    def end(self) -> None:
        """The application returned (or never ran): a reader waiting for more learns there is none."""
        if not self._answered:
            self._answered = True
            self._outbox.put(None)

    async def receive(self) -> dict[str, Any]:
        payload, self._payload = self._payload, None
        if payload is not None:
            return {"type": "http.request", "body": payload, "more_body": False}
        if not self._hung_up:
            self._gone = self.loop.create_future()
            try:
                await self._gone
            finally:
                self._gone = None  # a cancelled future's traceback would hold this exchange
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if self._hung_up:
            return  # as uvicorn does once the client has gone
        if message["type"] == "http.response.start":
            self._head = (message["status"], message.get("headers", []))
            return
        body, more = message.get("body", b""), message.get("more_body", False)
        self._answered = not more
        self._started = True
        head, self._head = self._head, None
        self._outbox.put((*head, body, more) if head is not None else (body, more))
        if more:
            self._unread += 1
            while self._unread >= _UNREAD_PIECES and not self._hung_up:
                self._room = self.loop.create_future()
                try:
                    await self._room
                finally:
                    self._room = None

    def _took(self) -> None:
        self._unread -= 1
        self._wake_sender()

    def _hang_up(self) -> None:
        self._hung_up = True
        self._wake_sender()
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)

    def _wake_sender(self) -> None:
        if self._room is not None and not self._room.done():
            self._room.set_result(None)

    # -- on the caller's thread -------------------------------------------------

    def _next(self) -> Any:
        try:
            return self._outbox.get(timeout=self._transport.timeout)
        except queue.Empty:
            self.close()
            raise timed_out(self._transport.url, self._transport.timeout, self._method, self._path) from None
        except BaseException:  # KeyboardInterrupt, say: the application must not wait for a reader
            self.close()
            raise

    def wait_for_head(self) -> None:
        message = self._next()
        if message is None:
            self._open = False
            raise lost_while_reading(self._transport.url, self._method, self._path, "no response") from None
        status, headers, body, more = message
        self.status = status
        for name, value in headers:
            if name == b"content-type":
                self.content_type = value.decode("latin-1")
        self.chunked = more
        self._first = body
        self._open = more
        if more:
            self._tell_loop(self._took)

    @property
    def streamed(self) -> bool:
        return self.chunked

    def json(self) -> Any:
        transport = self._transport
        return decoded(transport.url, self._method, self._path, self.status, self.content_type, self.rest())

    def rest(self) -> bytes:
        pieces = list(self.pieces())
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def pieces(self) -> Iterator[bytes]:
        first, self._first = self._first, b""
        if first:
            yield first
        while self._open:
            message = self._next()
            if message is None:  # the application returned before the last piece
                self._open = False
                error = cut_stream_error(self._tail)
                if error is not None:
                    raise error
                raise lost_while_reading(
                    self._transport.url, self._method, self._path, "the server ended the response early"
                )
            body, more = message
            self._open = more
            if more:
                self._tell_loop(self._took)
            self._tail = body
            if body:
                yield body

    def close(self) -> None:
        """Stop reading: the application sees the client go (``http.disconnect``)."""
        if self._open:
            self._open = False
            self._tell_loop(self._hang_up)

    def _tell_loop(self, callback: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody left to tell
            self.loop.call_soon_threadsafe(callback)
