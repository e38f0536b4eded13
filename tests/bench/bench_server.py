"""Point-select latency of PhantomDB Lite over HTTP keep-alive vs sqlite3 in-process.

Why: every ORM statement of the Django backend is one HTTP call to this server,
so the server's cost per call on top of SQLite is the number to keep small
(shared/PERF-NOTES.md has the floors: 78 us for a minimal HTTP exchange, 134 us
with a SQLite point select). Measured, interleaved in rounds so that machine
noise hits every variant alike:

- ``sqlite3``: ``SELECT * FROM items WHERE id = ?`` + fetchall on a WAL file;
- ``GET rows``: ``GET /databases/bench/tables/items?condition="id" = ?&params=[n]``;
- ``POST query``: ``POST /databases/bench/query`` with the same SQL;
- ``GET health``: the HTTP floor of this server (no SQLite).

All HTTP calls go through one ``http.client`` keep-alive connection. The server
runs in its own process; by default client and server are pinned to one vCPU,
as in PERF-NOTES (unpinned adds cross-CPU wake-ups).

    python tests/bench/bench_server.py [--calls 500] [--rounds 7] [--no-pin]
"""

from __future__ import annotations

import argparse
import http.client
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from tests.conftest import start_server  # noqa: E402

DATABASE, TABLE, ROWS = "bench", "items", 1000
CREATE = f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, email TEXT, score REAL)"
SELECT = f"SELECT * FROM {TABLE} WHERE id = ?"


def row(n: int) -> list[object]:
    return [n, f"name {n}", n % 90, f"user{n}@example.com", n / 7]


class Http:
    """One keep-alive http.client connection."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port)

    def call(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else orjson.dumps(body)
        headers = {} if data is None else {"Content-Type": "application/json"}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return orjson.loads(payload) if payload else None


def timed(call: Callable[[int], object], calls: int) -> list[float]:
    samples = []
    for i in range(calls):
        key = 1 + (i * 37) % ROWS
        started = time.perf_counter()
        call(key)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per variant per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and server to one vCPU")
    args = parser.parse_args()

    server = start_server(Path(tempfile.mkdtemp(prefix="phantomdb-bench-")))
    pinned = not args.no_pin and hasattr(os, "sched_setaffinity")
    if pinned:
        os.sched_setaffinity(server.process.pid, {0})
        os.sched_setaffinity(0, {0})
    try:
        http = Http(server.url)
        http.call("POST", "/databases", {"name": DATABASE})
        http.call("POST", f"/databases/{DATABASE}/query", {"query": CREATE})
        insert = f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)"
        http.call(
            "POST",
            f"/databases/{DATABASE}/query",
            {"query": insert, "batch": [row(n) for n in range(1, ROWS + 1)]},
        )

        direct = sqlite3.connect(Path(tempfile.mkdtemp(prefix="phantomdb-bench-")) / "direct.sqlite3")
        direct.execute("PRAGMA journal_mode = WAL")
        direct.execute(CREATE)
        direct.executemany(insert, [row(n) for n in range(1, ROWS + 1)])
        direct.commit()

        condition = quote('"id" = ?')
        variants: dict[str, Callable[[int], object]] = {
            "sqlite3 direct": lambda key: direct.execute(SELECT, (key,)).fetchall(),
            "GET health (HTTP floor)": lambda key: http.call("GET", "/health"),
            "GET rows, point select": lambda key: http.call(
                "GET", f"/databases/{DATABASE}/tables/{TABLE}?condition={condition}&params=%5B{key}%5D"
            ),
            "POST query, point select": lambda key: http.call(
                "POST", f"/databases/{DATABASE}/query", {"query": SELECT, "params": [key]}
            ),
        }
        for call in variants.values():  # warm up statement caches and connections
            timed(call, 50)
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, call in variants.items():
                samples[name] += timed(call, args.calls)
    finally:
        server.stop()

    base = statistics.median(samples["sqlite3 direct"])
    print(f"{args.rounds} rounds x {args.calls} calls, {'pinned to one vCPU' if pinned else 'unpinned'}")
    print(f"{'variant':28} {'median us':>10} {'p90 us':>8} {'x sqlite3':>10}")
    for name, values in samples.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:28} {median * 1e6:10.1f} {p90 * 1e6:8.1f} {median / base:10.1f}")


if __name__ == "__main__":
    main()
