"""PhantomDBCursor: Django's cursor, running each statement's Call on the connection.

A statement the compiler translated arrives as ``TranslatedSQL`` carrying its
Call; anything else (raw SQL, DDL, ``connection.cursor()``) becomes a raw
query Call here. Either way the cursor hands the Call and the statement's
parameters to the connection's ``execute``, which runs the executor chain.

Rows of raw SQL come back typed as on Django's sqlite3 backend, whose
connection converts values by their column's declared type
(``detect_types=PARSE_DECLTYPES`` and the converters its base module
registers): the server reports the declared types, and ``typed`` applies the
same converters here. The ORM's statements are left as they are: Django's
``get_db_converters`` convert them, as on every backend.

An ``execute_wrapper`` that only appends a comment to a translated statement
(OpenTelemetry's and Google's sqlcommenter do) leaves the statement what it
was: the cursor recognises it and keeps its Call.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db.backends.sqlite3.base import decoder
from django.utils.dateparse import parse_date, parse_datetime, parse_time

from phantomdb.calls import Call, streamed
from phantomdb.client import Result
from phantomdb.dbapi import Connection, Cursor

from .calls import raw_batch, raw_statement, to_qmark

# One trailing /* ... */ comment (no comment end inside it), then nothing but blanks.
_TRAILING_COMMENT = re.compile(r"\s*/\*(?:[^*]|\*(?!/))*\*/\s*")

# Django's sqlite3 backend's converters (django/db/backends/sqlite3/base.py), by
# the upper-cased first word of a declared type as sqlite3 looks them up; plus
# BOOLEAN, PhantomDB's name of the type that sqlite3's backend declares BOOL.
# No DECIMAL: there a decimal column reads back as the stored int or float.
CONVERTERS: dict[str, Callable[[bytes], Any]] = {
    "BOOL": b"1".__eq__,
    "BOOLEAN": b"1".__eq__,
    "DATE": decoder(parse_date),
    "TIME": decoder(parse_time),
    "DATETIME": decoder(parse_datetime),
    "TIMESTAMP": decoder(parse_datetime),
}


def _type_name(declared: str) -> str:
    """sqlite3's converter key of a declared type: its first word, before any '(', upper case."""
    return declared.partition(" ")[0].partition("(")[0].upper()


def _stored_bytes(value: Any) -> bytes:
    """What sqlite3 hands a converter: the value's bytes (text as UTF-8, numbers as text)."""
    if type(value) is str:
        return value.encode()
    if type(value) is bytes:
        return value
    return str(value).encode()


def typed(result: Result) -> Result:
    """``result`` with each non-NULL value converted by its column's declared type.

    A streamed result (a chunked cursor's) is passed on as it is: its rows are still to come.
    """
    converters = [
        (index, converter)
        for index, declared in enumerate(result.decltypes)
        if declared and (converter := CONVERTERS.get(_type_name(declared)))
    ]
    if not converters or not result.rows:
        return result
    rows = []
    for row in result.rows:
        values = list(row)
        for index, converter in converters:
            value = values[index]
            if value is not None:
                values[index] = converter(_stored_bytes(value))
        rows.append(tuple(values))
    return dataclasses.replace(result, rows=tuple(rows))


class PhantomDBCursor(Cursor):
    """A PEP 249 cursor that speaks Django's ``%s`` and ``%(name)s`` paramstyles."""

    def __init__(self, connection: Connection, wrapper: Any, *, stream: bool = False):
        super().__init__(connection, stream=stream)
        self.wrapper = wrapper

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> PhantomDBCursor:
        self._check_open()
        self._reset()
        call = getattr(sql, "call", None) or self.commented_call(sql)
        if call is None:
            call, values = raw_statement(sql, params)
            result = typed(self.connection.execute(streamed(call) if self.stream else call, values))
        else:  # the compiler's statements take a sequence
            result = self.connection.execute(streamed(call) if self.stream else call, params)  # type: ignore[arg-type]
        self._store(result)
        return self

    def commented_call(self, sql: str) -> Call | None:
        """The Call of the last translated statement when ``sql`` is it plus a trailing comment."""
        translated = self.wrapper.last_translated
        if translated is None or not sql.startswith(translated):
            return None
        return translated.call if _TRAILING_COMMENT.fullmatch(sql, len(translated)) else None

    def executemany(self, sql: str, param_list: Iterable[Sequence[Any]]) -> PhantomDBCursor:
        self._check_open()
        self._reset()
        batch = [raw_statement(sql, params) for params in param_list]
        query = batch[0][0].query if batch else to_qmark(sql)
        result = self.connection.execute(raw_batch(sql, query), [values or () for _, values in batch])
        self.rowcount = result.rowcount
        self.lastrowid = result.lastrowid
        return self
