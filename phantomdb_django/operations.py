"""SQL snippets and value conversion for the PhantomDB dialect.

The dialect is SQLite's plus the PhantomDB function library, so the sqlite3
backend's operations apply once its ``django_*`` function calls are renamed
to their PhantomDB names (``django_date_extract`` -> ``DATE_EXTRACT``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db.backends.sqlite3 import operations as sqlite3_operations

_SQLITE3 = sqlite3_operations.DatabaseOperations
_DJANGO_PREFIX = "django_"


def _phantomdb_function(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a sqlite3 method whose SQL starts with a ``django_*`` call."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        if isinstance(result, tuple):
            sql, params = result
            return sql.removeprefix(_DJANGO_PREFIX), params
        return result.removeprefix(_DJANGO_PREFIX)

    return wrapper


def quote_value(value: Any) -> str:
    """Render a value as an SQL literal, for display in logs and debug output only."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "X'%s'" % bytes(value).hex()
    return "'%s'" % str(value).replace("'", "''")


class DatabaseOperations(_SQLITE3):
    compiler_module = "phantomdb_django.compiler"
    # CAST(x AS json) would take SQLite's NUMERIC affinity; JSON is text.
    cast_data_types = {**_SQLITE3.cast_data_types, "JSONField": "text"}

    date_extract_sql = _phantomdb_function(_SQLITE3.date_extract_sql)
    date_trunc_sql = _phantomdb_function(_SQLITE3.date_trunc_sql)
    time_trunc_sql = _phantomdb_function(_SQLITE3.time_trunc_sql)
    datetime_cast_date_sql = _phantomdb_function(_SQLITE3.datetime_cast_date_sql)
    datetime_cast_time_sql = _phantomdb_function(_SQLITE3.datetime_cast_time_sql)
    datetime_extract_sql = _phantomdb_function(_SQLITE3.datetime_extract_sql)
    datetime_trunc_sql = _phantomdb_function(_SQLITE3.datetime_trunc_sql)
    time_extract_sql = _phantomdb_function(_SQLITE3.time_extract_sql)
    combine_duration_expression = _phantomdb_function(_SQLITE3.combine_duration_expression)
    subtract_temporals = _phantomdb_function(_SQLITE3.subtract_temporals)

    def lookup_cast(self, lookup_type: str, internal_type: str | None = None) -> str:
        # LIKE is case-sensitive in PhantomDB; case-insensitive lookups fold both sides.
        if lookup_type in ("iexact", "icontains", "istartswith", "iendswith"):
            return "CASEFOLD(%s)"
        return "%s"

    def prep_for_iexact_query(self, x: str) -> str:
        # iexact compares folded values with "=", so its value is not a LIKE pattern.
        return x

    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        # The sqlite3 backend asks the database to quote; here that would be a
        # REST round trip per logged query, so values are quoted locally.
        if not params:
            return sql
        if isinstance(params, dict):
            return sql % {name: quote_value(value) for name, value in params.items()}
        return sql % tuple(quote_value(value) for value in params)
