"""ORM benchmark: phantomdb_django against Django's native sqlite3 backend.

Same models, same data, one process; each operation's calls interleaved
across the backends (``timing.interleaved_us``), in rounds; prints the median
of each operation on each backend and the ratio phantomdb / sqlite3.

    python tests/bench/bench_orm.py [--rounds N] [--embedded] [--cache] [--telemetry] [--no-postgres]

sqlite3 runs on a file database in WAL mode with synchronous=NORMAL; PhantomDB
Lite runs as its own process (or in-process with --embedded) with the same
durability.
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "tests")]

from django.conf import settings  # noqa: E402
from timing import interleaved_us, median_us, run_bench, set_up_django  # noqa: E402

ROWS = 2000
BULK_ROWS = 10_000
NOW = datetime.datetime(2026, 11, 28, 12, 0, 0)


# sqlite3 journal settings, and the PhantomDB Lite durability that matches them.
SQLITE_MODES = {
    "wal": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", "normal"),
    "default": ("", "full"),
}


def configure(workdir: Path, arguments: argparse.Namespace) -> list[object]:
    """Settings for sqlite3, phantomdb and, when it can run, PostgreSQL; the servers started."""
    started: list[object] = []
    init_command, durability = SQLITE_MODES[arguments.sqlite]
    options: dict[str, object] = {}
    if not arguments.cache:
        options["CACHE"] = {"ENABLED": False}
    if not arguments.telemetry:
        options["TELEMETRY"] = {"TRACING": False, "METRICS": False}
    phantomdb = {"ENGINE": "phantomdb_django", "NAME": "bench", "CONN_MAX_AGE": None, "OPTIONS": options}
    if arguments.embedded:
        options.update(data_dir=str(workdir / "embedded"), durability=durability)
        phantomdb["HOST"] = ""
    else:
        from conftest import start_server

        from phantomdb import PhantomDB

        server = start_server(workdir / "server", "--durability", durability)
        started.append(server)
        phantomdb["HOST"] = server.url
        with PhantomDB(server.url) as client:
            client.ensure_database("bench")
    databases = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(workdir / "bench.sqlite3"),
            "OPTIONS": {"init_command": init_command},
        },
        "phantomdb": phantomdb,
    }
    if arguments.postgres:
        from conftest import free_port
        from postgres import start_postgres

        postgres = start_postgres(workdir, free_port())
        if postgres is not None:
            started.append(postgres)
            databases["postgresql"] = postgres.settings()
    set_up_django(databases)
    return started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--embedded", action="store_true", help="PhantomDB Lite in-process")
    parser.add_argument(
        "--sqlite",
        choices=sorted(SQLITE_MODES),
        default="wal",
        help="wal: WAL + synchronous=NORMAL on both sides; default: Django's default sqlite3 file "
        "(rollback journal, synchronous=FULL) against PhantomDB Lite --durability full",
    )
    parser.add_argument(
        "--cache", action="store_true", help="phantomdb's query cache on (bench_cache.py measures it)"
    )
    parser.add_argument(
        "--telemetry", action="store_true", help="telemetry on, no SDK (bench_telemetry.py measures it)"
    )
    parser.add_argument("--no-postgres", dest="postgres", action="store_false", help="no PostgreSQL column")
    arguments = parser.parse_args()
    run_bench("phantomdb-bench-", arguments, lambda workdir: configure(workdir, arguments), run)


def run(arguments: argparse.Namespace) -> None:

    from benchapp.models import Person
    from django.db import connections
    from django.db.models import F

    aliases = list(settings.DATABASES)
    for alias in aliases:
        with connections[alias].schema_editor() as editor:
            editor.create_model(Person)
        Person.objects.using(alias).bulk_create(
            Person(name=f"person {i}", email=f"p{i}@example.com", age=i % 90, created_at=NOW)
            for i in range(ROWS)
        )
    rng = random.Random(7)

    def operations(alias: str) -> dict[str, Callable[[], object]]:
        people = Person.objects.using(alias)
        return {
            "get(pk=...)": lambda: people.get(pk=rng.randint(1, ROWS)),
            "20-row filtered list": lambda: list(
                people.filter(age__gt=rng.randint(0, 60)).order_by("id")[:20]
            ),
            "create()": lambda: people.create(name="new", email="new@example.com", age=1, created_at=NOW),
            "update(F()+1)": lambda: people.filter(pk=rng.randint(1, ROWS)).update(age=F("age") + 1),
        }

    def bulk(alias: str) -> None:
        Person.objects.using(alias).bulk_create(
            Person(name=f"bulk {i}", email=f"b{i}@example.com", age=i % 90, created_at=NOW)
            for i in range(BULK_ROWS)
        )

    results: dict[str, dict[str, list[float]]] = {}
    by_alias = {alias: operations(alias) for alias in aliases}
    for _ in range(arguments.rounds):
        for name in by_alias[aliases[0]]:
            functions = {alias: by_alias[alias][name] for alias in aliases}
            for alias, us in interleaved_us(functions, arguments.repeat).items():
                results.setdefault(name, {}).setdefault(alias, []).append(us)
        for alias in aliases:
            results.setdefault("bulk_create 10,000 rows", {}).setdefault(alias, []).append(
                median_us(lambda alias=alias: bulk(alias), 1)
            )

    mode = "embedded" if arguments.embedded else "separate process"
    print(
        f"phantomdb_django vs sqlite3 (file, {arguments.sqlite} journal) and PostgreSQL (when it runs), "
        f"PhantomDB Lite {mode}, cache {'on' if arguments.cache else 'off'}; "
        f"median of {arguments.rounds} rounds (ratios: median of the per-round ratios, spread min-max)"
    )
    peers = [alias for alias in ("default", "postgresql") if alias in aliases]
    header = f"{'operation':28} {'phantomdb us':>12}"
    for peer in peers:
        header += f" {peer.replace('default', 'sqlite3') + ' us':>14} {'ratio':>6} {'spread':>11}"
    print(header)
    for name, by_alias in results.items():
        ours = by_alias["phantomdb"]
        line = f"{name:28} {statistics.median(ours):12.0f}"
        for peer in peers:
            ratios = [mine / theirs for mine, theirs in zip(ours, by_alias[peer])]
            line += (
                f" {statistics.median(by_alias[peer]):14.0f} {statistics.median(ratios):6.2f}"
                f" {min(ratios):5.2f}-{max(ratios):.2f}"
            )
        print(line)
    for alias in aliases:
        connections[alias].close()


if __name__ == "__main__":
    main()
