"""PEP 249 benchmark: ``phantomdb.connect()`` against raw ``sqlite3`` on the same data.

A point select and a 20-row select, each through a DB-API cursor (execute +
fetchall): sqlite3 on a WAL file in this process, phantomdb over HTTP to a
PhantomDB Lite process holding the same rows. Rounds are interleaved so that
machine noise hits both; the figure that matters is the ratio.

    python tests/bench/bench_dbapi.py [--rounds 5] [--calls 500]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import start_server  # noqa: E402

import phantomdb  # noqa: E402

ROWS = 10_000
SCHEMA = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL, qty INTEGER)"
POINT = "SELECT id, name, price, qty FROM items WHERE id = ?"
TWENTY = "SELECT id, name, price, qty FROM items WHERE qty > ? ORDER BY id LIMIT 20"


def median_us(run: Callable[[int], object], calls: int) -> float:
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        run(i)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=500)
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="phantomdb-bench-"))
    rows = [(i, f"item {i}", i * 0.5, i % 100) for i in range(1, ROWS + 1)]

    native = sqlite3.connect(workdir / "native.sqlite3", isolation_level=None)
    native.execute("PRAGMA journal_mode=WAL")
    native.execute(SCHEMA)
    native.executemany("INSERT INTO items VALUES (?, ?, ?, ?)", rows)

    server = start_server(workdir / "server", "--durability", "normal")
    try:
        with phantomdb.PhantomDB(server.url) as client:
            client.create_database("bench")
        remote = phantomdb.connect(server.url, "bench", autocommit=True)
        remote_cursor = remote.cursor()
        remote_cursor.execute(SCHEMA)
        remote_cursor.executemany("INSERT INTO items VALUES (?, ?, ?, ?)", rows)
        native_cursor = native.cursor()

        def point(cursor: object) -> Callable[[int], object]:
            return lambda i: cursor.execute(POINT, (i % ROWS + 1,)).fetchall()

        def twenty(cursor: object) -> Callable[[int], object]:
            return lambda i: cursor.execute(TWENTY, (i % 80,)).fetchall()

        cases = {
            "point select": (point(native_cursor), point(remote_cursor)),
            "20-row select": (twenty(native_cursor), twenty(remote_cursor)),
        }
        results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in cases}
        for _ in range(arguments.rounds):
            for name, (on_sqlite, on_phantomdb) in cases.items():
                results[name][0].append(median_us(on_sqlite, arguments.calls))
                results[name][1].append(median_us(on_phantomdb, arguments.calls))
        remote.close()
    finally:
        server.stop()

    print(f"phantomdb.connect() vs sqlite3 (WAL file), median of {arguments.rounds} rounds")
    print(f"{'query':16} {'sqlite3 us':>11} {'phantomdb us':>13} {'ratio':>7}")
    for name, (native_us, remote_us) in results.items():
        a, b = statistics.median(native_us), statistics.median(remote_us)
        print(f"{name:16} {a:11.1f} {b:13.1f} {b / a:7.1f}")


if __name__ == "__main__":
    main()
