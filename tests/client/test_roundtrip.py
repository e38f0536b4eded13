"""Every value type the REST API encodes survives a trip through PhantomDB Lite.

PhantomDB Lite returns what SQLite stores (docs/rest-api.md, "Values"): bytes
come back as bytes, a date as its text, a duration as integer microseconds...
``stored`` says what each Python value must come back as.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import phantomdb
from phantomdb import PhantomDB, ProgrammingError

OFFSETS = [datetime.UTC, datetime.timezone(datetime.timedelta(hours=5, minutes=30)),
           datetime.timezone(datetime.timedelta(hours=-8))]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text(st.characters(blacklist_categories=("Cs",))),
    st.binary(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.times(),
    st.datetimes(timezones=st.none() | st.sampled_from(OFFSETS)),
    st.timedeltas(min_value=datetime.timedelta(days=-10**5), max_value=datetime.timedelta(days=10**5)),
    st.uuids(),
)

roundtrip = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def stored(value: Any) -> Any:
    """What PhantomDB Lite gives back for ``value``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and math.isnan(value):
        return None  # SQLite stores NaN as NULL
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    if isinstance(value, uuid.UUID):
        return value.hex
    return value


def same(left: Any, right: Any) -> bool:
    """Equal and of the same type (True == 1, but a bool must come back as an int)."""
    return type(left) is type(right) and left == right


@pytest.fixture(scope="module")
def phantom(server_url: str) -> Iterator[PhantomDB]:
    with PhantomDB(server_url) as client:
        yield client


@pytest.fixture(scope="module")
def values_db(phantom: PhantomDB) -> Iterator[str]:
    name = "roundtrip_values"
    phantom.create_database(name)
    # BLOB affinity converts nothing: the table stores exactly what was bound.
    phantom.create_table(name, "vals", columns=[
        {"name": "id", "type": "INTEGER", "primary_key": True, "auto_increment": True},
        {"name": "v", "type": "BLOB"},
    ])
    yield name
    with contextlib.suppress(ProgrammingError):
        phantom.drop_database(name)


@roundtrip
@given(st.lists(values, min_size=1, max_size=8))
def test_query_params_come_back_as_stored(phantom: PhantomDB, values_db: str, params: list[Any]) -> None:
    query = "SELECT " + ", ".join("?" * len(params))
    (row,) = phantom.execute_query(values_db, query, params).rows
    for value, back in zip(params, row, strict=True):
        assert same(back, stored(value)), (value, back)


@roundtrip
@given(values)
def test_inserted_value_comes_back_and_is_found_by_condition(
    phantom: PhantomDB, values_db: str, value: Any
) -> None:
    (row_id,) = phantom.insert(values_db, "vals", {"v": value}).rows[0]
    (back,) = phantom.select(values_db, "vals", columns=["v"], condition='"id" = ?', params=[row_id]).rows[0]
    assert same(back, stored(value)), (value, back)
    if stored(value) is not None:
        found = phantom.select(values_db, "vals", columns=["id"], condition='"v" = ? AND "id" = ?',
                               params=[value, row_id])
        assert found.rows == ((row_id,),)


@roundtrip
@given(values, values)
def test_updated_value_comes_back(phantom: PhantomDB, values_db: str, first: Any, second: Any) -> None:
    (row_id,) = phantom.insert(values_db, "vals", {"v": first}).rows[0]
    assert phantom.update(values_db, "vals", {"v": second}, condition='"id" = ?', params=[row_id]) == 1
    (back,) = phantom.select(values_db, "vals", columns=["v"], condition='"id" = ?', params=[row_id]).rows[0]
    assert same(back, stored(second)), (second, back)


@roundtrip
@given(st.lists(values, min_size=1, max_size=5))
def test_executemany_values_come_back(server_url: str, values_db: str, batch: list[Any]) -> None:
    with phantomdb.connect(server_url, values_db, autocommit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT coalesce(max(id), 0) FROM vals")
        (start,) = cursor.fetchone()
        cursor.executemany("INSERT INTO vals (v) VALUES (?)", [[value] for value in batch])
        assert cursor.rowcount == len(batch)
        cursor.execute("SELECT v FROM vals WHERE id > ? ORDER BY id", [start])
        backs = [row[0] for row in cursor.fetchall()]
    assert len(backs) == len(batch)
    for value, back in zip(batch, backs, strict=True):
        assert same(back, stored(value)), (value, back)
