"""The Call: one ORM statement as the PhantomDB REST API will receive it.

The compiler decides once what a statement is (which REST call, which tables
it reads and writes); the cache, telemetry and transport only read the Call.
A Call holds the statement's shape, never its parameter values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SELECT = "select"
INSERT = "insert"
UPDATE = "update"
DELETE = "delete"
QUERY = "query"

_FORMAT_PLACEHOLDER = re.compile(r"(?<!%)%s")
_FIRST_WORD = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z]+)", re.DOTALL)


@functools.lru_cache(maxsize=4096)
def to_qmark(sql: str) -> str:
    """Django writes ``%s`` placeholders (``%%`` for a literal percent); PhantomDB takes ``?``."""
    return _FORMAT_PLACEHOLDER.sub("?", sql).replace("%%", "%")


_PYFORMAT_PLACEHOLDER = re.compile(r"(?<!%)%\((\w+)\)s")


def bind(sql: str, params: Sequence[Any] | Mapping[str, Any] | None) -> tuple[str, Sequence[Any]]:
    """SQL and parameters as PhantomDB takes them, from any of Django's styles.

    As in the sqlite3 backend, SQL without parameters (None) is sent as
    written, ``%%`` included; ``%(name)s`` (pyformat) becomes ``?`` in order.
    """
    if params is None:
        return sql, ()
    if isinstance(params, Mapping):
        names = _PYFORMAT_PLACEHOLDER.findall(sql)
        return _PYFORMAT_PLACEHOLDER.sub("?", sql).replace("%%", "%"), [params[name] for name in names]
    return to_qmark(sql), params


def count_placeholders(sql: str) -> int:
    return len(_FORMAT_PLACEHOLDER.findall(sql))


@dataclass(frozen=True, slots=True)
class Assignment:
    """One ``SET column = ...`` of an update: a plain value or an SQL expression."""

    column: str
    expression: str | None  # None: the value is the next parameter
    param_count: int


@dataclass(frozen=True, slots=True)
class Call:
    """One translated call: a table call (select/insert/update/delete) or a query.

    ``sql`` is the statement as Django wrote it, for logs and spans. For a
    query call it is what is sent; for table calls the other fields are.
    Fragments (condition, order_by, expressions) use ``?`` placeholders.
    """

    operation: str
    sql: str
    table: str | None = None
    tables_read: frozenset[str] = frozenset()
    tables_written: frozenset[str] = frozenset()
    columns: tuple[str, ...] = ()
    condition: str | None = None
    order_by: str | None = None
    limit: int | None = None
    offset: int | None = None
    returning: tuple[str, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    statement: str = field(default="")


class TranslatedSQL(str):
    """The SQL text of a statement that also carries its Call.

    Django passes it through ``cursor.execute`` unchanged (so logging,
    ``assertNumQueries`` and debug output see plain SQL); the PhantomDB
    cursor reads ``.call`` to make the table call instead of a query.
    """

    __slots__ = ("call",)

    def __new__(cls, sql: str, call: Call) -> TranslatedSQL:
        instance = super().__new__(cls, sql)
        instance.call = call
        return instance


@functools.lru_cache(maxsize=1024)
def query_call(sql: str) -> Call:
    """The Call of SQL that the compiler did not translate (raw SQL, DDL, aggregates)."""
    match = _FIRST_WORD.match(sql)
    statement = match.group(1).upper() if match else ""
    return Call(operation=QUERY, sql=sql, statement=statement)
