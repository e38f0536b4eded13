"""The embedded default: with ``HOST`` empty, PhantomDB Lite starts inside the Django process.

Each test runs a small Django program in a subprocess, so that its settings
(``HOST: ""``) never mix with the session's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = textwrap.dedent(
    """
    import json, sys
    import django
    from django.conf import settings

    settings.configure(
        USE_TZ=True,
        DATABASES={"default": {
            "ENGINE": "phantomdb_django", "NAME": "embedded_app", "HOST": "",
            "OPTIONS": {"data_dir": sys.argv[1], "durability": "off"},
        }},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "tests.backend.testapp"],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from phantomdb import PhantomDB
    from django.contrib.auth.models import User as AuthUser
    from tests.backend.testapp.models import User

    call_command("migrate", run_syncdb=True, verbosity=0)
    User.objects.create(first_name="Em", last_name="Bedded", email=sys.argv[2] + "@example.com", age=7)
    AuthUser.objects.create_user("admin-" + sys.argv[2], password="pw")
    with PhantomDB(connection.connection.client.url) as over_http:  # what dbshell and workers use
        tables_over_http = sorted(table["name"] for table in over_http.list_tables("embedded_app"))
    print(json.dumps({
        "url": connection.connection.client.url,
        "transport": type(connection.connection.client.transport).__name__,
        "tables_over_http": "users" in tables_over_http,
        "emails": sorted(User.objects.values_list("email", flat=True)),
        "adults": User.objects.filter(age__gt=18).count(),
        "auth_users": AuthUser.objects.count(),
    }))
    """
)


def run_program(data_dir: Path, run: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(data_dir), run],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_an_empty_host_starts_phantomdb_lite_in_process_and_migrate_create_and_query_work(
    tmp_path: Path,
) -> None:
    result = run_program(tmp_path, "first")
    assert result["url"].startswith("http://127.0.0.1:")
    assert result == {**result, "emails": ["first@example.com"], "adults": 0, "auth_users": 1}
    # The backend's calls go in process; the URL serves everyone else, over HTTP.
    assert result["transport"] == "InProcessTransport" and result["tables_over_http"] is True
    assert (tmp_path / "embedded_app.sqlite3").exists()

    again = run_program(tmp_path, "second")  # a new process on the same data directory
    assert again["emails"] == ["first@example.com", "second@example.com"]
    assert again["auth_users"] == 2
