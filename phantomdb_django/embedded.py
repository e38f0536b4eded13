"""The embedded default: PhantomDB Lite in this process when ``HOST`` is empty.

One server per data directory per process, started on first use on
127.0.0.1 with an ephemeral port, so ``migrate`` and ``runserver`` work with
nothing else installed. The backend's own calls reach it in process
(``EmbeddedServer.in_process``); its URL serves everyone else (``dbshell``,
the test runner's parallel workers, a process forked after it started).
The server (uvicorn, its schema code, its metrics) is imported only then: a
project on a remote server never loads it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phantomdb.server.embedded import EmbeddedServer

DEFAULT_DATA_DIR = "phantomdb-data"

_servers: dict[Path, EmbeddedServer] = {}
_lock = threading.Lock()


def embedded_server(options: dict[str, Any]) -> EmbeddedServer:
    """The embedded PhantomDB Lite for ``options["data_dir"]``, started if needed.

    ``options["durability"]`` (full, normal, off) applies when this process starts it.
    """
    path = Path(options.get("data_dir") or DEFAULT_DATA_DIR).resolve()
    with _lock:
        server = _servers.get(path)
        if server is None:
            from phantomdb.server.embedded import start_embedded

            path.mkdir(parents=True, exist_ok=True)
            # Quiet inside the Django process: its own logging says what matters.
            settings: dict[str, Any] = {"log_level": "warning"}
            if "durability" in options:
                settings["durability"] = options["durability"]
            server = _servers[path] = start_embedded(path, **settings)
        return server


def server_url(settings_dict: dict[str, Any]) -> str:
    """``HOST`` as the server URL; empty means the embedded PhantomDB Lite."""
    host = settings_dict.get("HOST") or ""
    if not host:
        return embedded_server(settings_dict.get("OPTIONS", {})).url
    if "://" not in host:
        port = settings_dict.get("PORT")
        host = f"http://{host}" + (f":{port}" if port else "")
    return host.rstrip("/")
