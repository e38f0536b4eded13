"""PhantomDB Lite as a bare ASGI application: the route table, and what every request goes through.

No framework: Starlette's routing and request objects cost about 50 us a call
(shared/PERF-NOTES.md), as much as the SQLite work of a point select. Each
request is routed, checked against browser attacks, authenticated, its body
read within the size limit, its handler run (cancelled if the client goes
away), any error turned into the JSON of docs/rest-api.md, and the response
written with one ``send`` for the head and one for the body (the protocol in
``serve`` puts both in one TCP send).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Any

import orjson

from phantomdb.server import VERSION, databases, query, rows, transactions
from phantomdb.server.auth import CHALLENGES, Authenticator
from phantomdb.server.browsers import BrowserChecks
from phantomdb.server.config import Settings
from phantomdb.server.errors import ApiError, translate_sqlite_error
from phantomdb.server.messages import Request, Response, StreamCut, error_response
from phantomdb.server.metrics import CONTENT_TYPE, Metrics
from phantomdb.server.routing import Route, Router
from phantomdb.server.statements import Statements, before_hand_off
from phantomdb.server.storage import Storage
from phantomdb.server.tracing import finish_server_span, server_span, tracing
from phantomdb.server.transactions import TransactionManager

logger = logging.getLogger("phantomdb.server")

_HEALTH = orjson.dumps({"status": "ok", "version": VERSION})
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# W3C trace context: the caller's span, continued by the request's span when tracing.
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})


async def health(request: Request) -> Response:
    return Response(200, _HEALTH)


async def metrics(request: Request) -> Response:
    return Response(200, request.app.metrics.exposition(), content_type=CONTENT_TYPE)


ROUTES = (
    Route("/health", {"GET": health}, public=True),
    Route("/metrics", {"GET": metrics}, public=True),
    Route("/databases", {"GET": databases.list_databases, "POST": databases.create_database}),
    Route("/databases/{db}", {"GET": databases.describe_database, "DELETE": databases.drop_database}),
    Route("/databases/{db}/clone", {"POST": databases.clone_database}),
    Route("/databases/{db}/query", {"POST": query.run_query}),
    Route("/databases/{db}/tables", {"GET": databases.list_tables, "POST": databases.create_table}),
    Route(
        "/databases/{db}/tables/{table}",
        {
            "GET": rows.select_rows,
            "POST": rows.insert_rows,
            "PUT": rows.update_rows,
            "DELETE": rows.delete_rows,
        },
    ),
    Route("/databases/{db}/tables/{table}/select", {"POST": rows.select_rows_from_body}),
    Route(
        "/databases/{db}/tables/{table}/schema",
        {"GET": databases.describe_table, "PATCH": databases.alter_table, "DELETE": databases.drop_table},
    ),
    Route("/transactions", {"POST": transactions.begin}),
    Route("/transactions/{id}/commit", {"POST": transactions.commit}),
    Route("/transactions/{id}/rollback", {"POST": transactions.rollback}),
    Route("/transactions/{id}/savepoints", {"POST": transactions.create_savepoint}),
    Route("/transactions/{id}/savepoints/{name}/release", {"POST": transactions.release_savepoint}),
    Route("/transactions/{id}/savepoints/{name}/rollback", {"POST": transactions.rollback_to_savepoint}),
)
UNMATCHED = "unmatched"  # the route label of requests no route matched


class PhantomDBLite:
    """The ASGI application of one server: its storage, transactions, credentials and metrics."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.router = Router(ROUTES)
        self.metrics = Metrics([route.template for route in ROUTES] + [UNMATCHED])
        self.storage = Storage(settings)
        self.statements = Statements(settings)
        self.transactions = TransactionManager(self.storage, settings, self.metrics, self.statements)
        self.auth = Authenticator(settings.credentials)
        self.browsers = BrowserChecks(settings)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if tracing():
                await self._traced_http(scope, receive, send)
            else:
                await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # Life cycle ---------------------------------------------------------------

    async def startup(self) -> None:
        self.storage.open()
        self.transactions.start()

    async def shutdown(self) -> None:
        """Roll back open transactions and close every SQLite connection."""
        await self.transactions.close()
        self.statements.close()
        self.storage.close()

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("PhantomDB Lite could not start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # Requests -----------------------------------------------------------------

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        method = scope["method"]
        found = self.router.match(scope["path"])
        route, params = found if found is not None else (None, {})
        request = Request(self, method, params, scope["query_string"])
        content_length = host = origin = fetch_site = content_type = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                request.authorization = value
            elif name == b"phantomdb-transaction":
                request.transaction = value.decode("latin-1") or None
            elif name == b"content-length":
                content_length = value
            elif name == b"content-type":
                content_type = value
            elif name == b"host":
                host = value
            elif name == b"origin":
                origin = value
            elif name == b"sec-fetch-site":
                fetch_site = value
        watcher = hand_off = None
        try:
            try:
                self.browsers.check_request(host, origin, fetch_site)
                if self.auth.enabled and (route is None or not route.public):
                    await self.auth.authenticate(request.authorization)
                if route is None:
                    raise ApiError("route_not_found", f"No route for {method} {scope['path']}")
                handler = route.handlers.get(method)
                if handler is None:
                    raise ApiError("method_not_allowed", f"{method} is not allowed on {route.template}")
                if method not in _BODYLESS:
                    request.body = await self._read_body(receive, content_length)
                    self.browsers.check_body(content_type, request.body)
                if not route.public:
                    watcher = _DisconnectWatcher(receive)
                    hand_off = before_hand_off.set(watcher.start)
                response = await handler(request)
            except ApiError as exc:
                response = self._error(exc, route)
            except (sqlite3.Error, OverflowError) as exc:
                response = self._error(translate_sqlite_error(exc), route)
            except Exception:
                logger.exception(
                    "Internal error answering %s %s", method, route.template if route else scope["path"]
                )
                response = self._error(
                    ApiError("internal_error", "Internal server error: the server logged it"), route
                )
            try:
                await self._send(send, response)
            finally:
                label = route.template if route is not None else UNMATCHED
                self.metrics.observe(
                    label,
                    method if method in _METHODS else "OTHER",
                    response.status,
                    time.perf_counter() - started,
                )
        except asyncio.CancelledError:
            if watcher is None or not watcher.fired:
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]  # the client left: nobody to answer
        finally:
            if watcher is not None:
                watcher.stop()
            if hand_off is not None:
                # The task's context holds the watcher, which holds the task: no cycle may outlive it.
                before_hand_off.reset(hand_off)

    async def _traced_http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """``_http`` inside the request's SERVER span, which continues the caller's trace."""
        found = self.router.match(scope["path"])
        route = found[0].template if found is not None else UNMATCHED
        trace_headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _TRACE_HEADERS
        }
        status: list[int] = []

        async def send_and_note(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        with server_span(scope["method"], route, trace_headers) as span:
            await self._http(scope, receive, send_and_note)
            finish_server_span(span, status[0] if status else None)

    async def _read_body(self, receive: Any, content_length: bytes | None) -> bytes:
        """The whole request body, refused with 413 as soon as it exceeds the limit."""
        limit = self.settings.max_body_bytes
        if content_length is not None and content_length.isdigit() and int(content_length) > limit:
            raise self._too_large(limit)
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ApiError("invalid_request", "The client went away before sending its body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise self._too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    @staticmethod
    def _too_large(limit: int) -> ApiError:
        return ApiError(
            "payload_too_large", f"The request body is larger than the server's limit of {limit} bytes"
        )

    @staticmethod
    def _error(error: ApiError, route: Route | None) -> Response:
        response = error_response(error)
        if error.code == "unauthorized":
            response.headers.extend(CHALLENGES)
        elif error.code == "method_not_allowed" and route is not None:
            response.headers.append((b"allow", route.allowed.encode("ascii")))
        elif error.code == "payload_too_large":
            # The rest of the body is not read: the connection cannot carry another request.
            response.headers.append((b"connection", b"close"))
        return response

    async def _send(self, send: Any, response: Response) -> None:
        headers = response.headers
        if response.content_type:
            headers.append((b"content-type", response.content_type))
        stream = response.stream
        stall_timeout = self.settings.transaction_timeout
        if stream is None:
            if response.status != 204:  # a 204 has no body, so no Content-Length either (RFC 9110)
                headers.append((b"content-length", b"%d" % len(response.body)))
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            await send({"type": "http.response.body", "body": response.body})
            return
        abandoned = False
        try:
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            async for chunk in stream.chunks:
                # A client that stops reading stalls send(): it may not hold the result's
                # connection (and transaction) for longer than an idle transaction may.
                await asyncio.wait_for(
                    send({"type": "http.response.body", "body": chunk, "more_body": True}), stall_timeout
                )
            await send({"type": "http.response.body", "body": b""})
        except TimeoutError:
            abandoned = True  # returning without the last chunk makes uvicorn close the connection
        except StreamCut:
            pass  # the same: the client sees a broken response, never a short valid one
        finally:
            stream.close()
            if abandoned:
                stream.abandon()


class _DisconnectWatcher:
    """Cancels the current task when the client disconnects, which interrupts its statement.

    It watches from the request's first hand-off of work to a worker thread
    (``start``, through ``statements.before_hand_off``): what runs on the loop
    itself (an inline read, at most a millisecond) cannot be interrupted
    anyway, so most requests never need a task of their own.
    """

    __slots__ = ("_receive", "_request_task", "_task", "fired")

    def __init__(self, receive: Any):
        self.fired = False
        self._receive = receive
        self._request_task = asyncio.current_task()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.fired = True
        if self._request_task is not None:
            self._request_task.cancel()

    def stop(self) -> None:
        # Dropping both: a cancelled task keeps its exception, whose traceback holds this watcher.
        task, self._task, self._request_task = self._task, None, None
        if task is not None:
            task.cancel()
