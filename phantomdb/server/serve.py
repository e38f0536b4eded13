"""Running PhantomDB Lite on uvicorn: the socket, the server, and one TCP send per response.

uvicorn (httptools parser, uvloop when installed) measured as fast as any
Python HTTP server here with the least of our own code (shared/PERF-NOTES.md).
We bind the listening socket ourselves so that port 0 works and the ready
line names the real port. uvicorn writes a response's head as soon as the
application starts the response and its body separately; ``HeldHeadTransport``
holds the head back until the body follows, so that both leave in one send.

uvicorn limits connections (``limit_concurrency``) and idle keep-alive time,
but with httptools it neither bounds a request head's size nor the time to
send it: ``HeldHeadHttpToolsProtocol`` adds both, before any of the request
reaches the application (and so before authentication). Past the connection
limit it answers the API's JSON error instead of uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Callable
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from phantomdb.server.app import PhantomDBLite
from phantomdb.server.config import Settings
from phantomdb.server.errors import ApiError
from phantomdb.server.inprocess import Gateway
from phantomdb.server.messages import error_response

READY_MESSAGE = "PhantomDB Lite listening on {url}"
# Seconds a client is told to wait when the server is at its connection limit.
BUSY_RETRY_AFTER = 1


def at_connection_limit(limit: int) -> Any:
    """The ASGI app uvicorn runs instead of ours past ``limit_concurrency``: the API's 503 as JSON."""
    response = error_response(
        ApiError(
            "server_busy",
            f"The server is at its limit of {limit} open connections (--max-connections):"
            f" retry after {BUSY_RETRY_AFTER} s, close idle connections, or raise the limit",
        )
    )
    headers = [
        (b"content-type", response.content_type),
        (b"content-length", b"%d" % len(response.body)),
        (b"retry-after", b"%d" % BUSY_RETRY_AFTER),
        (b"connection", b"close"),
    ]

    async def answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    return answer


class HeldHeadTransport:
    """Wraps a transport: a response head is written together with whatever comes next.

    The head is recognised as a write that starts with ``HTTP/`` and ends with a
    blank line. If nothing follows in the same loop iteration (a HEAD response,
    ``100 Continue``), a ``call_soon`` flushes it alone.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.writelines((held, data))
        elif data[:5] == b"HTTP/" and data[-4:] == b"\r\n\r\n":
            self._held = data
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:  # asked after every response: no detour through __getattr__
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HeldHeadHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through ``HeldHeadTransport``, with head limits.

    While a request head is being read (from the connection's first byte or the
    end of the previous response), its bytes are counted and a timer runs:
    past ``max_header_bytes`` the answer is ``431`` and the connection closes;
    past ``header_timeout`` the connection just closes. ``busy`` (built once per
    server by ``at_connection_limit``) answers in place of ``service_unavailable``.
    """

    def __init__(self, *args: Any, settings: Settings, busy: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._max_head = settings.max_header_bytes
        self._head_timeout = settings.header_timeout
        self._head_bytes: int | None = 0  # None while no head is being read
        self._head_timer: asyncio.TimerHandle | None = None
        self._busy = busy

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeldHeadTransport(transport, self.loop))  # type: ignore[arg-type]
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_read()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head:
                self._head_read()
                self._refuse_head()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._head_read()
        super().on_headers_complete()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        # uvicorn picks service_unavailable past limit_concurrency (also for a pipelined request).
        super()._start_asgi_task(cycle, self._busy if app is service_unavailable else app)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._await_head()

    def _await_head(self) -> None:
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self._head_timeout, self._head_too_slow)

    def _head_read(self) -> None:
        self._head_bytes = None
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._head_bytes:  # an idle keep-alive connection is timeout_keep_alive's business
            self.transport.close()

    def _refuse_head(self) -> None:
        message = f"The request head is larger than the server's limit of {self._max_head} bytes"
        body = orjson.dumps({"error": {"code": "headers_too_large", "message": message}})
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()


class LiteServer(uvicorn.Server):
    """A uvicorn server that calls ``on_ready`` once it accepts connections, with the
    ``gateway`` through which its own process may call it without a socket."""

    def __init__(self, config: uvicorn.Config, app: PhantomDBLite, on_ready: Callable[[], None]):
        super().__init__(config)
        self.gateway = Gateway(app)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.gateway.open(asyncio.get_running_loop())
            self._on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.gateway.close(self.config.timeout_graceful_shutdown or 0)
        await super().shutdown(sockets=sockets)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048)
    sock.setblocking(False)
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def build_server(settings: Settings, on_ready: Callable[[], None]) -> LiteServer:
    app = PhantomDBLite(settings)
    config = uvicorn.Config(
        app,
        http=functools.partial(  # type: ignore[arg-type]
            HeldHeadHttpToolsProtocol, settings=settings, busy=at_connection_limit(settings.max_connections)
        ),
        loop="auto",  # uvloop when installed
        ws="none",
        lifespan="on",
        log_config=None,  # logging is the embedding process's (or the CLI's) business
        log_level=settings.log_level,
        access_log=False,  # it would log query strings; nothing of ours needs it
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=settings.keepalive_timeout,
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=5,
    )
    return LiteServer(config, app, on_ready)
