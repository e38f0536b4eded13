"""Shared fixtures: real PhantomDB Lite processes over HTTP."""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

READY_PREFIX = "PhantomDB Lite listening on "

# How describe reports the example's auto-incrementing BIGINT key (stored as SQLite's INTEGER rowid).
DOCS_USERS_ID_DESCRIPTION: dict[str, Any] = {
    "name": "id",
    "type": "INTEGER",
    "nullable": False,
    "default": None,
    "primary_key": True,
    "auto_increment": True,
    "unique": False,
    "references": None,
}

# The create-table example of docs/rest-api.md, used by the schema, dialect and OpenAPI tests.
DOCS_USERS_TABLE: dict[str, Any] = {
    "name": "users",
    "columns": [
        {"name": "id", "type": "BIGINT", "primary_key": True, "auto_increment": True},
        {"name": "email", "type": "VARCHAR(254)", "nullable": False, "unique": True},
        {"name": "age", "type": "INTEGER", "nullable": False, "default": 0},
        {
            "name": "team_id",
            "type": "INTEGER",
            "nullable": True,
            "references": {"table": "teams", "column": "id", "on_delete": "CASCADE", "deferrable": True},
        },
    ],
    "constraints": [
        {"name": "age_gte_0", "type": "check", "check": '"age" >= 0'},
        {"name": "uniq_email_age", "type": "unique", "columns": ["email", "age"]},
    ],
    "indexes": [
        {"name": "users_age_idx", "columns": ["age"]},
        {"name": "users_lower_email", "expressions": ['lower("email")'], "unique": True},
        {"name": "users_active_age", "columns": ["age"], "condition": '"age" > 18'},
    ],
}


@dataclass
class ServerProcess:
    """A PhantomDB Lite server running in its own process."""

    url: str
    data_dir: Path
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(data_dir: Path, *extra_args: str, env: dict[str, str] | None = None) -> ServerProcess:
    """Start ``python -m phantomdb.server`` on an ephemeral port and wait until it serves."""
    command = [
        sys.executable, "-m", "phantomdb.server",
        "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir), *extra_args,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(READY_PREFIX):
            return ServerProcess(line[len(READY_PREFIX):].strip(), data_dir, process)
    process.wait(timeout=10)
    raise RuntimeError(f"PhantomDB Lite exited with {process.returncode} before it was ready")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One PhantomDB Lite process without authentication, shared by the session."""
    process = start_server(tmp_path_factory.mktemp("phantomdb-data"), "--transaction-timeout", "3")
    yield process
    process.stop()


@pytest.fixture(scope="session")
def server_url(server: ServerProcess) -> str:
    return server.url


_database_numbers = itertools.count()


@pytest.fixture
def database_name(request: pytest.FixtureRequest) -> str:
    """A database name unique to this test (not created)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"t{next(_database_numbers)}_{request.node.name[:40]}")


@dataclass
class RedisProcess:
    """A real redis-server on a free loopback port, with no persistence."""

    port: int
    data_dir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server (.ci/run does)")
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.data_dir)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            address = ("127.0.0.1", self.port)
            with contextlib.suppress(OSError), socket.create_connection(address, 0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """One redis-server for the session; tests may stop and start it again."""
    redis = RedisProcess(free_port(), tmp_path_factory.mktemp("redis"))
    redis.start()
    yield redis
    redis.stop()


@contextlib.contextmanager
def cycles_found() -> Iterator[list[Any]]:
    """The block runs with the garbage collector off; after it, the list holds what a collection
    found unreachable only through reference cycles (Django's own suite checks there is none)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list[Any] = []
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
