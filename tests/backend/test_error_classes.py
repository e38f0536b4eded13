"""Each row of docs/backend.md's "Error classes" table: the failure raises that django.db class.

A failure that Django's sqlite3 backend can have too runs there as well (an
in-memory database holding the same table) and must raise the same class.
The rows where PhantomDB deliberately differs (bad SQL and missing tables or
columns are ``ProgrammingError``, as PEP 249 defines them) check PhantomDB's
class only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import (
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    connection,
    connections,
)
from django.db.utils import ConnectionHandler

NATIVE = "errors_sqlite3"
TABLES = (
    "CREATE TABLE error_parent (id integer PRIMARY KEY)",
    "CREATE TABLE error_child (id integer PRIMARY KEY, name varchar(20) NOT NULL UNIQUE,"
    " size integer CHECK (size >= 0), parent_id integer REFERENCES error_parent (id))",
)


@pytest.fixture(scope="module")
def tables() -> Iterator[None]:
    """The same two tables on PhantomDB Lite and on an in-memory sqlite3 database."""
    connections.settings[NATIVE] = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    ).settings["default"]
    try:
        for alias in ("default", NATIVE):
            with connections[alias].cursor() as cursor:
                for statement in TABLES:
                    cursor.execute(statement)
                cursor.execute("INSERT INTO error_child (id, name, size) VALUES (1, 'taken', 1)")
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE error_child")
            cursor.execute("DROP TABLE error_parent")
        connections[NATIVE].close()
        del connections[NATIVE]
        del connections.settings[NATIVE]


def raised(alias: str, sql: str, params: list[object] | None = None) -> type[Exception]:
    """The django.db class the statement raises on ``alias``."""
    with connections[alias].cursor() as cursor, pytest.raises(Exception) as failure:
        cursor.execute(sql, params)
        cursor.fetchall()
    return failure.type


SAME_AS_SQLITE3 = [
    pytest.param(
        "INSERT INTO error_child (id, name) VALUES (2, 'taken')", None, IntegrityError, id="unique_violation"
    ),
    pytest.param("INSERT INTO error_child (id, name) VALUES (2, NULL)", None, IntegrityError, id="not_null"),
    pytest.param(
        "INSERT INTO error_child (id, name, size) VALUES (2, 'n', -1)", None, IntegrityError, id="check"
    ),
    pytest.param(
        "INSERT INTO error_child (id, name, parent_id) VALUES (2, 'n', 99)", None, IntegrityError, id="fk"
    ),
    pytest.param(
        "SELECT name FROM error_child WHERE name REGEXP %s", ["("], OperationalError, id="function_raised"
    ),
    pytest.param("SELECT JSON_EXTRACT(%s, '$')", ["{"], OperationalError, id="malformed_json"),
    pytest.param("SELECT ABS(-9223372036854775807 - 1)", None, OperationalError, id="integer_overflow"),
    pytest.param("SELECT CAST(x'ff' AS TEXT)", None, OperationalError, id="text_not_utf8"),
    pytest.param("SELECT %s", [1, 2], ProgrammingError, id="wrong_number_of_params"),
]


@pytest.mark.usefixtures("tables")
@pytest.mark.parametrize(("sql", "params", "expected"), SAME_AS_SQLITE3)
def test_a_failure_raises_the_class_sqlite3_raises(sql: str, params: list | None, expected: type) -> None:
    assert raised(NATIVE, sql, params) is expected
    assert raised("default", sql, params) is expected


@pytest.mark.usefixtures("tables")
@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELEC 1", id="syntax_error"),
        pytest.param("SELECT 1 FROM error_nowhere", id="table_not_found"),
        pytest.param("SELECT nowhere FROM error_child", id="column_not_found"),
    ],
)
def test_bad_sql_is_a_programming_error_where_sqlite3_says_operational_error(sql: str) -> None:
    assert raised(NATIVE, sql) is OperationalError
    assert raised("default", sql) is ProgrammingError


def test_transaction_control_through_the_cursor_is_not_supported() -> None:
    assert raised("default", "BEGIN") is NotSupportedError

