"""Browser attacks on a server without authentication: cross-site requests and DNS rebinding."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.conftest import ServerProcess
from tests.server.conftest import Api, assert_error, serving


def test_a_text_plain_body_from_a_foreign_origin_is_not_executed(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    response = api.post(
        f"/databases/{db}/query",
        data=b'{"query": "INSERT INTO t VALUES (1)"}',
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    assert "--allow-origin" in assert_error(response, 403, "forbidden")
    assert api.rows(db, "SELECT count(*) FROM t") == [[0]]


def test_a_body_that_is_not_declared_json_is_refused(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = api.post(
            f"/databases/{db}/query",
            data=b'{"query": "INSERT INTO t VALUES (1)"}',
            headers={"Content-Type": content_type},
        )
        assert_error(response, 415, "unsupported_media_type")
    assert api.rows(db, "SELECT count(*) FROM t") == [[0]]


def test_json_with_a_charset_is_json(api: Api, db: str) -> None:
    response = api.post(
        f"/databases/{db}/query",
        data=b'{"query": "SELECT 1"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


def test_a_cross_site_fetch_without_origin_is_refused(api: Api, db: str) -> None:
    response = api.get(f"/databases/{db}/tables", headers={"Sec-Fetch-Site": "cross-site"})
    assert_error(response, 403, "forbidden")
    assert api.get(f"/databases/{db}/tables", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "10.0.0.1", "[fe80::1]:80"])
def test_a_loopback_server_refuses_foreign_host_names(api: Api, host: str) -> None:
    assert_error(api.get("/databases", headers={"Host": host}), 403, "forbidden")


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "127.0.0.1", "[::1]:8080"])
def test_a_loopback_server_answers_loopback_host_names(api: Api, host: str) -> None:
    assert api.get("/databases", headers={"Host": host}).status_code == 200


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serving(
        tmp_path_factory.mktemp("phantomdb-browsers"),
        "--allow-origin", "https://app.example", "--allow-host", "db.internal",
    )  # fmt: skip


def test_configured_origins_and_hosts_are_served(open_server: ServerProcess) -> None:
    url = open_server.url
    assert requests.get(f"{url}/databases", headers={"Origin": "https://app.example"}).status_code == 200
    assert requests.get(f"{url}/databases", headers={"Origin": "https://other.example"}).status_code == 403
    assert requests.get(f"{url}/databases", headers={"Host": "db.internal:9000"}).status_code == 200
