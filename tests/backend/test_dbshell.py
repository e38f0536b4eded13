"""dbshell: the PhantomDB SQL shell, run for real against PhantomDB Lite; secrets travel in
the environment, never on the command line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection

from phantomdb_django.client import DatabaseClient
from tests.backend.conftest import ADMIN, GUARDED_DATABASE, SECRET, TOKEN, Phantom, database_settings
from tests.conftest import ServerProcess


def run_shell(args: list[str], *, stdin: str = "", env: dict[str, str] | None = None) -> list[str]:
    """The shell's output lines, without the padding of table cells."""
    completed = subprocess.run(
        args,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )
    assert completed.returncode == 0, completed.stderr
    return [line.rstrip() for line in completed.stdout.splitlines()]


def test_the_password_goes_to_the_environment_not_the_command_line() -> None:
    settings_dict = database_settings(
        HOST="http://db.example.com:8080", NAME="myapp", USER=ADMIN, PASSWORD=SECRET
    )
    args, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    assert SECRET not in " ".join(args)
    assert args[-4:] == ["http://db.example.com:8080", "myapp", "--user", ADMIN]
    assert env == {"PHANTOMDB_PASSWORD": SECRET}


def test_the_token_goes_to_the_environment_not_the_command_line() -> None:
    settings_dict = database_settings(
        HOST="http://db.example.com:8080", NAME="myapp", OPTIONS={"token": TOKEN}
    )
    args, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, ["-c", "SELECT 1"])
    assert TOKEN not in " ".join(args)
    assert args[-2:] == ["-c", "SELECT 1"]
    assert env == {"PHANTOMDB_TOKEN": TOKEN}


def test_without_credentials_no_environment_is_added() -> None:
    settings_dict = database_settings(HOST="http://db.example.com:8080", NAME="myapp")
    _, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    assert not env


def test_a_command_runs_one_statement_and_prints_a_table(phantom: Phantom) -> None:
    output = run_shell(
        [sys.executable, "-m", "phantomdb.shell", phantom.url, phantom.database, "-c", "SELECT 1 AS one"]
    )
    assert output == ["one", "---", "1", "(1 row)"]


@pytest.fixture
def scratch_database(phantom: Phantom):
    with phantom.client() as client:
        client.create_database("shell_scratch")
        yield "shell_scratch"
        client.drop_database("shell_scratch")


def test_a_piped_session_runs_every_statement_and_meta_command(
    phantom: Phantom, scratch_database: str
) -> None:
    session = (
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n"
        "INSERT INTO notes (body) VALUES ('école'), ('ZOË');\n"
        "SELECT id, body\n  FROM notes\n  ORDER BY id;\n"
        "\\dt\n"
        "SELECT * FROM missing;\n"
        "\\q\n"
        "SELECT 'after quit';\n"
    )
    output = run_shell(
        [sys.executable, "-m", "phantomdb.shell", phantom.url, scratch_database], stdin=session
    )
    assert output == [
        "OK, 0 row(s) affected",
        "OK, 2 row(s) affected",
        "id | body",
        "---+------",
        "1  | école",
        "2  | ZOË",
        "(2 rows)",
        "table | type",
        "------+------",
        "notes | table",
        "(1 row)",
        "ProgrammingError: Table 'missing' does not exist",
    ]


def test_the_command_line_built_from_settings_authenticates_through_the_environment(
    guarded_server: ServerProcess,
) -> None:
    settings_dict = database_settings(
        HOST=guarded_server.url, NAME=GUARDED_DATABASE, USER=ADMIN, PASSWORD=SECRET
    )
    args, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, ["-c", "SELECT 2 AS two"])
    assert run_shell(args, env=env) == ["two", "---", "2", "(1 row)"]


def test_the_shell_reports_unauthorized_access_without_credentials(guarded_server: ServerProcess) -> None:
    output = run_shell(
        [sys.executable, "-m", "phantomdb.shell", guarded_server.url, GUARDED_DATABASE, "-c", "SELECT 1"],
        env={"PHANTOMDB_PASSWORD": "", "PHANTOMDB_TOKEN": ""},
    )
    assert output == ["OperationalError: Unauthorized access"]


def test_manage_py_dbshell_runs_the_shell(phantom: Phantom, capfd: pytest.CaptureFixture[str]) -> None:
    assert connection.settings_dict["HOST"] == phantom.url
    call_command("dbshell", "--", "-c", "SELECT 'via dbshell' AS source")
    lines = [line.rstrip() for line in capfd.readouterr().out.splitlines()]
    assert lines == ["source", "-----------", "via dbshell", "(1 row)"]
