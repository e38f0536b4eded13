"""Bounded work per request: value and response sizes, nesting, and results nobody reads."""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import ServerProcess
from tests.server.conftest import Api, assert_error, server_fixtures

IDLE_TIMEOUT = 1.0
STREAM_LIMIT = 200_000
# Rows without end, 1 KB each: only the server's limits stop them.
ENDLESS = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, hex(zeroblob(500)) FROM n"
)


small_server, small_api, small_db = server_fixtures(
    "small", "--max-response-bytes", "100000", "--max-rows", "50", "--transaction-timeout", str(IDLE_TIMEOUT)
)


def test_a_deeply_nested_typed_value_is_a_4xx(api: Api, db: str) -> None:
    nested = '{"$uuid": ' * 1000 + '"x"' + "}" * 1000
    response = api.post(f"/databases/{db}/query", data=f'{{"query": "SELECT ?", "params": [{nested}]}}')
    assert_error(response, 400, "data_error")
    rows = api.post(f"/databases/{db}/tables/t", data=f'{{"x": {nested}}}')
    assert 400 <= rows.status_code < 500


def peak_memory(server: ServerProcess) -> int:
    """The server process's peak resident memory, in bytes (Linux: VmHWM)."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)[1]) * 1024  # type: ignore[index]


def test_a_value_larger_than_the_limit_is_refused_before_it_is_built(
    small_server: ServerProcess, small_api: Api, small_db: str
) -> None:
    peak = peak_memory(small_server)
    for query in (
        "SELECT randomblob(200000000)",
        "SELECT REPEAT('x', 1000000000)",
        "SELECT LPAD('x', 1000000000, 'y')",
        "SELECT RPAD('x', 1000000000, 'y')",
    ):
        response = small_api.post(f"/databases/{small_db}/query", json={"query": query})
        assert "--max-response-bytes" in assert_error(response, 400, "data_error"), query
    # Built, any one of them would have taken the server past a gigabyte.
    assert peak_memory(small_server) - peak < 100_000_000


def test_a_response_larger_than_the_limit_is_refused(small_api: Api, small_db: str) -> None:
    response = small_api.post(
        f"/databases/{small_db}/query",
        json={"query": "SELECT randomblob(40000) UNION ALL SELECT randomblob(40000)"},
    )
    assert "--max-response-bytes" in assert_error(response, 400, "result_too_large")
    one = small_api.post(f"/databases/{small_db}/query", json={"query": "SELECT randomblob(40000)"})
    assert one.status_code == 200


def _stalled_query(url: str, db: str, transaction: str) -> socket.socket:
    """Ask for a long streamed result in a transaction, and never read the answer."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname, parts.port))
    query = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000)"
        " SELECT x, hex(randomblob(4000)) FROM c"
    )  # 32 MB of rows, 50 rows a chunk: far more than the socket buffers hold
    payload = json.dumps({"query": query}).encode()
    sock.sendall(
        f"POST /databases/{db}/query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"PhantomDB-Transaction: {transaction}\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    return sock


def test_a_result_nobody_reads_does_not_hold_the_transaction_past_its_idle_timeout(
    small_api: Api, small_server: ServerProcess, small_db: str
) -> None:
    small_api.query(small_db, "CREATE TABLE t (x INTEGER)")
    transaction = small_api.begin(small_db)
    small_api.query(small_db, "INSERT INTO t VALUES (1)", transaction=transaction)
    sock = _stalled_query(small_server.url, small_db, transaction)
    try:
        deadline = time.monotonic() + 20 * IDLE_TIMEOUT
        while True:  # the write lock is free once the server gave up on the reader
            response = small_api.post("/transactions", json={"database": small_db})
            if response.status_code == 201:
                break
            assert_error(response, 503, "database_locked")
            assert time.monotonic() < deadline, "the stalled reader kept the write lock"
        small_api.post(f"/transactions/{response.json()['id']}/rollback")
        message = assert_error(
            small_api.post(f"/transactions/{transaction}/commit"), 410, "transaction_expired"
        )
        assert "stopped reading" in message
        assert small_api.rows(small_db, "SELECT count(*) FROM t") == [[0]]  # rolled back
    finally:
        sock.close()


stream_server, stream_api, stream_db = server_fixtures(
    "stream", "--max-rows", "50", "--max-stream-bytes", str(STREAM_LIMIT)
)


def _post_raw(url: str, path: str, body: dict) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    return conn.getresponse()


def test_a_streamed_result_past_the_limit_ends_broken_with_an_error_line(
    stream_server: ServerProcess, stream_api: Api, stream_db: str
) -> None:
    response = _post_raw(stream_server.url, f"/databases/{stream_db}/query", {"query": ENDLESS})
    assert response.status == 200 and response.getheader("transfer-encoding") == "chunked"
    with pytest.raises(http.client.IncompleteRead) as cut:  # no last chunk: the connection closed
        response.read()
    body = cut.value.partial
    assert len(body) < STREAM_LIMIT + 1000
    head, _, last = body.rstrip(b"\n").rpartition(b"\n")
    assert head.startswith(b'{"columns":["i","hex(zeroblob(500))"],"rows":[\n[1,')
    error = json.loads(last)["error"]
    assert error["code"] == "result_too_large" and "--max-stream-bytes" in error["message"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert stream_api.get("/health").status_code == 200


def test_a_streamed_result_within_the_limit_is_whole(stream_api: Api, stream_db: str) -> None:
    result = stream_api.query(stream_db, ENDLESS + " LIMIT 150")  # 3 chunks, about 150 KB
    assert [row[0] for row in result["rows"]] == list(range(1, 151))
