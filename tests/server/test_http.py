"""The HTTP surface of PhantomDB Lite: routing, error bodies, limits, keep-alive, health and metrics."""

from __future__ import annotations

import asyncio
import http.client
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

from phantomdb.server.app import PhantomDBLite
from phantomdb.server.config import Settings
from tests.server.conftest import Api, assert_error


def test_health_answers_ok_and_the_version(api: Api) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": "1.0.0"}
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("path", ["/nope", "/databases/x/y/z/w/v/u", "/databases/", "/"])
def test_an_unknown_path_is_route_not_found(api: Api, path: str) -> None:
    assert_error(api.get(path), 404, "route_not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/health", "GET"),
        ("PATCH", "/databases", "GET, POST"),
        ("GET", "/transactions", "POST"),
        ("DELETE", "/databases/x/query", "POST"),
    ],
)
def test_a_wrong_method_is_method_not_allowed_with_allow(
    api: Api, method: str, path: str, allowed: str
) -> None:
    response = api.call(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"name": "x",}', b"", b"\xff\xfe"])
def test_a_body_that_is_not_json_is_invalid_json(api: Api, body: bytes) -> None:
    response = api.post("/databases", data=body, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/databases", {"name": 5}),
        ("/databases", {}),
        ("/databases", ["x"]),
        ("/transactions", {"database": ["x"]}),
        ("/transactions/abc/savepoints", {"name": None}),
    ],
)
def test_a_field_of_the_wrong_type_is_invalid_request(api: Api, path: str, body: object) -> None:
    assert_error(api.post(path, json=body), 400, "invalid_request")


def test_a_body_over_the_limit_is_payload_too_large(limited_api: Api) -> None:
    response = limited_api.post("/databases", data=b'{"name": "' + b"x" * 5000 + b'"}')
    assert_error(response, 413, "payload_too_large")
    assert limited_api.get("/health").status_code == 200


def test_a_chunked_body_over_the_limit_is_payload_too_large(limited_api: Api) -> None:
    def chunks():  # no Content-Length: the limit applies while reading
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = limited_api.post("/databases", data=chunks())
    assert_error(response, 413, "payload_too_large")


def test_a_body_under_the_limit_passes(limited_api: Api, database_name: str) -> None:
    response = limited_api.post("/databases", data=b'{"name": "%s"}' % database_name.encode() + b" " * 3000)
    assert response.status_code == 201
    limited_api.delete(f"/databases/{database_name}")


def test_keep_alive_serves_many_calls_on_one_connection(server_url: str) -> None:
    parts = urlsplit(server_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.connect()
    local = conn.sock.getsockname()
    for _ in range(20):
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == b'{"status":"ok","version":"1.0.0"}'
    assert conn.sock.getsockname() == local  # never reconnected
    conn.close()


def test_the_server_stays_up_after_garbage(api: Api, server_url: str) -> None:
    parts = urlsplit(server_url)
    for garbage in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\nfoo\r\n\r\n", b"\x00\x01\x02" * 100):
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(4096):
                pass
    for body in (b"{", b"[1, 2", b'{"query": 1}'):
        assert api.post("/databases/nope/query", data=body).status_code == 400
    assert api.post("/databases", json={"name": "../../etc"}).status_code == 400
    assert api.get("/health").status_code == 200


def test_query_strings_that_are_not_utf8_are_invalid_request(api: Api, db: str) -> None:
    response = api.get(f"/databases/{db}/tables/t?condition=%ff%fe")
    assert_error(response, 400, "invalid_request")


def test_metrics_count_requests_by_route_template(api: Api, db: str) -> None:
    api.get(f"/databases/{db}")
    api.get("/nowhere/at/all")
    text = api.get("/metrics").text
    assert "# TYPE phantomdb_http_requests_total counter" in text
    assert "# TYPE phantomdb_http_request_duration_seconds histogram" in text
    assert "# TYPE phantomdb_open_transactions gauge" in text
    counted = re.search(
        r'phantomdb_http_requests_total\{method="GET",route="/databases/\{db\}",status="200"\} (\S+)', text
    )
    assert counted is not None and float(counted.group(1)) >= 1
    assert re.search(r'phantomdb_http_requests_total\{method="GET",route="unmatched",status="404"\}', text)
    assert 'phantomdb_http_request_duration_seconds_bucket{le="0.001",route="/databases/{db}"}' in text
    # Labels are templates: no database name, no raw path, stays low-cardinality.
    assert db not in text
    assert "/nowhere" not in text


def test_metrics_counters_grow_with_each_call(api: Api) -> None:
    def health_count() -> float:
        text = api.get("/metrics").text
        match = re.search(
            r'phantomdb_http_requests_total\{method="GET",route="/health",status="200"\} (\S+)', text
        )
        return float(match.group(1)) if match else 0.0

    before = health_count()
    for _ in range(3):
        api.get("/health")
    assert health_count() == before + 3


def test_the_metrics_content_type_is_prometheus_text(api: Api) -> None:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")


def test_a_client_that_disconnects_mid_body_does_not_hurt(server_url: str, api: Api) -> None:
    parts = urlsplit(server_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(b"POST /databases HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    assert api.get("/health").status_code == 200


def test_an_unexpected_exception_is_internal_error_and_the_app_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = PhantomDBLite(Settings(data_dir=tmp_path))
    route = next(route for route in app.router.routes if route.template == "/databases")

    async def broken(request: object) -> None:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setitem(route.handlers, "GET", broken)  # type: ignore[arg-type]

    async def call(path: str) -> tuple[int, dict]:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
        await app(scope, receive, send)
        return sent[0]["status"], orjson.loads(sent[1]["body"])

    async def scenario() -> None:
        await app.startup()
        try:
            status, body = await call("/databases")
            assert status == 500
            assert body["error"]["code"] == "internal_error"
            assert "a bug in a handler" not in body["error"]["message"]  # details stay in the log
            assert await call("/health") == (200, {"status": "ok", "version": "1.0.0"})
        finally:
            await app.shutdown()

    asyncio.run(scenario())
    assert "a bug in a handler" in caplog.text
    assert "Traceback" in caplog.text
