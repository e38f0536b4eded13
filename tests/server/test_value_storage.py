"""Every value type of docs/rest-api.md ("Values") is stored as its table says and comes back intact.

Each value is inserted (a row call) into a column without type affinity, so
SQLite keeps exactly what the server bound, then selected back both through a
table call and ``POST /query``. The answer must be the documented storage form,
and that form must convert back to the original value.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import math
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phantomdb.encoding import decode_value, encode_value
from tests.server.conftest import Api, create_database

MAX_MICROSECONDS = 2**63 - 1
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)

# name -> (values, the JSON of the stored value, that JSON back to the original type)
CASES: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], Any], Callable[[Any], Any]]] = {
    "bytes": (st.binary(max_size=300), lambda v: {"$bytes": base64.b64encode(v).decode()}, decode_value),
    "decimal": (
        st.decimals(allow_nan=False, allow_infinity=False),
        str,
        decimal.Decimal,
    ),
    "date": (st.dates(), datetime.date.isoformat, datetime.date.fromisoformat),
    "time": (
        st.times(timezones=st.none() | offsets),
        datetime.time.isoformat,
        datetime.time.fromisoformat,
    ),
    "datetime": (
        st.datetimes(timezones=st.none() | st.just(datetime.UTC) | offsets),
        lambda v: v.isoformat(" "),
        datetime.datetime.fromisoformat,
    ),
    "duration": (
        st.timedeltas(
            min_value=datetime.timedelta(microseconds=-MAX_MICROSECONDS),
            max_value=datetime.timedelta(microseconds=MAX_MICROSECONDS),
        ),
        lambda v: (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds,
        lambda v: datetime.timedelta(microseconds=v),
    ),
    "uuid": (st.uuids(), lambda v: v.hex, uuid.UUID),
    "float": (
        st.floats(allow_nan=False),
        lambda v: v if math.isfinite(v) else {"$float": "inf" if v > 0 else "-inf"},
        decode_value,
    ),
    "bool": (st.booleans(), int, bool),
    "integer": (st.integers(min_value=-(2**63), max_value=2**63 - 1), lambda v: v, lambda v: v),
    "text": (st.text(max_size=200), lambda v: v, lambda v: v),
    "null": (st.none(), lambda v: v, lambda v: v),
}


@pytest.fixture(scope="module")
def store(server_url: str) -> Iterator[tuple[Api, str]]:
    api = Api(server_url)
    for name in create_database(api, "value_storage"):
        api.query(name, "CREATE TABLE v (id INTEGER PRIMARY KEY, value)")  # no affinity: kept as bound
        yield api, name


@pytest.mark.parametrize("kind", list(CASES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_value_is_stored_in_its_documented_form_and_round_trips(
    store: tuple[Api, str], kind: str, data: st.DataObject
) -> None:
    api, db = store
    values, stored_form, back = CASES[kind]
    value = data.draw(values)
    sent = encode_value(value)

    inserted = api.post(f"/databases/{db}/tables/v", json={"value": sent})
    assert inserted.status_code == 201, inserted.text
    key = inserted.json()["rows"][0][0]

    selected = api.get(
        f"/databases/{db}/tables/v",
        params={"columns": ["value"], "condition": "id = ?", "params": f"[{key}]"},
    )
    expected = stored_form(value)
    assert selected.json()["rows"] == [[expected]]
    assert selected.json()["encoded"] is (type(expected) is dict)
    assert back(selected.json()["rows"][0][0]) == value

    echoed = api.query(db, "SELECT ?", [sent])
    assert echoed["rows"] == [[expected]]


def test_nan_is_stored_as_null_because_sqlite_has_no_nan(store: tuple[Api, str]) -> None:
    api, db = store
    assert api.query(db, "SELECT ?", [{"$float": "nan"}])["rows"] == [[None]]


def test_decimals_in_a_numeric_column_follow_numeric_affinity(store: tuple[Api, str]) -> None:
    api, db = store
    api.query(db, "CREATE TABLE IF NOT EXISTS prices (amount NUMERIC)")
    api.post(
        f"/databases/{db}/tables/prices",
        json=[{"amount": {"$decimal": "12.50"}}, {"amount": {"$decimal": "3"}}],
    )
    assert api.rows(db, "SELECT amount, typeof(amount) FROM prices") == [[12.5, "real"], [3, "integer"]]
