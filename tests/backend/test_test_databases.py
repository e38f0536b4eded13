"""Test databases: Django's creation API creates ``test_<NAME>`` through the PhantomDB
databases API, migrates it, and drops it; ``keepdb`` keeps it.

Each test uses an alias of its own so that the session database is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import django
import pytest
from django.db import connections

from tests.backend.conftest import Phantom, extra_database
from tests.backend.testapp.models import User

# Before Django 6.1, create_test_db() serializes the database unless told not to;
# 6.1 no longer does and deprecates the argument.
NO_SERIALIZE = {"serialize": False} if django.VERSION < (6, 1) else {}


def database_names(phantom: Phantom) -> set[str]:
    with phantom.client() as client:
        return {database["name"] for database in client.list_databases()}


def table_names(phantom: Phantom, database: str) -> set[str]:
    with phantom.client() as client:
        return {table["name"] for table in client.list_tables(database)}


@pytest.fixture
def forget_test_databases(phantom: Phantom) -> Iterator[None]:
    """Drop whatever test database a test leaves behind."""
    yield
    with phantom.client() as client:
        for name in database_names(phantom) & {"test_creation_app", "test_kept_app", "custom_test_name"}:
            client.drop_database(name)


pytestmark = pytest.mark.usefixtures("forget_test_databases")


def test_create_test_db_creates_and_migrates_test_name_and_destroy_drops_it(phantom: Phantom) -> None:
    with extra_database("creation", HOST=phantom.url, NAME="creation_app") as creation:
        test_name = creation.creation.create_test_db(verbosity=0, autoclobber=True, **NO_SERIALIZE)
        assert test_name == "test_creation_app"
        assert creation.settings_dict["NAME"] == "test_creation_app"
        assert {"django_migrations", "auth_user", "users", "profiles"} <= table_names(phantom, test_name)
        assert User.objects.using("creation").count() == 0
        creation.creation.destroy_test_db("creation_app", verbosity=0)
        assert creation.settings_dict["NAME"] == "creation_app"
    assert "test_creation_app" not in database_names(phantom)
    assert "creation_app" not in database_names(phantom)  # the real database is never created


def test_after_destroy_test_db_the_connection_uses_the_restored_database(phantom: Phantom) -> None:
    # Django's runner does this for a test database of a test database (its own
    # test_runner tests): the outer test database must still answer afterwards.
    with phantom.client() as client:
        client.create_database("creation_app")
    try:
        with extra_database("creation", HOST=phantom.url, NAME="creation_app") as creation:
            creation.creation.create_test_db(verbosity=0, autoclobber=True, **NO_SERIALIZE)
            creation.creation.destroy_test_db("creation_app", verbosity=0)
            with creation.cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)
            assert creation.connection.database == "creation_app"
    finally:
        with phantom.client() as client:
            client.drop_database("creation_app")


def test_keepdb_keeps_the_test_database_and_its_rows(phantom: Phantom) -> None:
    with extra_database("kept", HOST=phantom.url, NAME="kept_app") as kept:
        kept.creation.create_test_db(verbosity=0, autoclobber=True, **NO_SERIALIZE, keepdb=True)
        User.objects.using("kept").create(first_name="K", last_name="D", email="kept@example.com")
        kept.creation.destroy_test_db("kept_app", verbosity=0, keepdb=True)
        assert "test_kept_app" in database_names(phantom)

        kept.creation.create_test_db(verbosity=0, autoclobber=True, **NO_SERIALIZE, keepdb=True)
        assert list(User.objects.using("kept").values_list("email", flat=True)) == ["kept@example.com"]
        kept.creation.destroy_test_db("kept_app", verbosity=0, keepdb=True)


def test_an_old_test_database_is_replaced_when_not_kept(phantom: Phantom) -> None:
    with phantom.client() as client:
        client.create_database("test_creation_app")
        client.execute_query("test_creation_app", "CREATE TABLE leftover (x INTEGER)")
    with extra_database("creation", HOST=phantom.url, NAME="creation_app") as creation:
        creation.creation.create_test_db(verbosity=0, autoclobber=True, **NO_SERIALIZE)
        assert "leftover" not in table_names(phantom, "test_creation_app")
        creation.creation.destroy_test_db("creation_app", verbosity=0)
    assert "test_creation_app" not in database_names(phantom)


def test_test_name_overrides_the_test_database_name(phantom: Phantom) -> None:
    with extra_database(
        "custom", HOST=phantom.url, NAME="creation_app", TEST={"NAME": "custom_test_name"}
    ) as custom:
        assert (
            custom.creation.create_test_db(verbosity=0, autoclobber=True, **NO_SERIALIZE)
            == "custom_test_name"
        )
        assert "users" in table_names(phantom, "custom_test_name")
        custom.creation.destroy_test_db("creation_app", verbosity=0)
    assert "custom_test_name" not in database_names(phantom)


def test_the_session_database_is_untouched(phantom: Phantom) -> None:
    assert connections["default"].settings_dict["NAME"] == phantom.database
    assert "users" in table_names(phantom, phantom.database)


def test_flush_empties_every_table_and_resets_the_keys(phantom: Phantom) -> None:
    from django.core.management import call_command
    from django.core.management.color import no_style

    with extra_database("creation", HOST=phantom.url, NAME="creation_app") as creation:
        creation.creation.create_test_db(verbosity=0, autoclobber=True, **NO_SERIALIZE)
        User.objects.using("creation").create(first_name="F", last_name="L", email="flush@example.com")
        call_command("flush", database="creation", interactive=False, verbosity=0, inhibit_post_migrate=True)
        assert not User.objects.using("creation").exists()

        User.objects.using("creation").create(first_name="F", last_name="L", email="again@example.com")
        tables = creation.introspection.django_table_names(only_existing=True, include_views=False)
        creation.ops.execute_sql_flush(creation.ops.sql_flush(no_style(), tables, reset_sequences=True))
        assert (
            User.objects.using("creation").create(first_name="F", last_name="L", email="x@example.com").pk
            == 1
        )
        creation.creation.destroy_test_db("creation_app", verbosity=0)
