"""Point-select round trip through the PhantomDB transport vs requests and urllib3.

Why: the transport's own cost per call is what the Django backend pays on every
statement (shared/PERF-NOTES.md). This measures one keep-alive point select
(``GET /databases/{db}/tables/{t}?condition="id" = ?&params=[n]``) against a
real PhantomDB Lite, with each client in turn, interleaved in rounds so that
machine noise hits all of them alike; it prints medians and ratios.

    python tests/bench/bench_transport.py [--calls 300] [--rounds 7] [--no-pin]

By default client and server are pinned to one vCPU, as in PERF-NOTES.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import requests  # noqa: E402
import urllib3  # noqa: E402

from phantomdb import PhantomDB  # noqa: E402
from phantomdb.transport import Transport  # noqa: E402

DATABASE, TABLE, ROWS = "bench", "items", 1000


def start(pin: bool) -> tuple[str, Callable[[], None]]:
    """A PhantomDB Lite process (the embedded server when there is one in-process is
    avoided on purpose: it would share the client's GIL); return its URL and a stop."""
    from tests.conftest import start_server

    data_dir = Path(tempfile.mkdtemp(prefix="phantomdb-bench-"))
    server = start_server(data_dir)
    if pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(server.process.pid, {0})
        os.sched_setaffinity(0, {0})
    return server.url, server.stop


def prepare(url: str) -> None:
    with PhantomDB(url) as client:
        if DATABASE not in {entry["name"] for entry in client.list_databases()}:
            client.create_database(DATABASE)
        client.create_table(
            DATABASE,
            TABLE,
            columns=[
                {"name": "id", "type": "INTEGER", "primary_key": True},
                {"name": "name", "type": "VARCHAR(50)"},
                {"name": "age", "type": "INTEGER"},
            ],
        )
        client.insert(DATABASE, TABLE, [{"id": i, "name": f"name {i}", "age": i % 90} for i in range(ROWS)])


def point_path(n: int) -> str:
    query = urlencode([("condition", '"id" = ?'), ("params", f"[{n}]")], quote_via=quote)
    return f"/databases/{DATABASE}/tables/{TABLE}?{query}"


def clients(url: str, paths: dict[int, str]) -> dict[str, Callable[[int], object]]:
    """Each client fetches row ``n``; the raw clients get the path prebuilt, while
    PhantomDB.select builds it and the Result itself (the whole client layer).
    A single bare http.client connection, no pool nor checks, is the floor."""
    transport = Transport(url)
    phantom = PhantomDB(url)
    session = requests.Session()
    pool = urllib3.HTTPConnectionPool(transport.host, transport.port, maxsize=4)
    bare = http.client.HTTPConnection(transport.host, transport.port)

    def via_bare_http_client(n: int) -> object:
        bare.request("GET", paths[n])
        return orjson.loads(bare.getresponse().read())

    return {
        "http.client (bare)": via_bare_http_client,
        "phantomdb.Transport": lambda n: transport.request("GET", paths[n]),
        "PhantomDB.select": lambda n: phantom.select(DATABASE, TABLE, condition='"id" = ?', params=[n]),
        "urllib3": lambda n: orjson.loads(pool.request("GET", paths[n]).data),
        "requests.Session": lambda n: session.get(url + paths[n]).json(),
    }


def measure(call: Callable[[int], object], ids: list[int]) -> list[float]:
    timings = []
    for n in ids:
        started = time.perf_counter_ns()
        call(n)
        timings.append((time.perf_counter_ns() - started) / 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per client per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-pin", action="store_true", help="leave client and server unpinned")
    args = parser.parse_args()

    url, stop = start(pin=not args.no_pin)
    try:
        prepare(url)
        ids = [n * 7919 % ROWS for n in range(args.calls)]
        callers = clients(url, {n: point_path(n) for n in ids})
        for name, call in callers.items():  # warm up connections and caches; check the answer
            result = call(ids[1])
            rows = result.rows if hasattr(result, "rows") else result["rows"]
            assert [tuple(row) for row in rows] == [(ids[1], f"name {ids[1]}", ids[1] % 90)], name
            measure(call, ids[:50])
        samples: dict[str, list[float]] = {name: [] for name in callers}
        names = list(callers)
        for round_number in range(args.rounds):
            order = names[round_number % len(names) :] + names[: round_number % len(names)]
            for name in order:
                samples[name].extend(measure(callers[name], ids))
    finally:
        stop()

    base = statistics.median(samples["phantomdb.Transport"])
    pinned = "pinned to one vCPU" if not args.no_pin else "unpinned"
    print(f"point select round trip, keep-alive, {args.rounds} x {args.calls} calls each, {pinned}")
    print(f"{'client':<22}{'median us':>10}{'p90 us':>10}{'x Transport':>13}")
    for name, timings in samples.items():
        median = statistics.median(timings)
        p90 = statistics.quantiles(timings, n=10)[-1]
        print(f"{name:<22}{median:>10.0f}{p90:>10.0f}{median / base:>13.2f}")


if __name__ == "__main__":
    main()
