"""Limits that hold before authentication: request head size and time, open connections."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import ServerProcess
from tests.server.conftest import assert_error, serving


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serving(
        tmp_path_factory.mktemp("phantomdb-strict"),
        "--header-timeout", "1", "--max-header-bytes", "8192", "--max-connections", "8",
        "--user", "admin:secret",
    )  # fmt: skip


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=15)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_head_larger_than_the_limit_is_431_and_closes(strict_server: ServerProcess) -> None:
    sock = _connect(strict_server.url)
    sock.sendall(b"GET /databases HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 20_000)
    answer = _read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "headers_too_large"


def test_a_head_within_the_limit_is_served(strict_server: ServerProcess) -> None:
    response = requests.get(f"{strict_server.url}/health", headers={"X-Padding": "a" * 4000})
    assert response.status_code == 200


def test_a_head_never_finished_is_dropped_after_the_header_timeout(strict_server: ServerProcess) -> None:
    sock = _connect(strict_server.url)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    assert _read_all(sock) == b""  # closed by the server, without an answer
    sock.close()


def test_a_slow_second_request_on_a_kept_alive_connection_is_dropped(strict_server: ServerProcess) -> None:
    sock = _connect(strict_server.url)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert _read_all(sock) == b""
    sock.close()


def test_connections_past_the_limit_get_a_json_503_with_retry_after(strict_server: ServerProcess) -> None:
    idle: list[socket.socket] = []
    try:
        for _ in range(7):  # each one asks once, then stays open
            sock = _connect(strict_server.url)
            idle.append(sock)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        response = requests.get(f"{strict_server.url}/health")  # the 8th connection: at the limit
        message = assert_error(response, 503, "server_busy")
        assert "--max-connections" in message
        assert response.headers["retry-after"] == "1"
        assert response.headers["connection"] == "close"
    finally:
        for sock in idle:
            sock.close()
    assert requests.get(f"{strict_server.url}/health").status_code == 200
