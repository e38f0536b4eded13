"""ORM benchmark: phantomdb_django against Django's native sqlite3 backend.

Same models, same data, one process, interleaved rounds; prints the median
of each operation on each backend and the ratio phantomdb / sqlite3.

    python tests/bench/bench_orm.py [--rounds N] [--embedded]

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
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "tests")]

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from timing import median_us  # noqa: E402

ROWS = 2000
BULK_ROWS = 10_000
NOW = datetime.datetime(2026, 11, 28, 12, 0, 0)


# sqlite3 journal settings, and the PhantomDB Lite durability that matches them.
SQLITE_MODES = {
    "wal": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", "normal"),
    "default": ("", "full"),
}


def configure(workdir: Path, embedded: bool, sqlite_mode: str = "wal") -> object | None:
    server = None
    init_command, durability = SQLITE_MODES[sqlite_mode]
    phantomdb = {"ENGINE": "phantomdb_django", "NAME": "bench", "CONN_MAX_AGE": None}
    if embedded:
        phantomdb.update(HOST="", OPTIONS={"data_dir": str(workdir / "embedded"), "durability": durability})
    else:
        from conftest import start_server

        from phantomdb import PhantomDB

        server = start_server(workdir / "server", "--durability", durability)
        phantomdb["HOST"] = server.url
        with PhantomDB(server.url) as client:
            client.ensure_database("bench")
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(workdir / "bench.sqlite3"),
                "OPTIONS": {"init_command": init_command},
            },
            "phantomdb": phantomdb,
        },
        INSTALLED_APPS=["benchapp"],
        USE_TZ=False,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()
    return server



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--embedded", action="store_true", help="PhantomDB Lite in-process")
    parser.add_argument(
        "--sqlite", choices=sorted(SQLITE_MODES), default="wal",
        help="wal: WAL + synchronous=NORMAL on both sides; default: Django's default sqlite3 file "
        "(rollback journal, synchronous=FULL) against PhantomDB Lite --durability full",
    )
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="phantomdb-bench-"))
    server = configure(workdir, arguments.embedded, arguments.sqlite)
    try:
        run(arguments)
    finally:
        if server is not None:
            server.stop()


def run(arguments: argparse.Namespace) -> None:

    from benchapp.models import Person
    from django.db import connections
    from django.db.models import F

    aliases = ["default", "phantomdb"]
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
    for _ in range(arguments.rounds):
        for alias in aliases:
            for name, function in operations(alias).items():
                results.setdefault(name, {}).setdefault(alias, []).append(
                    median_us(function, arguments.repeat)
                )
            results.setdefault("bulk_create 10,000 rows", {}).setdefault(alias, []).append(
                median_us(lambda alias=alias: bulk(alias), 1)
            )

    mode = "embedded" if arguments.embedded else "separate process"
    print(
        f"phantomdb_django vs sqlite3 (file, {arguments.sqlite} journal), PhantomDB Lite {mode}; "
        f"median of {arguments.rounds} rounds"
    )
    print(f"{'operation':28} {'sqlite3 us':>12} {'phantomdb us':>13} {'ratio':>7}")
    for name, by_alias in results.items():
        native = statistics.median(by_alias["default"])
        ours = statistics.median(by_alias["phantomdb"])
        print(f"{name:28} {native:12.0f} {ours:13.0f} {ours / native:7.2f}")
    for alias in aliases:
        connections[alias].close()


if __name__ == "__main__":
    main()
