"""``manage.py test --parallel 2``: each worker runs on a server-side clone of the migrated test database.

A tiny Django project is written to a temporary folder and its ``manage.py test`` runs in a
subprocess, against the session's PhantomDB Lite (``HOST`` set) or the embedded one (``HOST``
empty). Every test records which process ran it, on which database and server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backend.conftest import Phantom

ROOT = Path(__file__).resolve().parents[2]

SETTINGS = """
import os
SECRET_KEY = "parallel"
INSTALLED_APPS = ["shop"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
DATABASES = {"default": {
    "ENGINE": "phantomdb_django", "NAME": "shop", "HOST": os.environ["SHOP_HOST"],
    "OPTIONS": {"data_dir": os.environ["SHOP_DATA_DIR"], "durability": "off"},
}}
"""

MODELS = """
from django.db import models

class Item(models.Model):
    name = models.CharField(max_length=20)
"""

# Four classes: the parallel runner hands whole classes to its workers. Each test waits until
# both workers have recorded one, so that neither can run all four alone.
TESTS = """
import json, os, time
from django.db import connection
from django.test import TestCase, TransactionTestCase
from shop.models import Item

def record(test):
    line = {"test": test.id(), "pid": os.getpid(), "database": connection.settings_dict["NAME"],
            "url": connection.connection.client.url}
    with open(os.environ["SHOP_RECORD"], "a") as f:
        f.write(json.dumps(line) + "\\n")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(os.environ["SHOP_RECORD"]) as f:
            if len({json.loads(line)["pid"] for line in f}) >= 2:
                return
        time.sleep(0.05)
    raise AssertionError("the other worker never ran a test")
""" + "".join(
    f"""
class Shop{i}Tests({base}):
    def test_own_rows(self):
        Item.objects.create(name="{i}")
        self.assertEqual(list(Item.objects.values_list("name", flat=True)), ["{i}"])
        record(self)
"""
    for i, base in enumerate(["TestCase", "TestCase", "TransactionTestCase", "TransactionTestCase"])
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "models.py").write_text(MODELS)
    (tmp_path / "shop" / "tests.py").write_text(TESTS)
    (tmp_path / "settings.py").write_text(SETTINGS)
    return tmp_path


# ``manage.py test`` with multiprocessing's spawn start method (macOS's and Windows' default).
SPAWNED = (
    "import multiprocessing, sys; multiprocessing.set_start_method('spawn');"
    "from django.core.management import execute_from_command_line;"
    "execute_from_command_line(['manage.py', *sys.argv[1:]])"
)


def run_tests(
    project: Path, host: str, *arguments: str, start: list[str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    record = project / "record.jsonl"
    record.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings",
        "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)]),
        "SHOP_HOST": host,
        "SHOP_DATA_DIR": str(project / "data"),
        "SHOP_RECORD": str(record),
    }
    command = [
        sys.executable,
        *(start or ["-m", "django"]),
        "test",
        "shop",
        "--parallel",
        "2",
        "--noinput",
        "-v",
        "2",
        *arguments,
    ]
    completed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    lines = record.read_text().splitlines() if record.exists() else []
    return completed, [json.loads(line) for line in lines]


def database_names(phantom: Phantom) -> set[str]:
    with phantom.client() as client:
        return {database["name"] for database in client.list_databases()}


def test_two_workers_each_run_on_their_own_clone_of_a_remote_test_database(
    project: Path, phantom: Phantom
) -> None:
    completed, records = run_tests(project, phantom.url)
    assert "Cloning test database for alias 'default'" in completed.stderr
    assert "Ran 4 tests" in completed.stderr and "OK" in completed.stderr
    assert len(records) == 4
    assert {r["database"] for r in records} == {"test_shop_1", "test_shop_2"}
    assert len({r["pid"] for r in records}) == 2
    assert {r["url"] for r in records} == {phantom.url}
    assert not {"test_shop", "test_shop_1", "test_shop_2"} & database_names(phantom)


def test_workers_share_the_embedded_server_their_parent_started(project: Path) -> None:
    completed, records = run_tests(project, "")
    assert "Ran 4 tests" in completed.stderr and "OK" in completed.stderr
    assert {r["database"] for r in records} == {"test_shop_1", "test_shop_2"}
    assert len({r["pid"] for r in records}) == 2
    # One server, the parent's: both workers called the same URL.
    assert len({r["url"] for r in records}) == 1
    assert not list((project / "data").glob("test_shop*"))


def test_spawned_workers_each_start_an_embedded_server_on_the_same_data_directory(project: Path) -> None:
    # A spawned worker inherits no thread, so no server either: it starts its own, on the files
    # of the data directory, where its clone already is.
    completed, records = run_tests(project, "", start=["-c", SPAWNED])
    assert "Ran 4 tests" in completed.stderr and "OK" in completed.stderr
    assert {r["database"] for r in records} == {"test_shop_1", "test_shop_2"}
    assert len({r["url"] for r in records}) == 2
    assert not list((project / "data").glob("test_shop*"))


def test_keepdb_keeps_the_clones_and_the_next_run_uses_them(project: Path, phantom: Phantom) -> None:
    try:
        run_tests(project, phantom.url, "--keepdb")
        assert {"test_shop", "test_shop_1", "test_shop_2"} <= database_names(phantom)
        completed, records = run_tests(project, phantom.url, "--keepdb")
        assert "Using existing clone for alias 'default'" in completed.stderr
        assert {r["database"] for r in records} == {"test_shop_1", "test_shop_2"}
    finally:
        with phantom.client() as client:
            for name in {"test_shop", "test_shop_1", "test_shop_2"} & database_names(phantom):
                client.drop_database(name)


def test_an_old_clone_is_replaced_by_a_fresh_copy(project: Path, phantom: Phantom) -> None:
    with phantom.client() as client:
        client.create_database("test_shop_1")
        client.execute_query("test_shop_1", "CREATE TABLE leftover (x INTEGER)")
    completed, records = run_tests(project, phantom.url)
    assert "Destroying old test database for alias 'default'" in completed.stderr
    assert len(records) == 4
    assert not {"test_shop", "test_shop_1", "test_shop_2"} & database_names(phantom)


def test_clone_settings_name_the_worker_database_on_the_same_server(phantom: Phantom) -> None:
    from django.db import connection

    clone = connection.creation.get_test_db_clone_settings("3")
    assert clone["NAME"] == f"{connection.settings_dict['NAME']}_3"
    assert clone["HOST"] == phantom.url
    assert clone["ENGINE"] == "phantomdb_django"
