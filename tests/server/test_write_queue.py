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


def _lock_waits(url: str) -> tuple[float, float, float]:
    """phantomdb_lock_waits_total, and the count and sum of phantomdb_lock_wait_seconds."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("phantomdb_lock_wait"))
    names = (
        "phantomdb_lock_waits_total",
        "phantomdb_lock_wait_seconds_count",
        "phantomdb_lock_wait_seconds_sum",
    )
    return tuple(float(values[name]) for name in names)  # type: ignore[return-value]


def test_writes_that_waited_for_the_lock_are_counted_with_how_long(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    before = _lock_waits(api.url)
    holder = api.begin(db)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(_insert, api.url, db, value) for value in range(2)]
        time.sleep(0.3)
        api.post(f"/transactions/{holder}/commit")
        assert [future.result() for future in futures] == [201, 201]
    api.query(db, "INSERT INTO t (x) VALUES (9)")  # the lock was free: no wait
    waits, count, seconds = (after - first for after, first in zip(_lock_waits(api.url), before))
    assert (waits, count) == (2, 2)
    assert seconds >= 0.4  # two writers waited about 0.3 s each
