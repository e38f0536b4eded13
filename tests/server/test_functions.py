"""The PhantomDB SQL function library (phantomdb.server.functions), through real SQL."""

from __future__ import annotations

import functools
import hashlib
import math
import sqlite3
import statistics
import subprocess
import sys
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantomdb.server.functions import missing_builtins, register_functions
from phantomdb.server.functions import numeric as numeric_functions
from phantomdb.server.functions import text as text_functions

NY = "America/New_York"


def new_connection():
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    return conn


@pytest.fixture
def conn():
    connection = new_connection()
    yield connection
    connection.close()


@pytest.fixture
def q(conn):
    """Evaluate one SQL expression with parameters and return its value."""

    def evaluate(expression, *params):
        return conn.execute(f"SELECT {expression}", params).fetchone()[0]

    return evaluate


@functools.cache
def shared_connection():
    return new_connection()


def one(expression, *params):
    return shared_connection().execute(f"SELECT {expression}", params).fetchone()[0]


def test_the_library_never_imports_django():
    code = "import sys, phantomdb.server.functions; assert 'django' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


# --------------------------------------------------------------------------
# Time zone conversion
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "tzname", "conn_tzname", "expected"),
    [
        # New York springs forward at 02:00 EST (07:00 UTC) on 2024-03-10.
        ("2024-03-10 06:59:59", NY, "UTC", "2024-03-10 01:59:59"),
        ("2024-03-10 07:00:00", NY, "UTC", "2024-03-10 03:00:00"),
        # ... and falls back at 02:00 EDT (06:00 UTC) on 2024-11-03: 01:30 happens twice.
        ("2024-11-03 05:30:00", NY, "UTC", "2024-11-03 01:30:00"),
        ("2024-11-03 06:30:00", NY, "UTC", "2024-11-03 01:30:00"),
        ("2024-11-03 07:30:00", NY, "UTC", "2024-11-03 02:30:00"),
        # Paris springs forward at 01:00 UTC on 2024-03-31.
        ("2024-03-31 00:59:59.999999", "Europe/Paris", "UTC", "2024-03-31 01:59:59.999999"),
        ("2024-03-31 01:00:00", "Europe/Paris", "UTC", "2024-03-31 03:00:00"),
        # Sydney's DST is in the southern summer.
        ("2024-01-15 00:00:00", "Australia/Sydney", "UTC", "2024-01-15 11:00:00"),
        ("2024-07-15 00:00:00", "Australia/Sydney", "UTC", "2024-07-15 10:00:00"),
        # Stored values in a non-UTC connection zone, including an ambiguous one
        # (the first 01:30, EDT, as Django reads it).
        ("2024-11-03 01:30:00", "UTC", NY, "2024-11-03 05:30:00"),
        ("2024-07-01 12:00:00", "Asia/Tokyo", NY, "2024-07-02 01:00:00"),
        # Same zone on both sides, or no zone: the stored wall clock.
        ("2024-03-10 02:30:00", NY, NY, "2024-03-10 02:30:00"),
        ("2024-03-10 02:30:00", None, None, "2024-03-10 02:30:00"),
        # Fixed offsets as Django names them, and an Etc zone with its inverted sign.
        ("2024-01-01 00:00:00", "UTC+05:30", "UTC", "2024-01-01 05:30:00"),
        ("2024-01-01 00:00:00", "UTC-03:00", "UTC", "2023-12-31 21:00:00"),
        ("2024-01-01 00:00:00", "+02:00", "UTC", "2024-01-01 02:00:00"),
        ("2024-01-01 00:00:00", "Etc/GMT-10", "UTC", "2024-01-01 10:00:00"),
        # A stored offset is an instant, converted to tzname...
        ("2024-01-01 10:00:00+02:00", "UTC", "UTC", "2024-01-01 08:00:00"),
        ("2024-06-01 10:00:00-04:00", "Europe/London", "UTC", "2024-06-01 15:00:00"),
        # ... and its wall clock as written when no zone is asked for.
        ("2024-01-01 10:00:00+02:00", None, None, "2024-01-01 10:00:00"),
        # A target zone without a connection zone reads naive values as UTC.
        ("2024-01-01 12:00:00", "Asia/Kolkata", None, "2024-01-01 17:30:00"),
    ],
)
def test_time_zone_conversion(q, stored, tzname, conn_tzname, expected):
    day, _, clock = expected.partition(" ")
    assert q("DATETIME_CAST_DATE(?, ?, ?)", stored, tzname, conn_tzname) == day
    assert q("DATETIME_CAST_TIME(?, ?, ?)", stored, tzname, conn_tzname) == clock
    moment = datetime.fromisoformat(expected)
    for lookup in ("year", "month", "day", "hour", "minute", "second", "microsecond"):
        assert q("DATETIME_EXTRACT(?, ?, ?, ?)", lookup, stored, tzname, conn_tzname) == getattr(
            moment, lookup
        )
    assert q("DATETIME_TRUNC('second', ?, ?, ?)", stored, tzname, conn_tzname) == expected[:19]


def test_conversion_across_dst_changes_the_day_and_the_weekday(q):
    # 03:30 UTC on Monday 2024-03-11 is still Sunday evening in New York (EDT, UTC-4).
    args = ("2024-03-11 03:30:00", NY, "UTC")
    assert q("DATETIME_CAST_DATE(?, ?, ?)", *args) == "2024-03-10"
    assert q("DATETIME_EXTRACT('iso_week_day', ?, ?, ?)", *args) == 7
    assert q("DATETIME_EXTRACT('week_day', ?, ?, ?)", *args) == 1
    assert q("DATETIME_TRUNC('day', ?, ?, ?)", *args) == "2024-03-10 00:00:00"
    assert q("DATETIME_TRUNC('week', ?, ?, ?)", *args) == "2024-03-04 00:00:00"
    assert q("DATE_TRUNC('week', ?, ?, ?)", *args) == "2024-03-04"
    assert q("TIME_TRUNC('hour', ?, ?, ?)", *args) == "23:00:00"
    # One UTC hour later it is Monday 00:30 in New York.
    assert q("DATETIME_EXTRACT('iso_week_day', '2024-03-11 04:30:00', ?, 'UTC')", NY) == 1


def test_unknown_time_zone_fails_the_statement(q):
    for name in ("Mars/Olympus_Mons", "utc+99:00", "../etc/passwd", ""):
        with pytest.raises(sqlite3.OperationalError):
            q("DATETIME_EXTRACT('hour', '2024-01-01 00:00:00', ?, 'UTC')", name)


# --------------------------------------------------------------------------
# Truncation
# --------------------------------------------------------------------------

STAMP = "2024-08-14 15:47:36.123456"  # a Wednesday in Q3


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("year", "2024-01-01 00:00:00"),
        ("quarter", "2024-07-01 00:00:00"),
        ("month", "2024-08-01 00:00:00"),
        ("week", "2024-08-12 00:00:00"),
        ("day", "2024-08-14 00:00:00"),
        ("hour", "2024-08-14 15:00:00"),
        ("minute", "2024-08-14 15:47:00"),
        ("second", "2024-08-14 15:47:36"),
    ],
)
def test_datetime_trunc_every_level(q, level, expected):
    assert q("DATETIME_TRUNC(?, ?, NULL, NULL)", level, STAMP) == expected
    assert q("DATETIME_TRUNC(?, ?)", level, STAMP) == expected
    assert q("DATETIME_TRUNC(?, ?)", level.upper(), STAMP) == expected
    if level in ("year", "quarter", "month", "week", "day"):
        assert q("DATE_TRUNC(?, ?, NULL, NULL)", level, STAMP) == expected[:10]
        assert q("DATE_TRUNC(?, ?)", level, STAMP[:10]) == expected[:10]
    else:
        assert q("TIME_TRUNC(?, ?, NULL, NULL)", level, STAMP) == expected[11:]
        assert q("TIME_TRUNC(?, ?)", level, STAMP[11:]) == expected[11:]


@pytest.mark.parametrize(
    ("month", "quarter_start"),
    [(1, 1), (2, 1), (3, 1), (4, 4), (5, 4), (6, 4), (7, 7), (8, 7), (9, 7), (10, 10), (11, 10), (12, 10)],
)
def test_quarter_truncation_and_extraction(q, month, quarter_start):
    value = f"2023-{month:02d}-28 12:00:00"
    assert q("DATETIME_TRUNC('quarter', ?)", value) == f"2023-{quarter_start:02d}-01 00:00:00"
    assert q("DATE_EXTRACT('quarter', ?)", value[:10]) == (quarter_start + 2) // 3


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        ("2024-01-01", "2024-01-01"),  # a Monday
        ("2023-01-01", "2022-12-26"),  # a Sunday: the week began in the previous year
        ("2024-03-03", "2024-02-26"),  # across a leap day
        ("0001-01-07", "0001-01-01"),  # the first week of the calendar
    ],
)
def test_week_truncation_starts_on_monday(q, day, monday):
    assert q("DATE_TRUNC('week', ?)", day) == monday
    assert q("DATETIME_TRUNC('week', ?)", day + " 23:59:59") == monday + " 00:00:00"


def test_trunc_after_time_zone_conversion(q):
    # 02:00 UTC on New Year's Day is still the old year in New York.
    args = ("2024-01-01 02:00:00", NY, "UTC")
    assert q("DATETIME_TRUNC('year', ?, ?, ?)", *args) == "2023-01-01 00:00:00"
    assert q("DATE_TRUNC('month', ?, ?, ?)", *args) == "2023-12-01"
    assert q("DATETIME_TRUNC('hour', ?, ?, ?)", *args) == "2023-12-31 21:00:00"
    # Kathmandu is UTC+05:45: minute truncation sees the offset's minutes.
    assert q("DATETIME_TRUNC('minute', '2024-01-01 00:20:30', 'Asia/Kathmandu', 'UTC')") == (
        "2024-01-01 06:05:00"
    )


def test_time_trunc_of_time_values_ignores_zones(q):
    assert q("TIME_TRUNC('minute', '23:59:59.999999', ?, 'UTC')", NY) == "23:59:00"
    assert q("TIME_TRUNC('second', '07:08:09.5', NULL, NULL)") == "07:08:09"


@pytest.mark.parametrize(
    ("sql", "level"),
    [
        ("DATETIME_TRUNC(?, '2024-01-01 00:00:00')", "fortnight"),
        ("DATE_TRUNC(?, '2024-01-01')", "hour"),
        ("TIME_TRUNC(?, '10:00:00')", "day"),
        ("DATETIME_EXTRACT(?, '2024-01-01 00:00:00')", "century"),
        ("TIME_EXTRACT(?, '10:00:00')", "year"),
    ],
)
def test_unknown_lookup_types_fail_the_statement(q, sql, level):
    with pytest.raises(sqlite3.OperationalError):
        q(sql, level)


# --------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "week_day", "iso_week_day", "week", "iso_year", "quarter"),
    [
        ("2024-08-11", 1, 7, 32, 2024, 3),  # Sunday
        ("2024-08-12", 2, 1, 33, 2024, 3),  # Monday
        ("2024-08-17", 7, 6, 33, 2024, 3),  # Saturday
        ("2021-01-03", 1, 7, 53, 2020, 1),  # ISO week 53 of the previous year
        ("2024-12-30", 2, 1, 1, 2025, 4),  # ISO week 1 of the next year
        ("2026-12-31", 5, 4, 53, 2026, 4),  # a 53-week year
    ],
)
def test_calendar_parts(q, day, week_day, iso_week_day, week, iso_year, quarter):
    for value in (day, day + " 12:00:00"):
        assert q("DATE_EXTRACT('week_day', ?)", value) == week_day
        assert q("DATE_EXTRACT('iso_week_day', ?)", value) == iso_week_day
        assert q("DATE_EXTRACT('week', ?)", value) == week
        assert q("DATE_EXTRACT('iso_year', ?)", value) == iso_year
        assert q("DATE_EXTRACT('quarter', ?)", value) == quarter
        assert q("DATETIME_EXTRACT('week_day', ?, 'UTC', 'UTC')", value) == week_day
    assert q("DATE_EXTRACT('year', ?)", day) == int(day[:4])
    assert q("DATE_EXTRACT('month', ?)", day) == int(day[5:7])
    assert q("DATE_EXTRACT('day', ?)", day) == int(day[8:])


def test_iso_year_and_week_follow_the_time_zone(q):
    # Sunday 2021-01-03 23:30 in New York is Monday 2021-01-04 04:30 UTC: ISO 2021-W01.
    assert q("DATETIME_EXTRACT('iso_year', '2021-01-04 04:30:00', ?, 'UTC')", NY) == 2020
    assert q("DATETIME_EXTRACT('week', '2021-01-04 04:30:00', ?, 'UTC')", NY) == 53
    assert q("DATETIME_EXTRACT('iso_year', '2021-01-04 04:30:00', 'UTC', 'UTC')") == 2021
    assert q("DATETIME_EXTRACT('week', '2021-01-04 04:30:00', 'UTC', 'UTC')") == 1


def test_time_extract(q):
    for value in ("13:14:15.161718", "2024-01-01 13:14:15.161718"):
        assert q("TIME_EXTRACT('hour', ?)", value) == 13
        assert q("TIME_EXTRACT('minute', ?)", value) == 14
        assert q("TIME_EXTRACT('second', ?)", value) == 15
        assert q("TIME_EXTRACT('microsecond', ?)", value) == 161718
    assert q("TIME_EXTRACT('hour', '07:30')") == 7
    assert q("TIME_EXTRACT('second', '07:30')") == 0


def test_date_only_values_are_calendar_dates(q):
    # A date has no time zone: it is not shifted, and counts as midnight.
    assert q("DATETIME_CAST_DATE('2024-01-01', ?, 'UTC')", NY) == "2024-01-01"
    assert q("DATETIME_CAST_TIME('2024-01-01', ?, 'UTC')", NY) == "00:00:00"
    assert q("DATETIME_EXTRACT('hour', '2024-01-01', ?, 'UTC')", NY) == 0
    assert q("DATE_TRUNC('day', '2024-01-01', ?, 'UTC')", NY) == "2024-01-01"


def test_casts_keep_microseconds(q):
    assert q("DATETIME_CAST_TIME('2024-01-01 10:00:00.5', NULL, NULL)") == "10:00:00.500000"
    assert q("DATETIME_CAST_TIME('2024-01-01 10:00:00', NULL, NULL)") == "10:00:00"
    assert q("DATETIME_CAST_TIME('2024-01-01 10:00:00.25')") == "10:00:00.250000"
    assert q("DATETIME_CAST_DATE('2024-01-01 10:00:00')") == "2024-01-01"


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-29T10:20:30",
        "2024-02-29 10:20:30Z",
        "2024-02-29 10:20:30.000+00:00",
        "2024-02-29 10:20:30.000000000",  # more than six fractional digits
        "2024-2-29 10:20:30",  # one-digit fields
        " 2024-02-29 10:20:30 ",
        "2024-02-29 10:20:30 +00:00",
    ],
)
def test_lenient_datetime_forms(q, value):
    assert q("DATETIME_TRUNC('second', ?, 'UTC', 'UTC')", value) == "2024-02-29 10:20:30"
    assert q("DATETIME_EXTRACT('second', ?)", value) == 30


def test_fractional_digits_are_read_as_a_fraction(q):
    assert q("DATETIME_EXTRACT('microsecond', '2024-01-01 00:00:00.1')") == 100000
    assert q("DATETIME_EXTRACT('microsecond', '2024-01-01 00:00:00.123')") == 123000
    assert q("DATETIME_EXTRACT('microsecond', '2024-01-01 00:00:00.1234567')") == 123456
    assert q("TIME_EXTRACT('microsecond', '00:00:00.000001')") == 1


# --------------------------------------------------------------------------
# Differences and duration arithmetic
# --------------------------------------------------------------------------

HOUR = 3_600_000_000
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("lhs", "rhs", "expected"),
    [
        ("12:00:00", "10:30:00", 90 * 60_000_000),
        ("10:30:00", "12:00:00", -90 * 60_000_000),
        ("00:00:00.000001", "00:00:00", 1),
        ("23:59:59.999999", "00:00:00", DAY - 1),
        ("2024-01-01 12:00:00", "08:00:00", 4 * HOUR),
    ],
)
def test_time_diff(q, lhs, rhs, expected):
    assert q("TIME_DIFF(?, ?)", lhs, rhs) == expected


@pytest.mark.parametrize(
    ("lhs", "rhs", "expected"),
    [
        ("2024-03-01 00:00:00", "2024-02-28 00:00:00", 2 * DAY),  # leap year
        ("2024-01-01 00:00:00", "2024-01-01 00:00:00.000001", -1),
        ("2024-03-01", "2024-02-01", 29 * DAY),
        ("2024-01-02 06:00:00", "2024-01-01", DAY + 6 * HOUR),
        # Both with offsets: instants.
        ("2024-01-01 10:00:00+02:00", "2024-01-01 08:00:00+00:00", 0),
        # Only one with an offset: wall clocks.
        ("2024-01-01 10:00:00+02:00", "2024-01-01 08:00:00", 2 * HOUR),
    ],
)
def test_timestamp_diff(q, lhs, rhs, expected):
    assert q("TIMESTAMP_DIFF(?, ?)", lhs, rhs) == expected


@pytest.mark.parametrize(
    ("connector", "lhs", "rhs", "expected"),
    [
        ("+", "2024-01-01 10:00:00", HOUR, "2024-01-01 11:00:00"),
        ("+", HOUR, "2024-01-01 10:00:00", "2024-01-01 11:00:00"),
        ("-", "2024-03-01 00:00:00", DAY, "2024-02-29 00:00:00"),
        ("+", "2024-01-01 23:59:59.5", 500_000, "2024-01-02 00:00:00"),
        ("+", "2024-01-01 00:00:00", 1, "2024-01-01 00:00:00.000001"),
        ("+", "2024-01-01 10:00:00+02:00", HOUR, "2024-01-01 11:00:00+02:00"),
        (" + ", "2024-01-01 10:00:00", -HOUR, "2024-01-01 09:00:00"),
        # A date stays a date and moves by whole days, as in Django.
        ("+", "2024-02-28", DAY, "2024-02-29"),
        ("-", "2024-01-01", DAY, "2023-12-31"),
        ("-", "2024-01-10", 36 * HOUR, "2024-01-09"),
        ("+", "2024-01-10", 36 * HOUR, "2024-01-11"),
        ("+", "2024-01-10", -36 * HOUR, "2024-01-08"),
        # A time wraps around midnight.
        ("+", "23:30:00", HOUR, "00:30:00"),
        ("-", "00:15:00", HOUR, "23:15:00"),
        # Durations and differences are integer microseconds.
        ("+", HOUR, DAY, DAY + HOUR),
        ("-", "2024-01-02 00:00:00", "2024-01-01 00:00:00", DAY),
        ("-", "10:00:00", "09:00:00", HOUR),
        # Scaling.
        ("*", HOUR, 3, 3 * HOUR),
        ("*", HOUR, 1.5, 1.5 * HOUR),
        ("*", HOUR, "2", 2 * HOUR),  # a decimal bound as text
        ("/", DAY, 4, DAY / 4),
        ("/", DAY, 0, None),
        # Nonsense gives NULL.
        ("+", "2024-01-01 00:00:00", "2024-01-01 00:00:00", None),
        ("-", HOUR, "2024-01-01 00:00:00", None),
        ("+", "not a date", HOUR, None),
        ("*", "many", 2, None),
        ("+", "9999-12-31 23:00:00", DAY, None),
    ],
)
def test_format_dtdelta(q, connector, lhs, rhs, expected):
    assert q("FORMAT_DTDELTA(?, ?, ?)", connector, lhs, rhs) == expected


def test_format_dtdelta_rejects_unknown_connectors(q):
    with pytest.raises(sqlite3.OperationalError):
        q("FORMAT_DTDELTA('%', 10, 3)")


# --------------------------------------------------------------------------
# NULL and invalid input
# --------------------------------------------------------------------------

TEMPORAL_CALLS = [
    "DATE_EXTRACT('year', ?)",
    "DATE_TRUNC('month', ?, 'UTC', 'UTC')",
    "DATE_TRUNC('month', ?)",
    "DATETIME_CAST_DATE(?, 'UTC', 'UTC')",
    "DATETIME_CAST_DATE(?)",
    "DATETIME_CAST_TIME(?, 'UTC', 'UTC')",
    "DATETIME_CAST_TIME(?)",
    "DATETIME_EXTRACT('week_day', ?, 'UTC', 'UTC')",
    "DATETIME_EXTRACT('hour', ?)",
    "DATETIME_TRUNC('hour', ?, 'UTC', 'UTC')",
    "DATETIME_TRUNC('day', ?)",
    "TIME_EXTRACT('minute', ?)",
    "TIME_TRUNC('minute', ?, 'UTC', 'UTC')",
    "TIME_TRUNC('minute', ?)",
    "TIME_DIFF(?, '10:00:00')",
    "TIME_DIFF('10:00:00', ?)",
    "TIMESTAMP_DIFF(?, '2024-01-01')",
    "TIMESTAMP_DIFF('2024-01-01', ?)",
    "FORMAT_DTDELTA('+', ?, 1)",
    "FORMAT_DTDELTA('-', '2024-01-01', ?)",
    "FORMAT_DTDELTA('*', ?, 2)",
]

INVALID_VALUES = [
    "not a date",
    "2024-13-01",
    "2024-02-30 10:00:00",
    "2024-01-01 25:00:00",
    "25:61:00",
    "",
    b"2024-01-01",
    3.5,
]


@pytest.mark.parametrize("call", TEMPORAL_CALLS)
def test_temporal_null_in_null_out(q, call):
    assert q(call, None) is None


@pytest.mark.parametrize(
    ("call", "value"),
    [
        (call, value)
        for call in TEMPORAL_CALLS
        for value in INVALID_VALUES
        # A float is a valid duration operand.
        if not (call.startswith("FORMAT_DTDELTA") and isinstance(value, float))
    ],
    ids=repr,
)
def test_temporal_invalid_input_gives_null(q, call, value):
    assert q(call, value) is None


def test_null_lookup_or_connector_gives_null(q):
    assert q("DATETIME_TRUNC(NULL, '2024-01-01 00:00:00', 'UTC', 'UTC')") is None
    assert q("DATETIME_EXTRACT(NULL, '2024-01-01 00:00:00', 'UTC', 'UTC')") is None
    assert q("TIME_EXTRACT(NULL, '10:00:00')") is None
    assert q("FORMAT_DTDELTA(NULL, 1, 2)") is None


# --------------------------------------------------------------------------
# REGEXP
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("Hello world", "wor", 1),
        ("Hello world", "^wor", 0),
        ("Hello world", "WORLD", 0),
        ("Hello world", "(?i)WORLD", 1),
        ("ÉCOLE", "école", 0),
        ("ÉCOLE", "(?i)école", 1),
        ("ΟΔΥΣΣΕΥΣ", "(?i)^οδυσσευς$", 1),  # final sigma folds too
        ("Москва", "(?i)^МОСКВА$", 1),
        ("a.b", r"a\.b", 1),
        ("axb", r"a\.b", 0),
        (12345, r"^\d+$", 1),
        (1.5, r"^1\.5$", 1),
        ("", "^$", 1),
        (None, "x", None),
        ("x", None, None),
    ],
)
def test_regexp(q, value, pattern, expected):
    assert q("? REGEXP ?", value, pattern) == expected
    assert q("REGEXP(?, ?)", pattern, value) == expected


def test_regexp_as_django_writes_iregex(conn):
    conn.execute("CREATE TABLE t (name TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("Zoë",), ("ZOË",), ("zoe",), (None,)])
    rows = conn.execute("SELECT name FROM t WHERE name REGEXP '(?i)' || ? ORDER BY name", ("^zoë$",))
    assert [r[0] for r in rows] == ["ZOË", "Zoë"]
    rows = conn.execute("SELECT name FROM t WHERE name REGEXP ? ORDER BY name", ("^Zo",))
    assert [r[0] for r in rows] == ["Zoë"]


def test_invalid_regexp_fails_the_statement(q):
    with pytest.raises(sqlite3.OperationalError):
        q("'x' REGEXP '('")


# --------------------------------------------------------------------------
# Unicode case
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("ÉCOLE", "école", 1),
        ("École Normale", "%NORMALE", 1),
        ("ÉCOLE", "ecole", 0),  # accents are not case
        ("Straße", "STRAßE", 1),
        ("Straße", "STRAẞE", 1),  # capital sharp s
        ("Straße", "stra_e", 1),  # '_' is one character: ß stays one character
        ("Straße", "STRASSE", 0),  # no ß = ss expansion
        ("ΟΔΥΣΣΕΥΣ", "οδυσσευς", 1),  # Σ, σ and final ς are one letter
        ("Οδυσσεύς", "ΟΔΥΣΣΕΎΣ", 1),
        ("ΟΔΟΣΤ", "οδος%", 1),  # the pattern's final ς still matches a medial Σ
        ("Привет, мир", "привет%", 1),
        ("Ёлка", "ёЛКА", 1),
        ("class", "%ß%", 0),  # ß is not ss
        ("İstanbul", "istanbul", 0),  # dotted capital I is not i (no Turkish rules)
        ("ǅemal", "ǆEMAL", 1),  # title case digraph
        ("100% sure", r"100\%%", 1),
        ("100 sure", r"100\%%", 0),
        ("A_B", r"a\_b", 1),
        ("AxB", r"a\_b", 0),
        ("back\\slash", r"%\\%", 1),
    ],
)
def test_case_insensitive_like_with_casefold(q, value, pattern, expected):
    assert q(r"CASEFOLD(?) LIKE CASEFOLD(?) ESCAPE '\'", value, pattern) == expected


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("É", "é", 0),
        ("é", "é", 1),
        ("A", "a", 0),
        ("école", "É%", 0),
        ("ΣΟΦΙΑ", "σοφια", 0),
    ],
)
def test_like_is_case_sensitive(q, value, pattern, expected):
    assert q(r"? LIKE ? ESCAPE '\'", value, pattern) == expected


@functools.cache
def sqlite_case_sensitive_like():
    """SQLite's own LIKE with PRAGMA case_sensitive_like: what PhantomDB's LIKE must answer."""
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA case_sensitive_like = ON")
    return conn


LIKE_TEXT = st.text(alphabet="aAbé%_\\\n", max_size=8)


@given(value=LIKE_TEXT, pattern=LIKE_TEXT)
@settings(max_examples=500, deadline=None)
def test_like_matches_what_sqlites_case_sensitive_like_matches(value, pattern):
    for sql in (r"SELECT ? LIKE ? ESCAPE '\'", "SELECT ? LIKE ?"):
        expected = sqlite_case_sensitive_like().execute(sql, (value, pattern)).fetchone()[0]
        assert shared_connection().execute(sql, (value, pattern)).fetchone()[0] == expected, sql


def test_like_of_null_or_a_null_escape_is_null(q):
    assert q("NULL LIKE 'a'") is None
    assert q("'a' LIKE NULL") is None
    assert q("'a' LIKE 'a' ESCAPE NULL") is None


def test_like_with_a_long_escape_fails_the_statement(conn):
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("SELECT 'a' LIKE 'a' ESCAPE 'xy'")


def test_like_may_be_used_where_sqlite_requires_deterministic_functions(conn):
    conn.execute(
        "CREATE TABLE post (title TEXT CHECK (title NOT LIKE '%spam%'),"
        " draft INTEGER GENERATED ALWAYS AS (title LIKE 'Draft:%') STORED)"
    )
    conn.execute("CREATE INDEX post_drafts ON post (title) WHERE title LIKE 'Draft:%'")
    conn.execute("CREATE INDEX post_prefix ON post ((title LIKE 'a%'))")
    conn.execute("INSERT INTO post (title) VALUES ('Draft: one'), ('draft: two')")
    assert conn.execute("SELECT title, draft FROM post ORDER BY title").fetchall() == [
        ("Draft: one", 1),
        ("draft: two", 0),
    ]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO post (title) VALUES ('buy spam')")


@pytest.mark.parametrize(
    ("value", "folded"),
    [
        ("ÉCOLE", "école"),
        ("Straße", "straße"),
        ("STRAẞE", "straße"),
        ("ﬁne", "ﬁne"),  # ligatures stay single characters
        ("İ", "İ"),
        ("ΣΊΣΥΦΟΣ", "σίσυφοσ"),
        ("σίσυφος", "σίσυφοσ"),
        ("ᾈ", "ᾀ"),  # iota subscript: the simple folding
        ("ПРИВЕТ", "привет"),
        ("Ꭰ", "Ꭰ"),  # Cherokee folds to its capitals
        ("ꭰ", "Ꭰ"),
        ("ſ", "s"),  # long s
        ("µ", "μ"),  # micro sign is Greek mu
        ("", ""),
    ],
)
def test_casefold_values(q, value, folded):
    assert q("CASEFOLD(?)", value) == folded


@pytest.mark.parametrize("function", ["CASEFOLD", "UNICODE_LOWER", "UNICODE_UPPER", "LOWER", "UPPER"])
@pytest.mark.parametrize("value", ["NULL", "42", "-7", "1.5", "1e20", "0.1", "X'C3A9'"])
def test_case_functions_of_non_text_work_on_sqlites_text_form(q, function, value):
    # SQLite's own LOWER reads a number or a BLOB as CAST(x AS TEXT): the i-lookups
    # of Django's sqlite3 backend on integers, floats and dates depend on it.
    text_form = q(f"CAST({value} AS TEXT)")
    expected = None if text_form is None else text_form.upper() if "UPPER" in function else text_form.lower()
    assert q(f"{function}({value})") == expected


def test_casefold_makes_a_number_equal_to_its_text(q):
    assert q("CASEFOLD(1) = CASEFOLD('1')") == 1
    assert q("CASEFOLD(2.5) LIKE '2.5'") == 1


def test_unicode_lower_and_upper(q):
    assert q("UNICODE_LOWER('ÉCOLE Ünd ΟΔΟΣ')") == "école ünd οδος"  # final sigma in context
    assert q("UNICODE_UPPER('straße')") == "STRASSE"
    assert q("UNICODE_UPPER('ﬁne')") == "FINE"
    assert q("UNICODE_UPPER('привет')") == "ПРИВЕТ"
    # PhantomDB's LOWER/UPPER are these, not SQLite's ASCII-only ones.
    assert q("LOWER('ÉCOLE')") == "école"


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_casefold_is_length_preserving_and_idempotent(value):
    folded = text_functions.casefold(value)
    assert len(folded) == len(value)
    assert text_functions.casefold(folded) == folded
    assert text_functions.casefold(value.upper()) == folded or len(value.upper()) != len(value)
    assert one("CASEFOLD(?)", value) == folded


def test_functions_are_deterministic_where_registered_so(conn):
    conn.execute("CREATE TABLE people (name TEXT, born TEXT)")
    conn.execute("CREATE INDEX people_name_ci ON people (CASEFOLD(name))")
    conn.execute("CREATE INDEX people_born_year ON people (DATETIME_TRUNC('year', born, 'UTC', 'UTC'))")
    conn.execute("INSERT INTO people VALUES ('Ærøskøbing', '2001-02-03 04:05:06')")
    row = conn.execute("SELECT name FROM people WHERE CASEFOLD(name) = CASEFOLD('ÆRØSKØBING')").fetchone()
    assert row == ("Ærøskøbing",)
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("CREATE INDEX people_random ON people (RAND())")


# --------------------------------------------------------------------------
# Padding, repetition, reversal
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("LPAD('hi', 5, 'xy')", "xyxhi"),
        ("RPAD('hi', 5, 'xy')", "hixyx"),
        ("LPAD('hello', 3, '*')", "hel"),
        ("RPAD('hello', 3, '*')", "hel"),
        ("LPAD('hello', 5, '*')", "hello"),
        ("LPAD('7', 3, '0')", "007"),
        ("LPAD(7, 3, 0)", "007"),
        ("LPAD('hi', 5, '')", "hi"),
        ("RPAD('hi', 5, '')", "hi"),
        ("LPAD('hi', 0, '*')", ""),
        ("RPAD('hi', -1, '*')", ""),
        ("LPAD('été', 5, 'ß')", "ßßété"),
        ("RPAD('été', 4, '…')", "été…"),
        ("LPAD(NULL, 5, '*')", None),
        ("LPAD('x', NULL, '*')", None),
        ("RPAD('x', 5, NULL)", None),
        ("REPEAT('ab', 3)", "ababab"),
        ("REPEAT('é', 2)", "éé"),
        ("REPEAT('ab', 0)", ""),
        ("REPEAT('ab', -2)", ""),
        ("REPEAT(NULL, 2)", None),
        ("REPEAT('ab', NULL)", None),
        ("REVERSE('Straße')", "eßartS"),
        ("REVERSE(123)", "321"),
        ("REVERSE('')", ""),
        ("REVERSE(NULL)", None),
    ],
)
def test_text_helpers(q, call, expected):
    assert q(call) == expected


def test_oversized_results_are_refused_before_building_them(q):
    with pytest.raises(sqlite3.DataError):
        q("REPEAT('abc', 1000000000)")
    with pytest.raises(sqlite3.DataError):
        q("LPAD('x', 2000000000, 'y')")


@given(
    st.text(max_size=8),
    st.integers(min_value=-3, max_value=20),
    st.text(min_size=1, max_size=3),
)
@settings(max_examples=200, deadline=None)
def test_padding_matches_its_definition(value, length, fill):
    left = one("LPAD(?, ?, ?)", value, length, fill)
    right = one("RPAD(?, ?, ?)", value, length, fill)
    size = max(length, 0)
    assert len(left) == len(right) == size
    if len(value) >= size:
        assert left == right == value[:size]
    else:
        assert left.endswith(value) and right.startswith(value)
        assert left[: size - len(value)] == (fill * size)[: size - len(value)]
        assert right[len(value) :] == (fill * size)[: size - len(value)]


# --------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
def test_hashes(q, algorithm):
    function = algorithm.upper()
    for value in ("", "abc", "Ærøskøbing ☃ 😀"):
        assert q(f"{function}(?)", value) == hashlib.new(algorithm, value.encode()).hexdigest()
    assert q(f"{function}(X'00FF')") == hashlib.new(algorithm, b"\x00\xff").hexdigest()
    assert q(f"{function}(42)") == hashlib.new(algorithm, b"42").hexdigest()
    assert q(f"{function}(NULL)") is None


def test_known_digests(q):
    assert q("MD5('abc')") == "900150983cd24fb0d6963f7d28e17f72"
    assert q("SHA1('abc')") == "a9993e364706816aba3e25717850c26c9cd0d89d"


# --------------------------------------------------------------------------
# Math
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("ACOS(1)", 0.0),
        ("ASIN(0)", 0.0),
        ("ATAN(0)", 0.0),
        ("ATAN2(1, 1)", math.pi / 4),
        ("CEILING(1.2)", 2.0),
        ("CEILING(-1.2)", -1.0),
        ("COS(0)", 1.0),
        ("COT(1)", 1 / math.tan(1)),
        ("DEGREES(PI())", 180.0),
        ("EXP(0)", 1.0),
        ("FLOOR(-1.5)", -2.0),
        ("LN(1)", 0.0),
        ("LOG(2, 8)", 3.0),
        ("LOG(100)", 2.0),
        ("MOD(7, 3)", 1.0),
        ("MOD(-7, 3)", -1.0),
        ("PI()", math.pi),
        ("POWER(2, 10)", 1024.0),
        ("RADIANS(180)", math.pi),
        ("SIGN(-2.5)", -1),
        ("SIGN(0)", 0),
        ("SIGN(3)", 1),
        ("SIN(0)", 0.0),
        ("SQRT(16)", 4.0),
        ("TAN(0)", 0.0),
        ("SQRT(-1)", None),
        ("LN(0)", None),
        ("ACOS(2)", None),
        ("MOD(5, 0)", None),
        ("COT(0)", None),
        ("SQRT(NULL)", None),
        ("COT(NULL)", None),
        ("SIGN('abc')", None),
        ("BITXOR(5, 3)", 6),
        ("BITXOR(-1, 0)", -1),
        ("BITXOR(NULL, 3)", None),
    ],
)
def test_math(q, call, expected):
    result = q(call)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected, abs=1e-12)


def test_math_is_registered_only_where_sqlite_lacks_it(conn):
    math_compiled = conn.execute("SELECT sqlite_compileoption_used('ENABLE_MATH_FUNCTIONS')").fetchone()[0]
    missing = missing_builtins()
    assert ("COT", 1) in missing  # SQLite never has COT
    if math_compiled:
        assert ("SQRT", 1) not in missing
        assert ("LOG", 2) not in missing


MATH_ARGUMENTS = [
    None,
    0,
    -0.0,
    1,
    -1,
    2,
    -2.5,
    0.5,
    3.75,
    10,
    100,
    1e300,
    -1e300,
    math.inf,
    -math.inf,
    "4",
    "2.5",
    " 16 ",
    "1e3",
    ".5",
    "-3.",
    "abc",
    "4abc",
    "1_000",
    "inf",
    "0x10",
    "",
    b"4",
]


@pytest.mark.parametrize(
    ("name", "arity", "function"),
    [entry for entry in numeric_functions.MATH_FUNCTIONS if entry[0] != "COT"],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_math_fallbacks_agree_with_sqlite_builtins(conn, name, arity, function):
    """Where SQLite has the built-in, the Python fallback must give the same answers."""
    if (name, arity) in missing_builtins():
        pytest.skip(f"this SQLite has no built-in {name}/{arity} to compare with")
    conn.create_function(f"PY_{name}", arity, function, deterministic=True)
    if arity == 0:
        argument_lists = [()]
    elif arity == 1:
        argument_lists = [(a,) for a in MATH_ARGUMENTS]
    else:
        argument_lists = [(a, b) for a in MATH_ARGUMENTS for b in MATH_ARGUMENTS]
    marks = ", ".join(["?"] * arity)
    for arguments in argument_lists:
        second = arguments[-1] if arguments else None
        if (
            name == "LOG"
            and arity == 2
            and isinstance(second, str | bytes)
            and (numeric_functions.to_number(second) is None)
        ):
            continue  # SQLite reads LOG's second argument by its numeric prefix ('4abc' is 4): a quirk
        builtin, fallback = conn.execute(
            f"SELECT {name}({marks}), PY_{name}({marks})", arguments * 2
        ).fetchone()
        if builtin is None or fallback is None:
            assert builtin is fallback, (name, arguments, builtin, fallback)
        elif isinstance(builtin, float) and math.isnan(builtin):
            assert math.isnan(fallback), (name, arguments)
        else:
            assert fallback == pytest.approx(builtin, rel=1e-12, abs=1e-300), (name, arguments)
            assert type(fallback) is type(builtin), (name, arguments, builtin, fallback)


def test_rand(q, conn):
    values = [q("RAND()") for _ in range(20)]
    assert all(0.0 <= value < 1.0 for value in values)
    assert len(set(values)) > 1


# --------------------------------------------------------------------------
# Statistical aggregates
# --------------------------------------------------------------------------

ALL_FOUR = "SELECT STDDEV_POP(x), STDDEV_SAMP(x), VAR_POP(x), VAR_SAMP(x) FROM v"
SAMPLES = [[2, 4, 4, 4, 5, 5, 7, 9], [1.5, 2.5], [10**12, 10**12 + 1, 10**12 + 2], [-3.25, 0, 8, 1e-3, 42]]


@pytest.mark.parametrize("sample", SAMPLES)
def test_statistical_aggregates(conn, sample):
    conn.execute("CREATE TABLE v (x)")
    conn.executemany("INSERT INTO v VALUES (?)", [(x,) for x in [*sample, None]])
    row = conn.execute(ALL_FOUR).fetchone()
    expected = (
        statistics.pstdev(sample),
        statistics.stdev(sample),
        statistics.pvariance(sample),
        statistics.variance(sample),
    )
    assert row == pytest.approx(expected, rel=1e-9)


def test_statistical_aggregates_on_too_few_rows(conn):
    conn.execute("CREATE TABLE v (x)")
    assert conn.execute(ALL_FOUR).fetchone() == (None, None, None, None)
    conn.execute("INSERT INTO v VALUES (5), (NULL)")
    assert conn.execute(ALL_FOUR).fetchone() == (0.0, None, 0.0, None)


def test_statistical_aggregates_as_window_functions(conn):
    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    conn.execute("CREATE TABLE v (i INTEGER, x)")
    conn.executemany("INSERT INTO v VALUES (?, ?)", list(enumerate(values)))
    rows = conn.execute(
        "SELECT i, VAR_SAMP(x) OVER w, STDDEV_POP(x) OVER w FROM v "
        "WINDOW w AS (ORDER BY i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) ORDER BY i"
    ).fetchall()
    for i, var_samp, stddev_pop in rows:
        frame = values[max(0, i - 2) : i + 1]
        if len(frame) < 2:
            assert var_samp is None
        else:
            assert var_samp == pytest.approx(statistics.variance(frame), abs=1e-9)
        assert stddev_pop == pytest.approx(statistics.pstdev(frame), abs=1e-9)


def test_group_by_with_aggregates(conn):
    conn.execute("CREATE TABLE v (g TEXT, x REAL)")
    conn.executemany("INSERT INTO v VALUES (?, ?)", [("a", 1), ("a", 3), ("b", 10), ("b", 10), ("b", 40)])
    rows = conn.execute("SELECT g, VAR_POP(x) FROM v GROUP BY g ORDER BY g").fetchall()
    assert rows == [("a", pytest.approx(1.0)), ("b", pytest.approx(statistics.pvariance([10, 10, 40])))]


def test_any_value_and_bitwise_aggregates_skip_null(conn):
    conn.execute("CREATE TABLE v (g INTEGER, x)")
    rows = [(1, None), (1, 12), (1, 10), (1, 7), (2, None), (3, "6"), (3, 3.9)]
    conn.executemany("INSERT INTO v VALUES (?, ?)", rows)
    result = conn.execute(
        "SELECT g, ANY_VALUE(x), BIT_AND(x), BIT_OR(x), BIT_XOR(x) FROM v GROUP BY g ORDER BY g"
    ).fetchall()
    assert result == [
        (1, 12, 12 & 10 & 7, 12 | 10 | 7, 12 ^ 10 ^ 7),
        (2, None, None, None, None),
        (3, "6", 6 & 3, 6 | 3, 6 ^ 3),  # as BITXOR reads them: '6' is 6, 3.9 is 3
    ]
    empty = conn.execute("SELECT ANY_VALUE(x), BIT_AND(x), BIT_OR(x), BIT_XOR(x) FROM v WHERE 0").fetchone()
    assert empty == (None, None, None, None)


# --------------------------------------------------------------------------
# Properties: DATETIME_TRUNC / DATETIME_EXTRACT against Python datetime arithmetic
# --------------------------------------------------------------------------

ZONES = [
    "UTC",
    NY,
    "Europe/Paris",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Apia",
]
LEVELS = ["year", "quarter", "month", "week", "day", "hour", "minute", "second"]


def python_trunc(moment: datetime, level: str) -> datetime:
    if level == "year":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if level == "quarter":
        return python_trunc(moment, "month").replace(month=(moment.month - 1) // 3 * 3 + 1)
    if level == "month":
        return python_trunc(moment, "day").replace(day=1)
    if level == "week":
        return python_trunc(moment, "day") - timedelta(days=moment.weekday())
    if level == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if level == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    if level == "minute":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


stored_moments = st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2099, 12, 31))


@given(stored_moments, st.sampled_from(ZONES), st.sampled_from(LEVELS))
@settings(max_examples=400, deadline=None)
def test_trunc_matches_python(stored, zone, level):
    local = stored.replace(tzinfo=UTC).astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)
    text = stored.isoformat(" ")
    expected = python_trunc(local, level)
    assert one("DATETIME_TRUNC(?, ?, ?, 'UTC')", level, text, zone) == str(expected)
    if level in ("year", "quarter", "month", "week", "day"):
        assert one("DATE_TRUNC(?, ?, ?, 'UTC')", level, text, zone) == str(expected.date())
    else:
        assert one("TIME_TRUNC(?, ?, ?, 'UTC')", level, text, zone) == str(expected.time())


@given(stored_moments, st.sampled_from(ZONES))
@settings(max_examples=300, deadline=None)
def test_extract_matches_python(stored, zone):
    local = stored.replace(tzinfo=UTC).astimezone(zoneinfo.ZoneInfo(zone))
    iso = local.isocalendar()
    expected = {
        "year": local.year,
        "quarter": (local.month - 1) // 3 + 1,
        "month": local.month,
        "day": local.day,
        "hour": local.hour,
        "minute": local.minute,
        "second": local.second,
        "microsecond": local.microsecond,
        "week": iso.week,
        "iso_year": iso.year,
        "iso_week_day": iso.weekday,
        "week_day": local.isoweekday() % 7 + 1,
    }
    text = stored.isoformat(" ")
    for lookup, value in expected.items():
        assert one("DATETIME_EXTRACT(?, ?, ?, 'UTC')", lookup, text, zone) == value, lookup
    assert one("DATETIME_CAST_DATE(?, ?, 'UTC')", text, zone) == local.date().isoformat()
    assert one("DATETIME_CAST_TIME(?, ?, 'UTC')", text, zone) == local.time().isoformat()


@given(stored_moments, st.integers(min_value=-(10**15), max_value=10**15))
@settings(max_examples=200, deadline=None)
def test_duration_arithmetic_matches_python(stored, microseconds):
    text = stored.isoformat(" ")
    shifted = stored + timedelta(microseconds=microseconds)
    assert one("FORMAT_DTDELTA('+', ?, ?)", text, microseconds) == str(shifted)
    assert one("TIMESTAMP_DIFF(?, ?)", str(shifted), text) == microseconds


def test_lower_and_upper_are_right_for_all_of_unicode(conn: sqlite3.Connection) -> None:
    assert conn.execute("SELECT LOWER('ÉCOLE Ζ ДОМ'), UPPER('straße école')").fetchone() == (
        "école ζ дом",
        "STRASSE ÉCOLE",
    )
    assert conn.execute("SELECT LOWER(NULL), UPPER(NULL)").fetchone() == (None, None)
