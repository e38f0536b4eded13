"""Fixtures of the PhantomDB Lite tests: plain HTTP against real server processes.

The tests speak HTTP with ``requests`` (never the phantomdb client), so that
they pin down the REST API of docs/rest-api.md itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ServerProcess, start_server

TRANSACTION_HEADER = "PhantomDB-Transaction"
USERS_TABLE = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    " age INTEGER CHECK (age >= 0), email TEXT UNIQUE)"
)


class Api:
    """A thin ``requests.Session`` over one server URL, with helpers for the common calls."""

    def __init__(self, url: str, session: requests.Session | None = None):
        self.url = url
        self.session = session or requests.Session()

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if "data" in kwargs:  # a raw body is JSON (maybe malformed) unless the test says otherwise
            kwargs["headers"] = {"Content-Type": "application/json", **kwargs.get("headers", {})}
        return self.session.request(method, self.url + path, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def query(
        self, database: str, sql: str, params: list[Any] | None = None, transaction: str | None = None
    ) -> dict[str, Any]:
        """Run SQL through ``POST /query`` and return the result; the call must succeed."""
        body: dict[str, Any] = {"query": sql}
        if params is not None:
            body["params"] = params
        headers = {TRANSACTION_HEADER: transaction} if transaction else {}
        response = self.post(f"/databases/{database}/query", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def rows(self, database: str, sql: str, params: list[Any] | None = None) -> list[list[Any]]:
        return self.query(database, sql, params)["rows"]

    def begin(self, database: str) -> str:
        response = self.post("/transactions", json={"database": database})
        assert response.status_code == 201, response.text
        return response.json()["id"]


def assert_error(response: requests.Response, status: int, code: str) -> str:
    """Check that ``response`` is the API error ``code`` with ``status``; return its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    return error["message"]


def create_database(api: Api, name: str) -> Iterator[str]:
    response = api.post("/databases", json={"name": name})
    assert response.status_code == 201, response.text
    yield name
    with contextlib.suppress(requests.RequestException):
        api.delete(f"/databases/{name}")


@pytest.fixture
def api(server_url: str) -> Iterator[Api]:
    session = requests.Session()
    yield Api(server_url, session)
    session.close()


@pytest.fixture
def db(api: Api, database_name: str) -> Iterator[str]:
    """A database created for this test and dropped after it."""
    yield from create_database(api, database_name)


@pytest.fixture
def users(api: Api, db: str) -> str:
    """A ``users`` table in ``db`` (created through SQL); returns the database name."""
    api.query(db, USERS_TABLE)
    return db


def serving(directory: Path, *arguments: str) -> Iterator[ServerProcess]:
    """A server process with ``arguments`` for as long as the generator runs (a fixture's body)."""
    process = start_server(directory, *arguments)
    yield process
    process.stop()


def api_on(server: ServerProcess) -> Iterator[Api]:
    """An ``Api`` on ``server`` with its own session (a fixture's body)."""
    session = requests.Session()
    yield Api(server.url, session)
    session.close()


def server_fixtures(prefix: str, *arguments: str) -> tuple[Any, Any, Any]:
    """Three fixtures on a server of its own with ``arguments``: ``{prefix}_server`` (one per
    module), ``{prefix}_api`` and ``{prefix}_db`` (a fresh database per test), as ``server``,
    ``api`` and ``db`` are on the shared one."""

    @pytest.fixture(scope="module", name=f"{prefix}_server")
    def server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
        yield from serving(tmp_path_factory.mktemp(f"phantomdb-{prefix}"), *arguments)

    @pytest.fixture(name=f"{prefix}_api")
    def api_fixture(request: pytest.FixtureRequest) -> Iterator[Api]:
        yield from api_on(request.getfixturevalue(f"{prefix}_server"))

    @pytest.fixture(name=f"{prefix}_db")
    def db_fixture(request: pytest.FixtureRequest, database_name: str) -> Iterator[str]:
        yield from create_database(request.getfixturevalue(f"{prefix}_api"), database_name)

    return server_fixture, api_fixture, db_fixture


# Small limits: 5-row results, 4 KiB bodies, a 1 s busy timeout.
limited_server, limited_api, limited_db = server_fixtures(
    "limited", "--max-rows", "5", "--max-body-bytes", "4096", "--busy-timeout", "1"
)
