"""The embedded server: a background thread on 127.0.0.1 that Django starts when HOST is empty."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests

from phantomdb.server.embedded import EmbeddedServer, start_embedded


def test_it_serves_on_an_ephemeral_loopback_port_and_stops(tmp_path: Path) -> None:
    server = start_embedded(tmp_path)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert requests.get(server.url + "/health", timeout=10).json()["status"] == "ok"
        assert requests.post(server.url + "/databases", json={"name": "app"}, timeout=10).status_code == 201
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/health", timeout=2)
    assert (tmp_path / "app.sqlite3").is_file()


def test_it_starts_from_a_thread_that_is_not_the_main_thread(tmp_path: Path) -> None:
    started: list[EmbeddedServer] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            started.append(start_embedded(tmp_path))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(30)
    assert not errors, errors
    try:
        assert requests.get(started[0].url + "/health", timeout=10).status_code == 200
    finally:
        started[0].stop()


def test_two_servers_run_side_by_side_with_their_own_metrics(tmp_path: Path) -> None:
    first = start_embedded(tmp_path / "one")
    second = start_embedded(tmp_path / "two")
    try:
        assert first.url != second.url
        for _ in range(3):
            requests.get(first.url + "/health", timeout=10)
        first_metrics = requests.get(first.url + "/metrics", timeout=10).text
        second_metrics = requests.get(second.url + "/metrics", timeout=10).text
        health = 'phantomdb_http_requests_total{method="GET",route="/health",status="200"}'
        assert f"{health} 3.0" in first_metrics
        assert health not in second_metrics
    finally:
        first.stop()
        second.stop()


def test_it_can_be_started_again_after_a_stop(tmp_path: Path) -> None:
    with start_embedded(tmp_path) as server:
        requests.post(server.url + "/databases", json={"name": "app"}, timeout=10)
    with start_embedded(tmp_path) as server:
        assert requests.get(server.url + "/databases", timeout=10).json() == {"databases": [{"name": "app"}]}


def test_stop_rolls_back_open_transactions(tmp_path: Path) -> None:
    with start_embedded(tmp_path, transaction_timeout=30) as server:
        requests.post(server.url + "/databases", json={"name": "app"}, timeout=10)
        query = server.url + "/databases/app/query"
        requests.post(query, json={"query": "CREATE TABLE t (x INTEGER)"}, timeout=10)
        transaction = requests.post(
            server.url + "/transactions", json={"database": "app"}, timeout=10
        ).json()["id"]
        headers = {"PhantomDB-Transaction": transaction}
        requests.post(query, json={"query": "INSERT INTO t VALUES (1)"}, headers=headers, timeout=10)
    with start_embedded(tmp_path) as server:
        result = requests.post(
            server.url + "/databases/app/query", json={"query": "SELECT count(*) FROM t"}, timeout=10
        )
        assert result.json()["rows"] == [[0]]


def test_settings_and_credentials_apply(tmp_path: Path) -> None:
    with start_embedded(tmp_path, users={"u": "p"}, tokens=["t"], max_rows=2) as server:
        assert requests.get(server.url + "/databases", timeout=10).status_code == 401
        assert requests.get(server.url + "/databases", auth=("u", "p"), timeout=10).status_code == 200
        headers = {"Authorization": "Bearer t"}
        requests.post(server.url + "/databases", json={"name": "app"}, headers=headers, timeout=10)
        response = requests.post(
            server.url + "/databases/app/query",
            json={"query": "VALUES (1), (2), (3)"},
            headers=headers,
            timeout=10,
        )
        assert response.headers.get("transfer-encoding") == "chunked"
        assert response.json()["rows"] == [[1], [2], [3]]


def test_a_bad_setting_fails_before_any_thread_starts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="durability"):
        start_embedded(tmp_path, durability="sometimes")
