"""PhantomDB Lite inside another process: a daemon thread serving 127.0.0.1 on a free port.

This is how the Django backend runs when ``HOST`` is empty, its calls going in
process (``in_process``), not over the socket. It works from any
thread (uvicorn installs signal handlers only in the main thread), and several
servers can run in one process, each with its own event loop and metrics.
Embedded servers share their data directory with other embedded servers (the
other processes of one application) but not with ``phantomdb serve``
(``storage.lock_data_dir``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import IO, Any

from phantomdb.server.auth import Credentials
from phantomdb.server.config import Settings
from phantomdb.server.inprocess import InProcessTransport
from phantomdb.server.serve import bind_socket, build_server, socket_url
from phantomdb.server.storage import DataDirInUse, lock_data_dir

_START_TIMEOUT = 30.0


class EmbeddedServer:
    """A running embedded server: ``url`` to reach it, ``stop()`` to end it."""

    def __init__(self, url: str, server: Any, thread: threading.Thread, lock: IO[bytes]):
        self.url = url
        self._server = server
        self._thread = thread
        self._lock = lock  # the data directory's shared lock, see storage.lock_data_dir

    @property
    def running(self) -> bool:
        """Whether the server runs in this process (a forked child has only its parent's)."""
        return self._thread.is_alive()

    def in_process(self, url: str, **options: Any) -> InProcessTransport:
        """The transport of ``PhantomDB(server.url, transport=server.in_process)``: calls from this
        process go to the server's application directly, without the socket (``inprocess``)."""
        return InProcessTransport(self._server.gateway, url, **options)

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down cleanly (transactions rolled back, SQLite closed) and join the thread."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self._lock.close()

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_embedded(
    data_dir: str | Path,
    *,
    users: dict[str, str] | None = None,
    tokens: list[str] | None = None,
    **settings: Any,
) -> EmbeddedServer:
    """Start a server on 127.0.0.1 with an ephemeral port; return once it accepts connections.

    ``settings`` are ``config.Settings`` fields (``durability``, ``max_rows``,
    ``transaction_timeout``, ...); ``users`` and ``tokens`` turn on authentication.
    """
    credentials = Credentials.from_plain(users or {}, tokens or [])
    config = Settings(host="127.0.0.1", port=0, data_dir=Path(data_dir), credentials=credentials, **settings)
    try:
        lock = lock_data_dir(config.data_dir, shared=True)
    except DataDirInUse as exc:
        raise RuntimeError(f"PhantomDB Lite did not start: {exc}") from None
    try:
        sock = bind_socket(config.host, 0)
    except OSError:
        lock.close()
        raise
    url = socket_url(sock)
    ready = threading.Event()
    server = build_server(config, on_ready=ready.set)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="phantomdb-lite", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not ready.wait(0.05):
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            lock.close()
            raise RuntimeError(f"PhantomDB Lite did not start (data dir {data_dir}); see the log for why")
    return EmbeddedServer(url, server, thread, lock)
