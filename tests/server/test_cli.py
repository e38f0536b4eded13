"""``phantomdb serve`` / ``python -m phantomdb.server``: flags, the ready line, clean stops."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from phantomdb.server.cli import build_parser, main, settings_from_args
from phantomdb.server.embedded import start_embedded
from tests.conftest import READY_PREFIX, ServerProcess, start_server


def test_the_ready_line_is_printed_once_with_the_real_port(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "phantomdb.server",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(READY_PREFIX + "http://127.0.0.1:")
    port = int(line.strip().rsplit(":", 1)[1])
    assert port > 0
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    process.terminate()
    rest, _ = process.communicate(timeout=10)
    assert rest == ""  # nothing else on stdout: logs go to stderr
    assert process.returncode == 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_cleanly_and_rolls_back(tmp_path: Path, stop: signal.Signals) -> None:
    server = start_server(tmp_path)
    requests.post(server.url + "/databases", json={"name": "app"}, timeout=10)
    query = server.url + "/databases/app/query"
    requests.post(query, json={"query": "CREATE TABLE t (x INTEGER)"}, timeout=10)
    transaction = requests.post(server.url + "/transactions", json={"database": "app"}, timeout=10).json()[
        "id"
    ]
    requests.post(
        query, json={"query": "INSERT INTO t VALUES (1)"}, headers={"PhantomDB-Transaction": transaction}
    )
    server.process.send_signal(stop)
    assert server.process.wait(timeout=10) == 0
    assert not (tmp_path / "app.sqlite3-wal").exists()  # every connection closed: WAL checkpointed away

    again = start_server(tmp_path)
    try:
        response = requests.post(
            again.url + "/databases/app/query", json={"query": "SELECT count(*) FROM t"}, timeout=10
        )
        assert response.json()["rows"] == [[0]]
    finally:
        again.stop()


def test_serve_is_the_default_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve"]).port == 8080
    with pytest.raises(SystemExit) as exited:
        main(["--max-rows", "0"])  # parsed as serve: refused by the serve flags
    assert exited.value.code == 2


def test_flags_map_onto_settings(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        [
            "serve", "--host", "0.0.0.0", "--port", "9999", "--data-dir", str(tmp_path),
            "--durability", "full", "--max-body-bytes", "1000", "--max-rows", "7",
            "--transaction-timeout", "2.5", "--busy-timeout", "0.5", "--log-level", "warning",
            "--user", "a:b:c", "--token", "t",
        ]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert (settings.host, settings.port, settings.data_dir) == ("0.0.0.0", 9999, tmp_path)
    assert (settings.durability, settings.max_body_bytes, settings.max_rows) == ("full", 1000, 7)
    assert (settings.transaction_timeout, settings.busy_timeout, settings.log_level) == (2.5, 0.5, "warning")
    assert settings.credentials.enabled
    assert "a" in settings.credentials.users
    assert settings.credentials.verify(b"Basic " + base64.b64encode(b"a:b:c"))


def test_limit_flags_map_onto_settings() -> None:
    args = build_parser().parse_args(
        [
            "serve", "--statement-timeout", "1.5", "--statement-threads", "2",
            "--max-response-bytes", "1000", "--header-timeout", "3", "--max-header-bytes", "2000",
            "--max-connections", "5", "--max-stream-bytes", "3000", "--allow-origin", "https://a.example",
            "--allow-origin", "https://b.example", "--allow-host", "DB.internal",
        ]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert (settings.statement_timeout, settings.statement_threads) == (1.5, 2)
    assert (settings.max_response_bytes, settings.max_header_bytes) == (1000, 2000)
    assert (settings.header_timeout, settings.max_connections, settings.max_stream_bytes) == (3.0, 5, 3000)
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.allowed_hosts == ("db.internal",)


def test_the_defaults_match_the_documentation() -> None:
    settings = settings_from_args(build_parser().parse_args(["serve"]))
    assert (settings.host, settings.port, str(settings.data_dir)) == ("127.0.0.1", 8080, "phantomdb-data")
    assert settings.durability == "normal"
    assert settings.max_body_bytes == 64 * 1024 * 1024
    assert (settings.max_rows, settings.transaction_timeout, settings.busy_timeout) == (10_000, 60.0, 5.0)
    assert (settings.statement_timeout, settings.statement_threads) == (30.0, 8)
    assert (settings.max_response_bytes, settings.max_header_bytes) == (64 * 1024 * 1024, 1024 * 1024)
    assert (settings.header_timeout, settings.max_connections) == (10.0, 1024)
    assert settings.max_stream_bytes == 1024**3
    assert settings.allowed_origins == settings.allowed_hosts == ()
    assert not settings.credentials.enabled


@pytest.mark.parametrize(
    "flags",
    [
        ["--durability", "sometimes"],
        ["--transaction-timeout", "0"],
        ["--busy-timeout", "-1"],
        ["--statement-timeout", "0"],
        ["--max-connections", "0"],
        ["--user", "nopassword"],
    ],
)
def test_bad_flags_exit_with_status_2(tmp_path: Path, flags: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "phantomdb.server", "--port", "0", "--data-dir", str(tmp_path), *flags],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr
    assert READY_PREFIX not in result.stdout


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    server = start_server(tmp_path / "one")
    try:
        port = server.url.rsplit(":", 1)[1]
        result = subprocess.run(
            [sys.executable, "-m", "phantomdb.server", "--port", port, "--data-dir", str(tmp_path / "two")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 1
        assert "cannot listen" in result.stderr
    finally:
        server.stop()


def _serve_in_a_second_process(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phantomdb.server", "--port", "0", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_second_server_on_the_same_data_directory_is_refused_at_start(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        result = _serve_in_a_second_process(tmp_path)
        assert result.returncode == 1
        assert f"data directory {tmp_path} is in use by another PhantomDB Lite server" in result.stderr
        assert "arrival order" in result.stderr
        assert requests.get(server.url + "/health", timeout=10).status_code == 200  # the first serves on
    finally:
        server.stop()
    start_server(tmp_path).stop()  # the lock went with the first server


def test_embedded_servers_share_a_data_directory_but_not_with_phantomdb_serve(tmp_path: Path) -> None:
    with start_embedded(tmp_path) as first, start_embedded(tmp_path) as second:  # gunicorn workers, say
        assert requests.get(first.url + "/health", timeout=10).status_code == 200
        assert requests.get(second.url + "/health", timeout=10).status_code == 200
        result = _serve_in_a_second_process(tmp_path)
        assert result.returncode == 1 and "is in use by another PhantomDB Lite server" in result.stderr
    server = start_server(tmp_path)
    try:
        with pytest.raises(RuntimeError, match=r"is in use by another server \(phantomdb serve\)"):
            start_embedded(tmp_path)
    finally:
        server.stop()


def test_durability_full_serves(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--durability", "full")
    try:
        requests.post(server.url + "/databases", json={"name": "app"}, timeout=10)
        result = requests.post(
            server.url + "/databases/app/query", json={"query": "PRAGMA synchronous"}, timeout=10
        )
        assert result.json()["rows"] == [[2]]  # FULL
    finally:
        server.stop()


@pytest.mark.skipif(shutil.which("phantomdb") is None, reason="phantomdb is not installed (pip install -e .)")
def test_the_console_script_serves(tmp_path: Path) -> None:
    process = subprocess.Popen(
        ["phantomdb", "serve", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    try:
        url = process.stdout.readline()[len(READY_PREFIX) :].strip()
        assert requests.get(url + "/health", timeout=10).status_code == 200
    finally:
        process.terminate()
        assert process.wait(10) == 0


# -- database commands ------------------------------------------------------------------------------


def phantomdb_command(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``phantomdb ARGUMENTS`` in a child process, with only ``env`` of the PHANTOMDB_* variables."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PHANTOMDB_")}
    return subprocess.run(
        [sys.executable, "-c", "import sys, phantomdb.server.cli as cli; sys.exit(cli.main())", *arguments],
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """PhantomDB Lite that accepts the user admin:secret and the token t0k3n."""
    server = start_server(tmp_path_factory.mktemp("cli-data"), "--user", "admin:secret", "--token", "t0k3n")
    try:
        yield server
    finally:
        server.stop()


def database_names(server: ServerProcess) -> list[str]:
    response = requests.get(server.url + "/databases", auth=("admin", "secret"), timeout=10)
    return [database["name"] for database in response.json()["databases"]]


def test_create_database_with_credentials_from_flags(guarded: ServerProcess) -> None:
    created = phantomdb_command(
        "create-database", "blog", "--url", guarded.url, "--user", "admin", "--password", "secret"
    )
    assert (created.returncode, created.stdout) == (0, f"Created database 'blog' on {guarded.url}\n")
    assert "blog" in database_names(guarded)


def test_list_databases_with_credentials_from_the_environment(guarded: ServerProcess) -> None:
    requests.post(guarded.url + "/databases", json={"name": "listed"}, auth=("admin", "secret"), timeout=10)
    environment = {"PHANTOMDB_URL": guarded.url, "PHANTOMDB_TOKEN": "t0k3n"}
    listed = phantomdb_command("list-databases", env=environment)
    assert listed.returncode == 0, listed.stderr
    assert "listed" in listed.stdout.splitlines()


def test_drop_database_needs_its_confirmation_flag(guarded: ServerProcess) -> None:
    requests.post(guarded.url + "/databases", json={"name": "kept"}, auth=("admin", "secret"), timeout=10)
    credentials = {"PHANTOMDB_URL": guarded.url, "PHANTOMDB_USER": "admin", "PHANTOMDB_PASSWORD": "secret"}
    refused = phantomdb_command("drop-database", "kept", env=credentials)
    assert refused.returncode == 2
    assert "add --yes to confirm" in refused.stderr
    assert "kept" in database_names(guarded)
    dropped = phantomdb_command("drop-database", "kept", "--yes", env=credentials)
    assert (dropped.returncode, dropped.stdout) == (0, f"Dropped database 'kept' on {guarded.url}\n")
    assert "kept" not in database_names(guarded)


def test_a_database_command_without_credentials_reports_the_server_error(guarded: ServerProcess) -> None:
    refused = phantomdb_command("create-database", "nope", "--url", guarded.url)
    assert (refused.returncode, refused.stderr) == (1, "phantomdb: Unauthorized access\n")


def test_an_existing_database_is_reported_and_kept(guarded: ServerProcess) -> None:
    arguments = ("create-database", "twice", "--url", guarded.url, "--token", "t0k3n")
    assert phantomdb_command(*arguments).returncode == 0
    again = phantomdb_command(*arguments)
    assert again.returncode == 1
    assert again.stderr.startswith("phantomdb: Database 'twice' already exists")
