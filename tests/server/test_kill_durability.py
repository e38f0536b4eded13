"""kill -9 in the middle of writes, with ``--durability full``: every acknowledged write is there
after a restart, and none is there twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

from tests.conftest import start_server

WRITERS = 4


def _write_until_killed(url: str, writer: int, acknowledged: list[str]) -> None:
    """Insert rows one by one (every other one in a transaction of two) until the server dies."""
    session = requests.Session()
    number = 0
    try:
        while True:
            key = f"w{writer}-{number}"
            if number % 2:
                response = session.post(f"{url}/databases/durable/tables/t", json={"key": key}, timeout=10)
                if response.status_code == 201:
                    acknowledged.append(key)
            else:
                begin = session.post(f"{url}/transactions", json={"database": "durable"}, timeout=10)
                if begin.status_code == 201:
                    header = {"PhantomDB-Transaction": begin.json()["id"]}
                    rows = [{"key": key}, {"key": key + "b"}]
                    session.post(f"{url}/databases/durable/tables/t", json=rows, headers=header, timeout=10)
                    commit = session.post(f"{url}/transactions/{begin.json()['id']}/commit", timeout=10)
                    if commit.status_code == 204:
                        acknowledged.extend([key, key + "b"])
            number += 1
    except requests.RequestException:
        return  # the server is gone


def test_acknowledged_writes_survive_kill_9_exactly_once(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--durability", "full")
    try:
        assert requests.post(f"{server.url}/databases", json={"name": "durable"}).status_code == 201
        requests.post(
            f"{server.url}/databases/durable/query",
            json={"query": "CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT NOT NULL)"},
        ).raise_for_status()
        acknowledged: list[list[str]] = [[] for _ in range(WRITERS)]
        writers = [
            threading.Thread(target=_write_until_killed, args=(server.url, number, acknowledged[number]))
            for number in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        time.sleep(2.0)
        server.process.kill()  # SIGKILL: no shutdown, no rollback, no checkpoint
        server.process.wait()
        for writer in writers:
            writer.join()
    finally:
        server.stop()

    restarted = start_server(tmp_path, "--durability", "full")
    try:
        query = {"query": "SELECT key FROM t"}
        response = requests.post(f"{restarted.url}/databases/durable/query", json=query)
        stored = [row[0] for row in response.json()["rows"]]
    finally:
        restarted.stop()
    expected = {key for keys in acknowledged for key in keys}
    print(f"\nkill -9: {len(expected)} acknowledged writes, {len(stored)} rows after restart")
    assert len(expected) > 20  # the writers were busy when the server died
    assert expected <= set(stored), f"lost: {sorted(expected - set(stored))[:10]}"
    assert len(stored) == len(set(stored)), "a write is stored twice"
    # Nothing unacknowledged but the writes in flight (at most one per writer, two in a transaction).
    assert len(set(stored) - expected) <= 2 * WRITERS
