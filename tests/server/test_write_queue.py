"""Writers waiting for a database's write lock get it in the order they asked."""

from __future__ import annotations

import concurrent.futures
import time

import requests

from tests.server.conftest import Api


def _insert(url: str, db: str, value: int) -> int:
    response = requests.post(f"{url}/databases/{db}/tables/t", json={"x": value}, timeout=30)
    return response.status_code


def test_waiting_writers_are_served_in_arrival_order(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    holder = api.begin(db)
    writers = 12
    with concurrent.futures.ThreadPoolExecutor(writers) as pool:
        futures = []
        for value in range(writers):
            futures.append(pool.submit(_insert, api.url, db, value))
            time.sleep(0.05)  # each writer is queued before the next one arrives
        time.sleep(0.2)
        api.post(f"/transactions/{holder}/commit")
        assert [future.result() for future in futures] == [201] * writers
    assert api.rows(db, "SELECT x FROM t ORDER BY rowid") == [[value] for value in range(writers)]


def test_many_waiting_writers_all_get_the_lock(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    holder = api.begin(db)
    writers = 200
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        futures = [pool.submit(_insert, api.url, db, value) for value in range(writers)]
        time.sleep(0.5)
        api.post(f"/transactions/{holder}/commit")
        statuses = [future.result() for future in futures]
    assert statuses.count(201) == writers, statuses
    assert api.rows(db, "SELECT count(DISTINCT x) FROM t") == [[writers]]
