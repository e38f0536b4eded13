"""PhantomDBCursor: Django's cursor, running each statement's Call on the connection.

A statement the compiler translated arrives as ``TranslatedSQL`` carrying its
Call; anything else (raw SQL, DDL, ``connection.cursor()``) becomes a raw
query Call here. Either way the cursor hands the Call and the statement's
parameters to the connection's ``execute``, which runs the executor chain.

An ``execute_wrapper`` that only appends a comment to a translated statement
(OpenTelemetry's and Google's sqlcommenter do) leaves the statement what it
was: the cursor recognises it and keeps its Call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from phantomdb.calls import Call, streamed
from phantomdb.dbapi import Connection, Cursor

from .calls import raw_batch, raw_statement, to_qmark

# One trailing /* ... */ comment (no comment end inside it), then nothing but blanks.
_TRAILING_COMMENT = re.compile(r"\s*/\*(?:[^*]|\*(?!/))*\*/\s*")


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
        else:
            values = params  # type: ignore[assignment]  # the compiler's statements take a sequence
        self._store(self.connection.execute(streamed(call) if self.stream else call, values))
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
