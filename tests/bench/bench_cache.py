"""Query cache benchmark: hits and misses against Django's native sqlite3 backend, one process.

    python tests/bench/bench_cache.py [--rounds N] [--repeat N]

Aliases, interleaved call by call (``timing.interleaved_us``): ``sqlite3`` (Django's backend, file in
WAL mode), ``uncached`` (phantomdb_django, cache off), ``process`` (cache on,
process coherence) and, when ``redis-server`` is installed, ``shared`` (cache
on, generations in a Redis this script starts). PhantomDB Lite runs as its
own process. A hit repeats one query; a miss gives every call new parameter
values. Then the cost of one invalidation as the cache holds 1k, 10k and 100k
entries. Prints medians and ratios, with the spread over rounds.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import shutil
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]

from django.conf import settings  # noqa: E402
from timing import interleaved_us, median_us, run_bench, set_up_django  # noqa: E402

ROWS = 2000
NOW = datetime.datetime(2026, 11, 28, 12, 0, 0)


def configure(workdir: Path) -> list[object]:
    from phantomdb import PhantomDB
    from tests.conftest import RedisProcess, free_port, start_server

    started: list[object] = []
    server = start_server(workdir / "server", "--durability", "normal")
    started.append(server)
    with PhantomDB(server.url) as client:
        client.ensure_database("bench")
    phantomdb = {"ENGINE": "phantomdb_django", "NAME": "bench", "HOST": server.url, "CONN_MAX_AGE": None}
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    databases = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(workdir / "bench.sqlite3"),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"},
        },
        "uncached": {**phantomdb, "OPTIONS": {"CACHE": {"ENABLED": False}}},
        "process": {**phantomdb, "OPTIONS": {"CACHE": {"COHERENCE": "process", "MAXSIZE": 200_000}}},
    }
    if shutil.which("redis-server"):
        redis = RedisProcess(free_port(), workdir)
        redis.start()
        started.append(redis)
        caches["redis"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis.url}
        databases["shared"] = {
            **phantomdb,
            "OPTIONS": {"CACHE": {"COHERENCE": "shared", "SHARED_CACHE": "redis"}},
        }
    else:
        print("redis-server not found: no shared-mode column")
    set_up_django(databases, CACHES=caches)
    return started


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def orm_operations(alias: str) -> dict[str, Callable[[], object]]:
    from benchapp.models import Person

    people = Person.objects.using(alias)
    fresh = itertools.count(1)
    return {
        "hit: get(pk=...)": lambda: people.get(pk=7),
        "hit: 20-row filtered list": lambda: list(people.filter(age__gt=30).order_by("id")[:20]),
        # New parameter values every call: never in the cache.
        "miss: get(pk=...)": lambda: people.get(pk=7, age__gt=-next(fresh)),
        "miss: 20-row filtered list": lambda: list(
            people.filter(age__gt=30, id__gt=-next(fresh)).order_by("id")[:20]
        ),
    }


def invalidation_cost(store: object, entries: int, repeat: int = 2000) -> float:
    """Median us of one table's invalidation with ``entries`` entries cached."""
    from phantomdb.calls import raw_call
    from phantomdb.client import Result

    store.clear()
    result = Result(columns=("n",), rows=((1,),))
    tokens = store.generations.current((("bench", None), ("bench", "t")))
    for n in range(entries):
        store.fill(("bench", raw_call(f"SELECT {n}"), ()), tokens, result, 60)
    assert store.stats()["entries"] == entries
    return median_us(lambda: store.invalidate("bench", ("benchapp_person",), "write"), repeat)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=300)
    run_bench("phantomdb-bench-cache-", parser.parse_args(), configure, run)


def run(arguments: argparse.Namespace) -> None:
    from benchapp.models import Person
    from django.db import connections

    aliases = list(settings.DATABASES)
    for alias in ("default", "uncached"):
        with connections[alias].schema_editor() as editor:
            editor.create_model(Person)
        Person.objects.using(alias).bulk_create(
            Person(name=f"person {i}", email=f"p{i}@example.com", age=i % 90, created_at=NOW)
            for i in range(ROWS)
        )
    operations = {alias: orm_operations(alias) for alias in aliases}
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(arguments.rounds):
        for name in operations[aliases[0]]:
            functions = {alias: operations[alias][name] for alias in aliases}
            for function in functions.values():
                function()  # a hit's first call fills the entry
            for alias, us in interleaved_us(functions, arguments.repeat).items():
                results.setdefault(name, {}).setdefault(alias, []).append(us)

    print(f"query cache vs sqlite3 (file, WAL), PhantomDB Lite in its own process; {arguments.rounds} rounds")
    header = f"{'operation':28} {'sqlite3 us':>10}"
    for alias in aliases[1:]:
        header += f" {alias + ' us':>11} {'ratio':>6} {'spread':>10}"
    print(header)
    for name, by_alias in results.items():
        native = by_alias["default"]
        line = f"{name:28} {statistics.median(native):10.0f}"
        for alias in aliases[1:]:
            ratios = [ours / base for ours, base in zip(by_alias[alias], native)]
            ours = statistics.median(by_alias[alias])
            line += f" {ours:11.0f} {statistics.median(ratios):6.2f} {spread(ratios):>10}"
        print(line)
    misses = {"get": results["miss: get(pk=...)"], "list": results["miss: 20-row filtered list"]}
    for alias in aliases[2:]:
        line = f"miss / cache off ({alias}), median of the rounds' ratios:"
        for name, by_alias in misses.items():
            ratios = [ours / off for ours, off in zip(by_alias[alias], by_alias["uncached"])]
            line += f" {name} {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})"
        print(line)

    store = connections["process"].query_cache
    costs = {size: invalidation_cost(store, size) for size in (1_000, 10_000, 100_000)}
    print(
        "invalidation of one table: "
        + ", ".join(f"{size:,} entries {us:.1f} us" for size, us in costs.items())
    )
    for alias in aliases:
        connections[alias].close()


if __name__ == "__main__":
    main()
