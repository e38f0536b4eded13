"""Errors as the product document shows them, raised as django.db's exception classes,
and authentication against a PhantomDB Lite started with users and a token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    connection,
    connections,
)

import phantomdb
from tests.backend.conftest import ADMIN, SECRET, TOKEN, Phantom, closed_port_url, extra_database
from tests.backend.testapp.models import Profile, User
from tests.conftest import ServerProcess


def new_user(email: str, using: str = "default") -> User:
    return User.objects.using(using).create(first_name="F", last_name="L", email=email)


# -- constraint violations ------------------------------------------------------------------


def test_a_duplicate_unique_email_is_a_django_integrity_error() -> None:
    new_user("duplicate@example.com")
    with pytest.raises(IntegrityError) as raised:
        new_user("duplicate@example.com")
    assert "unique" in str(raised.value).lower()
    assert isinstance(raised.value.__cause__, phantomdb.IntegrityError)
    assert isinstance(raised.value.__cause__, phantomdb.PhantomDBError)


def test_the_connection_stays_usable_after_an_integrity_error() -> None:
    new_user("duplicate@example.com")
    with pytest.raises(IntegrityError):
        new_user("duplicate@example.com")
    assert new_user("other@example.com").pk is not None
    assert User.objects.count() == 2


def test_a_missing_foreign_key_target_is_an_integrity_error() -> None:
    with pytest.raises(IntegrityError):
        Profile.objects.create(user_id=987654, bio="orphan")


def test_a_null_in_a_not_null_column_is_an_integrity_error() -> None:
    with pytest.raises(IntegrityError):
        User.objects.create(first_name=None, last_name="L", email="null@example.com")


# -- missing tables -----------------------------------------------------------------------------


@pytest.fixture
def empty_database(phantom: Phantom) -> Iterator[str]:
    """An alias on a database of the session server that has no tables."""
    with phantom.client() as client:
        client.create_database("backend_empty")
    try:
        with extra_database("empty", HOST=phantom.url, NAME="backend_empty"):
            yield "empty"
    finally:
        with phantom.client() as client:
            client.drop_database("backend_empty")


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(lambda alias: list(User.objects.using(alias).filter(age__gt=18)), id="filter"),
        pytest.param(lambda alias: User.objects.using(alias).count(), id="count"),
        pytest.param(lambda alias: new_user("x@example.com", using=alias), id="create"),
        pytest.param(lambda alias: User.objects.using(alias).filter(pk=1).update(age=2), id="update"),
        pytest.param(lambda alias: User.objects.using(alias).filter(pk=1)._raw_delete(alias), id="delete"),
    ],
)
def test_a_missing_table_is_a_database_error_naming_it(empty_database: str, statement) -> None:
    with pytest.raises(DatabaseError, match=r"^Table 'users' does not exist"):
        statement(empty_database)


def test_a_missing_table_is_a_programming_error(empty_database: str) -> None:
    with pytest.raises(ProgrammingError):
        User.objects.using(empty_database).get(pk=1)


def test_a_missing_database_is_a_database_error_naming_it(phantom: Phantom) -> None:
    with (
        extra_database("nowhere", HOST=phantom.url, NAME="no_such_database"),
        pytest.raises(DatabaseError, match="Database 'no_such_database' does not exist"),
    ):
        User.objects.using("nowhere").count()


def test_migrate_on_a_missing_database_says_how_to_create_it(phantom: Phantom) -> None:
    with (
        extra_database("blog", HOST=phantom.url, NAME="blog"),
        pytest.raises(
            ProgrammingError,
            match=r"^Database 'blog' does not exist: create it with `phantomdb create-database blog --url ",
        ),
    ):
        call_command("migrate", database="blog", verbosity=0)


# -- unreachable server ---------------------------------------------------------------------------


def test_a_closed_port_is_an_operational_error_at_the_first_query() -> None:
    url = closed_port_url()
    with extra_database("offline", HOST=url, NAME="myapp") as offline:
        offline.ensure_connection()  # connecting sends nothing
        with pytest.raises(OperationalError, match=r"^Failed to connect to PhantomDB server") as raised:
            User.objects.using("offline").count()
    assert url in str(raised.value)


def test_a_closed_port_is_an_operational_error_for_a_cursor_too() -> None:
    with (
        extra_database("offline", HOST=closed_port_url(), NAME="myapp") as offline,
        offline.cursor() as cursor,
        pytest.raises(OperationalError, match=r"^Failed to connect to PhantomDB server"),
    ):
        cursor.execute("SELECT 1")


# -- configuration ------------------------------------------------------------------------------------


def test_an_unknown_option_is_improperly_configured_naming_the_known_ones(phantom: Phantom) -> None:
    with (
        extra_database("bad", HOST=phantom.url, OPTIONS={"tokn": "x"}) as bad,
        pytest.raises(ImproperlyConfigured, match=r"tokn") as raised,
    ):
        bad.ensure_connection()
    assert "token" in str(raised.value)


def test_a_missing_name_is_improperly_configured(phantom: Phantom) -> None:
    with extra_database("unnamed", HOST=phantom.url, NAME="") as unnamed, pytest.raises(ImproperlyConfigured):
        unnamed.ensure_connection()


def test_a_bare_host_name_gets_http_and_the_port(phantom: Phantom) -> None:
    host, port = phantom.url.removeprefix("http://").split(":")
    with extra_database("bare", HOST=host, PORT=port, NAME=phantom.database):
        assert User.objects.using("bare").count() == 0


# -- authentication ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({"USER": ADMIN, "PASSWORD": "wrong-password"}, id="wrong-password"),
        pytest.param({"USER": "mallory", "PASSWORD": SECRET}, id="wrong-user"),
        pytest.param({}, id="none"),
        pytest.param({"OPTIONS": {"token": "not-the-token"}}, id="wrong-token"),
    ],
)
def test_wrong_credentials_are_unauthorized_access(guarded_server: ServerProcess, credentials: dict) -> None:
    with (
        extra_database("guarded", HOST=guarded_server.url, NAME="guarded", **credentials),
        pytest.raises(OperationalError, match=r"^Unauthorized access$") as raised,
    ):
        User.objects.using("guarded").count()
    assert "wrong-password" not in str(raised.value)


def test_the_right_user_and_password_are_accepted(guarded_server: ServerProcess) -> None:
    with extra_database("guarded", HOST=guarded_server.url, NAME="guarded", USER=ADMIN, PASSWORD=SECRET):
        created = new_user("admin@example.com", using="guarded")
        assert User.objects.using("guarded").get(email="admin@example.com") == created
        User.objects.using("guarded").all().delete()


def test_the_right_token_is_accepted(guarded_server: ServerProcess) -> None:
    with extra_database("guarded", HOST=guarded_server.url, NAME="guarded", OPTIONS={"token": TOKEN}):
        new_user("token@example.com", using="guarded")
        assert User.objects.using("guarded").filter(email="token@example.com").count() == 1
        User.objects.using("guarded").all().delete()


def test_the_password_never_appears_in_the_connection_repr(
    guarded_server: ServerProcess,
) -> None:
    with extra_database(
        "guarded", HOST=guarded_server.url, NAME="guarded", USER=ADMIN, PASSWORD=SECRET
    ) as db:
        db.ensure_connection()
        assert SECRET not in repr(db.connection)
        assert SECRET not in repr(db.connection.client)


def test_the_default_connection_is_untouched_by_extra_aliases(phantom: Phantom) -> None:
    with extra_database("other", HOST=closed_port_url(), NAME="elsewhere"):
        assert connections["other"].settings_dict["NAME"] == "elsewhere"
    assert "other" not in connections.settings
    assert connection.settings_dict["NAME"] == phantom.database
    assert User.objects.count() == 0
