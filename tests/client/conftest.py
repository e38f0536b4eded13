"""Fixtures of the client tests: a client on the shared server, a fresh database,
a server with authentication, a restartable server, and a scripted fake TCP
server for the transport failures a real server cannot be made to produce."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from phantomdb import PhantomDB, ProgrammingError
from tests.client.fakes import FakeServer, Respond
from tests.conftest import ServerProcess, start_server

ADMIN_USER, ADMIN_PASSWORD, TOKEN = "admin", "secret", "t0k3n"

USERS_COLUMNS = [
    {"name": "id", "type": "BIGINT", "primary_key": True, "auto_increment": True},
    {"name": "email", "type": "VARCHAR(254)", "nullable": False, "unique": True},
    {"name": "name", "type": "TEXT"},
    {"name": "age", "type": "INTEGER", "nullable": False, "default": 0},
]


@pytest.fixture
def client(server_url: str) -> Iterator[PhantomDB]:
    with PhantomDB(server_url) as phantom:
        yield phantom


@pytest.fixture
def db(client: PhantomDB, database_name: str) -> Iterator[str]:
    """A database created for this test and dropped after it."""
    client.create_database(database_name)
    yield database_name
    with contextlib.suppress(ProgrammingError):
        client.drop_database(database_name)


@pytest.fixture
def users(client: PhantomDB, db: str) -> str:
    """A ``users`` table: id (auto), email (unique), name, age (default 0)."""
    client.create_table(db, "users", columns=USERS_COLUMNS)
    return "users"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A PhantomDB Lite that wants ``admin:secret`` or the token ``t0k3n``."""
    process = start_server(
        tmp_path_factory.mktemp("phantomdb-auth"),
        "--user", f"{ADMIN_USER}:{ADMIN_PASSWORD}", "--token", TOKEN,
    )
    yield process
    process.stop()


@pytest.fixture(scope="module")
def tuned_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A PhantomDB Lite that streams results past 10 rows, cuts streams past 200 kB and expires
    transactions idle for 0.5 s."""
    process = start_server(
        tmp_path_factory.mktemp("phantomdb-tuned"),
        "--max-rows", "10", "--max-stream-bytes", "200000", "--transaction-timeout", "0.5",
    )  # fmt: skip
    yield process
    process.stop()


@pytest.fixture
def restartable_server(tmp_path: Path) -> Iterator[Callable[[], ServerProcess]]:
    """Start a server on its own data dir; later calls restart it on the same port."""
    processes: list[ServerProcess] = []

    def start() -> ServerProcess:
        args: list[str] = []
        if processes:
            processes[-1].stop()
            args = ["--port", processes[-1].url.rsplit(":", 1)[1].rstrip("/")]
        processes.append(start_server(tmp_path, *args))
        return processes[-1]

    yield start
    processes[-1].stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def make(respond: Respond, **options: Any) -> FakeServer:
        servers.append(FakeServer(respond, **options))
        return servers[-1]

    yield make
    for fake in servers:
        fake.close()
