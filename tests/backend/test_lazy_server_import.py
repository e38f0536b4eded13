"""A project on a remote server never imports PhantomDB Lite (uvicorn, its schema code).

(prometheus-client is the backend's own telemetry now, loaded with metrics on.)

Each case runs a small Django program in a fresh interpreter, which connects,
runs one statement and prints which of those modules it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.backend.conftest import Phantom

ROOT = Path(__file__).resolve().parents[2]
SERVER_MODULES = ("phantomdb.server", "uvicorn")

PROGRAM = textwrap.dedent(
    """
    import json, sys
    import django
    from django.conf import settings

    settings.configure(DATABASES={"default": {
        "ENGINE": "phantomdb_django", "NAME": sys.argv[2], "HOST": sys.argv[1],
        "OPTIONS": {"data_dir": sys.argv[3], "durability": "off"},
    }})
    django.setup()
    import phantomdb_django.base
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    loaded = [package for package in sys.argv[4:]
              if any(name == package or name.startswith(package + ".") for name in sys.modules)]
    print(json.dumps(loaded))
    """
)


def server_modules_loaded(host: str, database: str, data_dir: Path) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM, host, database, str(data_dir), *SERVER_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout)


def test_a_remote_host_loads_none_of_the_server(phantom: Phantom, tmp_path: Path) -> None:
    assert server_modules_loaded(phantom.url, phantom.database, tmp_path) == []


def test_an_empty_host_loads_the_embedded_server(tmp_path: Path) -> None:
    assert server_modules_loaded("", "lazy_import", tmp_path) == list(SERVER_MODULES)
