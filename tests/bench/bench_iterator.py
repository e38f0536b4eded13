"""Streaming benchmark: ``QuerySet.iterator()`` over many rows, phantomdb_django vs sqlite3.

Why: ``iterator()`` (exports, data migrations) must read a result far larger
than memory in flat memory, at about sqlite3's speed. The rows are written
once; then each measurement runs in a fresh process, so that its peak RSS is
the iteration's own: the time of one pass, and in another pass the
tracemalloc peak (Python allocations; tracemalloc slows the pass, so it is not
timed) and the peak RSS, beside the RSS of the process before the loop
(Django, the backend and a first query loaded). PhantomDB Lite runs as its
own process, so the client's memory is measured alone; the server streams
``--max-rows`` rows per chunk.

    python tests/bench/bench_iterator.py [--rows 1000000] [--chunk-size 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "tests")]

from timing import set_up_django  # noqa: E402

NOW = datetime.datetime(2026, 11, 28, 12, 0, 0)
FILL_BATCH = 20_000


def databases(workdir: Path, url: str) -> dict[str, object]:
    return {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(workdir / "bench.sqlite3")},
        "phantomdb": {
            "ENGINE": "phantomdb_django",
            "NAME": "bench",
            "HOST": url,
            "OPTIONS": {"CACHE": {"ENABLED": False}, "TELEMETRY": {"TRACING": False, "METRICS": False}},
        },
    }


def fill(rows: int) -> None:
    """The same ``rows`` people in both databases, written in batches (never all in memory)."""
    from benchapp.models import Person
    from django.db import connections

    for alias in ("default", "phantomdb"):
        with connections[alias].schema_editor() as editor:
            editor.create_model(Person)
        for start in range(0, rows, FILL_BATCH):
            Person.objects.using(alias).bulk_create(
                Person(name=f"person {i}", email=f"p{i}@example.com", age=i % 90, created_at=NOW)
                for i in range(start, min(rows, start + FILL_BATCH))
            )


def measure(alias: str, chunk_size: int, traced: bool) -> dict[str, float]:
    """One pass of ``iterator()`` over every row: its time, or its tracemalloc peak."""
    from benchapp.models import Person

    people = Person.objects.using(alias)
    people.filter(pk=1).exists()  # connected, and the code that runs for every query loaded
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    count = sum(1 for _ in people.iterator(chunk_size=chunk_size))
    elapsed = time.perf_counter() - started
    figures = {"rows": count, "seconds": elapsed}
    if traced:
        figures["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    figures["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["rss_before_mb"] = rss_before
    return figures


def child(arguments: argparse.Namespace) -> None:
    set_up_django(databases(Path(arguments.workdir), arguments.url))
    if arguments.fill:
        fill(arguments.rows)
        return
    print(json.dumps(measure(arguments.alias, arguments.chunk_size, arguments.traced)))


def run_child(workdir: Path, url: str, *options: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", "--workdir", str(workdir), "--url", url, *options]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1]) if output.strip() else {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fill", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--alias", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments)
        return

    from conftest import start_server

    from phantomdb import PhantomDB

    workdir = Path(tempfile.mkdtemp(prefix="phantomdb-bench-iterator-"))
    server = start_server(workdir / "server", "--durability", "normal")
    try:
        with PhantomDB(server.url) as client:
            client.ensure_database("bench")
        rows = str(arguments.rows)
        run_child(workdir, server.url, "--fill", "--rows", rows)
        seconds: dict[str, list[float]] = {"default": [], "phantomdb": []}
        for _ in range(arguments.rounds):
            for alias in seconds:
                figures = run_child(
                    workdir, server.url, "--alias", alias, "--chunk-size", str(arguments.chunk_size)
                )
                assert figures["rows"] == arguments.rows, figures
                seconds[alias].append(figures["seconds"])
        memory = {
            alias: run_child(
                workdir, server.url, "--alias", alias, "--chunk-size", str(arguments.chunk_size), "--traced"
            )
            for alias in seconds
        }
    finally:
        server.stop()

    print(
        f"iterator(chunk_size={arguments.chunk_size}) over {arguments.rows:,} rows, PhantomDB Lite in its "
        f"own process; time: median of {arguments.rounds} passes (spread), memory: one traced pass"
    )
    print(
        f"{'backend':10} {'seconds':>8} {'spread':>13} {'tracemalloc peak MB':>20} {'max RSS MB':>11}"
        f" {'RSS before the loop':>20}"
    )
    for alias, label in (("default", "sqlite3"), ("phantomdb", "phantomdb")):
        times = seconds[alias]
        print(
            f"{label:10} {statistics.median(times):8.2f} {min(times):6.2f}-{max(times):.2f} "
            f"{memory[alias]['tracemalloc_peak_mb']:20.1f} {memory[alias]['max_rss_mb']:11.1f}"
            f" {memory[alias]['rss_before_mb']:20.1f}"
        )
    ratios = [ours / theirs for ours, theirs in zip(seconds["phantomdb"], seconds["default"])]
    spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
    print(f"time ratio phantomdb / sqlite3: {statistics.median(ratios):.2f} ({spread})")


if __name__ == "__main__":
    main()
