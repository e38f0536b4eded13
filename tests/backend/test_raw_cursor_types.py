"""Raw SQL results are typed as on Django's sqlite3 backend: by each column's declared type.

The same rows are written through the ORM to the session's PhantomDB database and to a sqlite3
file database; ``connection.cursor()`` (and ``raw()``) must read back equal values of equal types.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections, transaction

from tests.backend.conftest import extra_database, recorded_calls
from tests.backend.testapp.models import Auto, Event, EveryType

VALUES: dict[str, Any] = {
    "binary": b"\x00\xffbytes",
    "boolean": True,
    "char": "text",
    "date": datetime.date(2024, 2, 5),
    "datetime": datetime.datetime(2024, 2, 5, 13, 45, 30, 250000, tzinfo=datetime.UTC),
    "decimal": decimal.Decimal("12.50"),
    "duration": datetime.timedelta(days=1, microseconds=5),
    "float": 1.5,
    "integer": 7,
    "big_integer": 2**40,
    "generic_ip_address": "::1",
    "json": {"a": [1, 2]},
    "null_boolean": False,
    "positive_integer": 3,
    "small_integer": -2,
    "text": "long text",
    "time": datetime.time(13, 45, 30, 250000),
    "uuid": uuid.UUID("12345678123456781234567812345678"),
}


@pytest.fixture
def native(tmp_path: Path) -> Iterator[str]:
    """A sqlite3 alias holding the test app's tables, for Django's own answers."""
    with extra_database("native", ENGINE="django.db.backends.sqlite3", NAME=str(tmp_path / "native.sqlite3")):
        with connections["native"].schema_editor() as editor:
            for model in (Auto, EveryType, Event):
                editor.create_model(model)
        yield "native"


def raw_row(alias: str, sql: str, params: Any = None) -> tuple[Any, ...]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def typed(values: tuple[Any, ...]) -> list[tuple[type, Any]]:
    return [(type(value), value) for value in values]


@pytest.fixture
def every_type(native: str) -> str:
    for alias in ("default", native):
        EveryType.objects.using(alias).create(**VALUES)
    return native


@pytest.mark.parametrize("field", sorted(VALUES))
def test_each_type_reads_back_as_on_sqlite3(every_type: str, field: str) -> None:
    column = EveryType._meta.get_field(field).column
    sql = f'SELECT "{column}" FROM "{EveryType._meta.db_table}"'
    assert typed(raw_row("default", sql)) == typed(raw_row(every_type, sql))


def test_dates_times_and_booleans_become_python_values(every_type: str) -> None:
    sql = f'SELECT "date", "datetime", "time", "boolean", "decimal" FROM "{EveryType._meta.db_table}"'
    assert raw_row("default", sql) == (
        datetime.date(2024, 2, 5),
        datetime.datetime(2024, 2, 5, 13, 45, 30, 250000),  # stored in UTC, read back naive, as on sqlite3
        datetime.time(13, 45, 30, 250000),
        True,
        12.5,  # no converter for decimal columns on sqlite3 either: the stored number
    )


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "date" AS "day", "time" FROM "{table}" WHERE "date" = %s',
        'SELECT max("date"), "date" || \'\', count(*) FROM "{table}"',
        'SELECT (SELECT "datetime" FROM "{table}" LIMIT 1), "boolean" FROM "{table}"',
        'SELECT t."date", a."id" FROM "{table}" t LEFT JOIN "{auto}" a ON a."id" = t."one_to_one_id"',
    ],
)
def test_aliases_expressions_subqueries_and_joins_read_as_on_sqlite3(every_type: str, sql: str) -> None:
    sql = sql.format(table=EveryType._meta.db_table, auto=Auto._meta.db_table)
    params = [datetime.date(2024, 2, 5)] if "%s" in sql else None
    assert typed(raw_row("default", sql, params)) == typed(raw_row(every_type, sql, params))


def test_named_parameters_read_as_on_sqlite3(every_type: str) -> None:
    sql = f'SELECT "date" FROM "{EveryType._meta.db_table}" WHERE "integer" = %(n)s'
    assert (
        raw_row("default", sql, {"n": 7})
        == raw_row(every_type, sql, {"n": 7})
        == (datetime.date(2024, 2, 5),)
    )


def test_inside_a_transaction_too(every_type: str) -> None:
    sql = f'SELECT "date", "boolean" FROM "{EveryType._meta.db_table}"'
    with transaction.atomic():
        assert raw_row("default", sql) == (datetime.date(2024, 2, 5), True)


def test_model_raw_reads_as_on_sqlite3(every_type: str) -> None:
    sql = f'SELECT "id", "date", "datetime", "boolean" FROM "{EveryType._meta.db_table}"'
    ours = next(iter(EveryType.objects.raw(sql)))
    theirs = next(iter(EveryType.objects.using(every_type).raw(sql)))
    for field in ("date", "datetime", "boolean"):
        assert (type(getattr(ours, field)), getattr(ours, field)) == (
            type(getattr(theirs, field)),
            getattr(theirs, field),
        )


def test_a_column_of_another_type_after_a_schema_change_reads_as_its_new_type(native: str) -> None:
    for alias in ("default", native):
        with connections[alias].cursor() as cursor:
            cursor.execute('CREATE TABLE "changing" ("v" date)')
            cursor.execute("""INSERT INTO "changing" VALUES ('2024-02-05')""")
    try:
        assert raw_row("default", 'SELECT "v" FROM "changing"') == (datetime.date(2024, 2, 5),)
        for alias in ("default", native):
            with connections[alias].cursor() as cursor:
                cursor.execute('ALTER TABLE "changing" RENAME TO "changed"')
                cursor.execute('CREATE TABLE "changing" ("v" text)')
                cursor.execute("""INSERT INTO "changing" VALUES ('2024-02-05')""")
        assert raw_row("default", 'SELECT "v" FROM "changing"') == raw_row(
            native, 'SELECT "v" FROM "changing"'
        )
        assert raw_row("default", 'SELECT "v" FROM "changing"') == ("2024-02-05",)
    finally:
        with connection.cursor() as cursor:
            cursor.execute('DROP TABLE IF EXISTS "changing"')
            cursor.execute('DROP TABLE IF EXISTS "changed"')


def test_orm_statements_do_not_ask_for_declared_types_and_raw_ones_do(every_type: str) -> None:
    with recorded_calls() as recorded:
        assert EveryType.objects.values_list("date", flat=True).get() == datetime.date(2024, 2, 5)
        assert EveryType.objects.filter(date__year=2024).count() == 1
        raw_row("default", f'SELECT "date" FROM "{EveryType._meta.db_table}"')
    assert [entry.call.decltypes for entry in recorded] == [False, False, True]


def test_orm_reads_are_converted_once(every_type: str) -> None:
    row = EveryType.objects.values("date", "datetime", "time", "boolean", "decimal").get()
    theirs = (
        EveryType.objects.using(every_type).values("date", "datetime", "time", "boolean", "decimal").get()
    )
    assert {key: (type(value), value) for key, value in row.items()} == {
        key: (type(value), value) for key, value in theirs.items()
    }
