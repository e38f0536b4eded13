"""Authentication against a PhantomDB Lite started with a user and a token:
every wrong or missing credential is OperationalError "Unauthorized access"."""

from __future__ import annotations

import pytest

import phantomdb
from phantomdb import OperationalError, PhantomDB
from tests.client.conftest import ADMIN_PASSWORD, ADMIN_USER, TOKEN
from tests.conftest import ServerProcess


@pytest.mark.parametrize(
    "credentials",
    [{}, {"user": ADMIN_USER, "password": "wrong"}, {"user": "eve", "password": ADMIN_PASSWORD},
     {"token": "wrong"}],
    ids=["none", "wrong-password", "wrong-user", "wrong-token"],
)
def test_missing_or_wrong_credentials_are_unauthorized(auth_server: ServerProcess, credentials: dict) -> None:
    with PhantomDB(auth_server.url, **credentials) as client, pytest.raises(OperationalError) as raised:
        client.list_databases()
    assert str(raised.value) == "Unauthorized access"
    assert raised.value.code == "unauthorized" and raised.value.status == 401


def test_user_and_password_are_accepted(auth_server: ServerProcess) -> None:
    with PhantomDB(auth_server.url, user=ADMIN_USER, password=ADMIN_PASSWORD) as client:
        assert isinstance(client.list_databases(), list)


def test_token_is_accepted(auth_server: ServerProcess) -> None:
    with PhantomDB(auth_server.url, token=TOKEN) as client:
        assert isinstance(client.list_databases(), list)


def test_health_needs_no_credentials(auth_server: ServerProcess) -> None:
    with PhantomDB(auth_server.url) as client:
        assert client.health_check()["status"] == "ok"


def test_dbapi_connect_with_credentials(auth_server: ServerProcess) -> None:
    with PhantomDB(auth_server.url, token=TOKEN) as admin:
        admin.create_database("authdb")
    with phantomdb.connect(auth_server.url, "authdb", user=ADMIN_USER, password=ADMIN_PASSWORD) as connection:
        cursor = connection.cursor().execute("SELECT 1 + 1")
        assert cursor.fetchone() == (2,)
    with phantomdb.connect(auth_server.url, "authdb") as connection, pytest.raises(
        phantomdb.OperationalError, match=r"^Unauthorized access$"
    ):
        connection.cursor().execute("SELECT 1")
