"""Authentication: HTTP Basic and Bearer from flags, environment and an auth file; secrets never logged."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import READY_PREFIX, ServerProcess, start_server
from tests.server.conftest import assert_error

FLAG_USER, FLAG_PASSWORD = "admin", "pa:ss:word"  # colons after the first belong to the password
FLAG_TOKEN = "flag-token-0123456789"
ENV_USER, ENV_PASSWORD = "envuser", "envpass"
ENV_TOKEN = "env-token-abcdef"
FILE_USER, FILE_PASSWORD = "fileuser", "filepass"
FILE_TOKEN = "file-token-xyz"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("phantomdb-auth")
    auth_file = directory / "auth.json"
    auth_file.write_text(json.dumps({"users": {FILE_USER: FILE_PASSWORD}, "tokens": [FILE_TOKEN]}))
    process = start_server(
        directory / "data",
        "--user", f"{FLAG_USER}:{FLAG_PASSWORD}", "--token", FLAG_TOKEN, "--auth-file", str(auth_file),
        env={"PHANTOMDB_USERS": f"{ENV_USER}:{ENV_PASSWORD}", "PHANTOMDB_TOKENS": ENV_TOKEN},
    )  # fmt: skip
    yield process
    process.stop()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get(server: ServerProcess, path: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(server.url + path, headers=headers or {}, timeout=30)


def assert_unauthorized(response: requests.Response) -> None:
    assert assert_error(response, 401, "unauthorized") == "Unauthorized access"
    challenges = response.headers["www-authenticate"]
    assert "Basic" in challenges and "Bearer" in challenges


def test_a_call_without_credentials_is_unauthorized(auth_server: ServerProcess) -> None:
    assert_unauthorized(get(auth_server, "/databases"))


@pytest.mark.parametrize(
    "headers",
    [
        basic(FLAG_USER, "wrong"),
        basic(FLAG_USER, FLAG_PASSWORD.split(":")[0]),
        basic("nobody", FLAG_PASSWORD),
        bearer("wrong-token"),
        bearer(""),
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Digest username=admin"},
        {"Authorization": FLAG_TOKEN},
    ],
)
def test_wrong_credentials_are_unauthorized(auth_server: ServerProcess, headers: dict[str, str]) -> None:
    assert_unauthorized(get(auth_server, "/databases", headers))


@pytest.mark.parametrize(
    "headers",
    [
        basic(FLAG_USER, FLAG_PASSWORD),
        bearer(FLAG_TOKEN),
        basic(ENV_USER, ENV_PASSWORD),
        bearer(ENV_TOKEN),
        basic(FILE_USER, FILE_PASSWORD),
        bearer(FILE_TOKEN),
        {"Authorization": f"bearer {FLAG_TOKEN}"},
    ],
)
def test_every_credential_source_is_accepted(auth_server: ServerProcess, headers: dict[str, str]) -> None:
    for _ in range(2):  # the second call is answered from the remembered digest
        response = get(auth_server, "/databases", headers)
        assert response.status_code == 200, response.text


def test_health_and_metrics_need_no_credentials(auth_server: ServerProcess) -> None:
    assert get(auth_server, "/health").status_code == 200
    assert get(auth_server, "/metrics").status_code == 200


def test_unknown_routes_do_not_answer_before_authentication(auth_server: ServerProcess) -> None:
    assert_unauthorized(get(auth_server, "/no/such/route"))
    assert get(auth_server, "/no/such/route", bearer(FLAG_TOKEN)).status_code == 404


def test_a_server_without_credentials_accepts_everything(server_url: str) -> None:
    assert requests.get(server_url + "/databases", timeout=30).status_code == 200
    assert requests.get(server_url + "/databases", headers=bearer("anything"), timeout=30).status_code == 200


def test_secrets_never_reach_the_log(tmp_path: Path) -> None:
    password, token = "very-secret-password", "very-secret-token"
    log = tmp_path / "server.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "phantomdb.server", "--port", "0", "--data-dir", str(tmp_path / "data"),
                "--user", f"u:{password}", "--token", token, "--log-level", "debug",
            ],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        url = process.stdout.readline()[len(READY_PREFIX) :].strip()
        try:
            wrong = basic("u", password + "x")
            for headers in (basic("u", password), bearer(token), wrong, bearer(token + "x")):
                requests.get(url + "/databases", headers=headers, timeout=30)
                requests.post(url + "/databases", data=b"{", headers=headers, timeout=30)
                requests.get(url + "/nowhere", headers=headers, timeout=30)
        finally:
            process.terminate()
            process.wait(10)
    text = log.read_text()
    assert "Application startup complete" in text  # the log was really written
    secrets = [password, token, base64.b64encode(f"u:{password}".encode()).decode(), "Authorization"]
    for secret in secrets:
        assert secret not in text


def test_an_unreadable_auth_file_stops_the_server_with_a_message(tmp_path: Path) -> None:
    auth_file = tmp_path / "auth.json"
    auth_file.write_text('{"users": ["not", "an", "object"]}')
    command = [sys.executable, "-m", "phantomdb.server", "--port", "0", "--data-dir", str(tmp_path)]
    command += ["--auth-file", str(auth_file)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "users" in result.stderr
    assert READY_PREFIX not in result.stdout
