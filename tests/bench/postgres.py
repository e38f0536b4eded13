"""A throwaway PostgreSQL server for the benchmarks: Django on PostgreSQL is the peer to beat.

Found through ``pg_config``-less means: ``initdb`` and ``pg_ctl`` on PATH or
in Debian's ``/usr/lib/postgresql/<version>/bin``. As root, the cluster runs
as the ``postgres`` user (PostgreSQL refuses root). Durability stays
PostgreSQL's default (fsync on, synchronous_commit on).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    pg_ctl: str

    def settings(self, name: str = "bench") -> dict[str, object]:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "CONN_MAX_AGE": None,
        }

    def stop(self) -> None:
        _run_as_owner([self.pg_ctl, "-D", str(self.data_dir), "-m", "fast", "stop"])


def _run_as_owner(command: list[str]) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_postgres(workdir: Path, port: int) -> PostgresServer | None:
    """A new cluster on 127.0.0.1:``port`` with a ``bench`` database; None (and why) when it cannot run."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        print("PostgreSQL not found (Debian: apt-get install postgresql): no PostgreSQL column")
        return None
    try:
        import psycopg
    except ImportError:
        print("psycopg is not installed (pip install 'psycopg[binary]'): no PostgreSQL column")
        return None
    cluster = workdir / "postgres"
    cluster.mkdir()
    if os.geteuid() == 0:
        workdir.chmod(0o755)  # mkdtemp's 0700 would keep the postgres user out
        shutil.chown(cluster, "postgres")
    data = cluster / "data"
    _run_as_owner([initdb, "-D", str(data), "-A", "trust", "-U", "postgres"])
    options = f"-p {port} -k {cluster} -c listen_addresses=127.0.0.1"
    _run_as_owner([pg_ctl, "-D", str(data), "-o", options, "-l", str(cluster / "log"), "-w", "start"])
    server = PostgresServer(data, port, pg_ctl)
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(
                f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
            ) as db:
                db.execute("CREATE DATABASE bench")
            return server
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.2)
