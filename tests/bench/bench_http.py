"""Read-heavy HTTP workload: the example project under gunicorn, on PhantomDB and on PostgreSQL.

Why: what a user of the product sees is requests per second of a Django site,
not the latency of one ORM call. The example project (examples/, its user list
page: two queries per request, a join and a count) runs under gunicorn with 2
sync workers, once per database, on the same machine in the same run; one
process of this script sends a bounded load (a few keep-alive client threads,
each waiting for its answer before the next request) for a fixed time, in
alternating rounds, and counts the 200 answers.

Databases: PhantomDB Lite in its own process with the query cache on (the
product's default) and with it off; PhantomDB Lite embedded in each worker
(the example's default, called in process) with the cache off; and
PostgreSQL 15 (psycopg 3) when Debian's ``postgresql`` is installed.

    python tests/bench/bench_http.py [--rounds 3] [--seconds 5] [--clients 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLES = ROOT / "examples"
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "tests")]

from conftest import free_port, start_server  # noqa: E402
from postgres import start_postgres  # noqa: E402

from phantomdb import PhantomDB  # noqa: E402

SETTINGS = '''\
from demo.settings import *  # noqa: F403

DEBUG = False
DATABASES = {{"default": {database!r}}}
'''


class Site:
    """The example project under gunicorn on one database."""

    def __init__(self, name: str, database: dict[str, object], workdir: Path):
        self.name = name
        settings_dir = workdir / name
        settings_dir.mkdir()
        (settings_dir / f"bench_settings_{name}.py").write_text(SETTINGS.format(database=database))
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": f"bench_settings_{name}",
            "DJANGO_DEBUG": "0",
            "PYTHONPATH": os.pathsep.join([str(settings_dir), str(EXAMPLES), str(ROOT)]),
        }
        for command in (["migrate", "--noinput"], ["load_sample_data"]):
            subprocess.run(
                [sys.executable, "manage.py", *command], cwd=EXAMPLES, env=self.env, check=True,
                capture_output=True,
            )
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "demo.wsgi:application"],
            cwd=EXAMPLES, env=self.env,
        )
        deadline = time.monotonic() + 60
        while self.get() != 200:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn on {name} did not start")
            time.sleep(0.2)

    def get(self) -> int:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request("GET", "/")
            return conn.getresponse().status
        except OSError:
            return 0

    def load(self, clients: int, seconds: float) -> float:
        """Requests per second answered 200 while ``clients`` threads ask for ``seconds``."""
        answered = [0] * clients
        deadline = time.monotonic() + seconds

        def client(index: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            while time.monotonic() < deadline:
                conn.request("GET", "/", headers={"Connection": "keep-alive"})
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    answered[index] += 1
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

        threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(answered) / (time.monotonic() - started)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    arguments = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="phantomdb-bench-http-"))
    server = start_server(workdir / "phantomdb", "--durability", "normal")
    postgres = start_postgres(workdir, free_port()) if arguments.postgres else None
    sites: list[Site] = []
    try:
        with PhantomDB(server.url) as client:
            for name in ("cached", "uncached"):
                client.create_database(name)
        databases: dict[str, dict[str, object]] = {
            "phantomdb, cache on": {"ENGINE": "phantomdb_django", "NAME": "cached", "HOST": server.url,
                                    "CONN_MAX_AGE": 600},
            "phantomdb, cache off": {"ENGINE": "phantomdb_django", "NAME": "uncached", "HOST": server.url,
                                     "CONN_MAX_AGE": 600, "OPTIONS": {"CACHE": {"ENABLED": False}}},
            # Each worker embeds PhantomDB Lite (the example's default) and calls it in process.
            "embedded, cache off": {"ENGINE": "phantomdb_django", "NAME": "embedded", "HOST": "",
                                    "CONN_MAX_AGE": 600, "OPTIONS": {
                                        "CACHE": {"ENABLED": False}, "durability": "normal",
                                        "data_dir": str(workdir / "embedded")}},
        }
        if postgres is not None:
            databases["postgresql"] = {**postgres.settings(), "CONN_MAX_AGE": 600}
        for index, database in enumerate(databases.values()):
            sites.append(Site(f"site{index}", database, workdir))
        rates: dict[str, list[float]] = {label: [] for label in databases}
        for _ in range(arguments.rounds):
            for label, site in zip(databases, sites):
                site.load(arguments.clients, 1.0)  # warm: connections, the cache, the code
                rates[label].append(site.load(arguments.clients, arguments.seconds))
    finally:
        for site in sites:
            site.stop()
        server.stop()
        if postgres is not None:
            postgres.stop()

    print(
        f"example project user list under gunicorn (2 sync workers), {arguments.clients} keep-alive clients, "
        f"{arguments.seconds:g} s x {arguments.rounds} rounds; requests/s (median, spread)"
    )
    reference = "postgresql" if "postgresql" in rates else None
    for label, values in rates.items():
        line = f"{label:22} {statistics.median(values):8.1f} ({min(values):.1f}-{max(values):.1f})"
        if reference is not None:
            ratios = [mine / theirs for mine, theirs in zip(values, rates[reference])]
            line += f"   x PostgreSQL {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        print(line)


if __name__ == "__main__":
    main()
