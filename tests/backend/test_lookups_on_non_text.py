"""Case-insensitive lookups on numbers, dates, UUIDs and JSON values give Django's sqlite3 answer.

Django's sqlite3 backend reads a non-text value in its text form when it
matches case-insensitively (``1 LIKE '1'``); PhantomDB's ``CASEFOLD`` does the
same, so ``filter(id__iexact="1")`` or an admin search on ``=id`` finds the
row. Each case runs on PhantomDB Lite and on an in-memory sqlite3 database
holding the same rows, and the matched primary keys must be the same.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import connections
from django.db.utils import ConnectionHandler

from tests.backend.testapp.models import EveryType

NATIVE = "native_sqlite3"

ROWS = [
    EveryType(
        pk=pk,
        integer=integer,
        decimal=decimal,
        float=floating,
        date=date,
        datetime=moment,
        uuid=identifier,
        json=document,
        boolean=boolean,
    )
    for pk, integer, decimal, floating, date, moment, identifier, document, boolean in [
        (
            1,
            5,
            Decimal("12.5"),
            1.5,
            datetime.date(2024, 2, 5),
            datetime.datetime(2024, 2, 5, 10, 30, tzinfo=datetime.UTC),
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
            {"name": "Alpha", "n": 5, "tags": ["x"]},
            True,
        ),
        (
            15,
            -51,
            Decimal("7"),
            1e20,
            datetime.date(2023, 12, 31),
            datetime.datetime(2023, 12, 31, 23, 59, 59, 250000, tzinfo=datetime.UTC),
            uuid.UUID("abcdef00-0000-0000-0000-00000000abcd"),
            {"name": "BETA", "n": 15.5},
            False,
        ),
        (
            51,
            150,
            Decimal("0.125"),
            -0.25,
            datetime.date(2024, 11, 15),
            datetime.datetime(2024, 11, 15, 1, 2, 3, tzinfo=datetime.UTC),
            uuid.UUID("00000000-0000-0000-0000-000000000015"),
            {"name": "gamma", "n": "5"},
            None,
        ),
    ]
]


@pytest.fixture(scope="module")
def native() -> Iterator[str]:
    """An in-memory sqlite3 database with the EveryType table, as Django's sqlite3 backend makes it."""
    connections.settings[NATIVE] = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    ).settings["default"]
    try:
        with connections[NATIVE].schema_editor() as editor:
            editor.create_model(EveryType._meta.get_field("one_to_one").related_model)
            editor.create_model(EveryType)
        yield NATIVE
    finally:
        connections[NATIVE].close()
        del connections[NATIVE]
        del connections.settings[NATIVE]


@pytest.fixture
def both(native: str) -> Iterator[str]:
    EveryType.objects.bulk_create(ROWS)
    EveryType.objects.using(native).bulk_create(ROWS)
    yield native
    EveryType.objects.using(native).all().delete()


LOOKUPS = [
    ("pk__iexact", "1"),
    ("id__iexact", "15"),
    ("pk__icontains", "5"),
    ("pk__istartswith", "5"),
    ("pk__iendswith", "1"),
    ("pk__iregex", r"^1"),
    ("integer__iexact", "5"),
    ("integer__iexact", "-51"),
    ("integer__icontains", "5"),
    ("integer__istartswith", "-"),
    ("integer__iendswith", "0"),
    ("integer__iregex", r"^1\d+$"),
    ("decimal__iexact", "12.5"),
    ("decimal__iexact", "7"),
    ("decimal__icontains", ".12"),
    ("decimal__istartswith", "0."),
    ("float__iexact", "1.5"),
    ("float__icontains", "e+"),
    ("float__istartswith", "-0.2"),
    ("float__iendswith", ".5"),
    ("boolean__iexact", "1"),
    ("date__iexact", "2024-02-05"),
    ("date__icontains", "-1"),
    ("date__istartswith", "2024"),
    ("date__iregex", r"-0\d-"),
    ("datetime__icontains", "23:59"),
    ("datetime__istartswith", "2024-11"),
    ("datetime__iendswith", ".250000"),
    ("uuid__iexact", "12345678-1234-5678-1234-567812345678"),
    ("uuid__iexact", "ABCDEF00-0000-0000-0000-00000000ABCD"),
    ("uuid__icontains", "ABCD"),
    ("uuid__istartswith", "0000"),
    ("uuid__iendswith", "15"),
    ("json__name__iexact", "alpha"),
    ("json__name__icontains", "ET"),
    ("json__n__iexact", "5"),
    ("json__n__icontains", "5"),
    ("json__n__istartswith", "15"),
    ("json__n__iendswith", ".5"),
    ("json__n__iregex", r"^5$"),
    ("date__year__iexact", "2024"),
    ("date__month__icontains", "1"),
    ("date__day__istartswith", "3"),
    ("datetime__year__iexact", "2023"),
    ("datetime__hour__iexact", "4"),
    ("datetime__minute__iendswith", "9"),
    ("date__week_day__iexact", "2"),
    ("datetime__date__iexact", "2024-11-14"),
]


@pytest.mark.parametrize(("lookup", "value"), LOOKUPS)
def test_case_insensitive_lookup_on_a_non_text_value_matches_like_sqlite3(
    both: str, lookup: str, value: str
) -> None:
    native = EveryType.objects.using(both).filter(**{lookup: value})
    matches = EveryType.objects.filter(**{lookup: value})
    assert sorted(matches.values_list("pk", flat=True)) == sorted(native.values_list("pk", flat=True))


def test_the_lookups_above_match_rows_on_sqlite3(both: str) -> None:
    # Every case above must be able to fail: none may match nothing on sqlite3 either.
    native = EveryType.objects.using(both)
    empty = [(lookup, value) for lookup, value in LOOKUPS if not native.filter(**{lookup: value}).exists()]
    assert empty == []
