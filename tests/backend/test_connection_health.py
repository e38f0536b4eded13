"""is_usable() and reconnection: a Django connection survives its server's restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import OperationalError

import phantomdb
from tests.backend.conftest import extra_database
from tests.backend.testapp.models import User
from tests.conftest import ServerProcess, start_server


class RestartableServer:
    """A PhantomDB Lite process that can be stopped and started again on its port and data dir."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.process: ServerProcess | None = start_server(data_dir, "--durability", "full")
        self.url = self.process.url

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def start(self) -> None:
        port = self.url.rsplit(":", 1)[1]
        self.process = start_server(self.data_dir, "--port", port, "--durability", "full")
        assert self.process.url == self.url


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[RestartableServer]:
    server = RestartableServer(tmp_path)
    try:
        with phantomdb.PhantomDB(server.url) as client:
            client.create_database("health")
        yield server
    finally:
        server.stop()


@pytest.fixture
def health(restartable: RestartableServer) -> Iterator[Callable[[], object]]:
    """The ``health`` alias on the restartable server, with the users table; persistent
    connections (``CONN_MAX_AGE=None``), so only unusability closes them."""
    with extra_database("health", HOST=restartable.url, NAME="health", CONN_MAX_AGE=None) as wrapper:
        with wrapper.schema_editor() as editor:
            editor.create_model(User)
        yield wrapper


def make_user(email: str) -> User:
    return User.objects.using("health").create(first_name="F", last_name="L", email=email)


def test_is_usable_while_the_server_runs(health) -> None:
    health.ensure_connection()
    assert health.is_usable() is True


def test_is_not_usable_once_the_server_stopped(health, restartable: RestartableServer) -> None:
    health.ensure_connection()
    restartable.stop()
    assert health.is_usable() is False


def test_a_query_to_a_stopped_server_is_an_operational_error(health, restartable: RestartableServer) -> None:
    make_user("before@example.com")
    restartable.stop()
    with pytest.raises(OperationalError, match=r"^Failed to connect to PhantomDB server"):
        User.objects.using("health").count()
    assert health.errors_occurred is True


def test_django_reconnects_after_the_server_restarts(health, restartable: RestartableServer) -> None:
    make_user("before@example.com")
    restartable.stop()
    with pytest.raises(OperationalError):
        User.objects.using("health").count()
    health.close_if_unusable_or_obsolete()  # what request_started/finished do
    assert health.connection is None  # unusable: closed

    restartable.start()
    make_user("after@example.com")
    assert set(User.objects.using("health").values_list("email", flat=True)) == {
        "before@example.com",
        "after@example.com",
    }
    assert health.is_usable() is True


def test_a_usable_connection_is_kept_after_an_error(health) -> None:
    make_user("taken@example.com")
    with pytest.raises(Exception):  # noqa: B017 - any database error marks errors_occurred
        User.objects.using("health").raw("SELECT * FROM no_such_table")[0]
    original = health.connection
    health.close_if_unusable_or_obsolete()
    assert health.connection is original
    assert health.errors_occurred is False


def test_a_connection_kept_alive_survives_a_restart_without_close(
    health, restartable: RestartableServer
) -> None:
    make_user("before@example.com")
    restartable.stop()
    restartable.start()
    make_user("after@example.com")  # a write on a pooled connection the restart closed
    assert User.objects.using("health").count() == 2


def test_a_transaction_lost_in_a_restart_fails_its_block_and_the_connection_recovers(
    health, restartable: RestartableServer
) -> None:
    from django.db import transaction

    with pytest.raises(OperationalError), transaction.atomic(using="health"):
        make_user("lost@example.com")
        restartable.stop()
        restartable.start()
        make_user("after-restart@example.com")
    health.close_if_unusable_or_obsolete()
    assert User.objects.using("health").count() == 0
    make_user("recovered@example.com")
    assert list(User.objects.using("health").values_list("email", flat=True)) == ["recovered@example.com"]


def test_the_server_version_satisfies_the_backends_minimum(health) -> None:
    version = health.get_database_version()
    assert version >= health.features.minimum_database_version
    health.check_database_version_supported()
