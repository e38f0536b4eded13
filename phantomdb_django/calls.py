"""Django's SQL as PhantomDB Calls: placeholders, raw statements, translated ones.

The compiler decides once what a statement is (``phantomdb_django.compiler``)
and hands its Call along inside ``TranslatedSQL``; SQL that reaches the
cursor without one (``connection.cursor()``, ``raw()``, DDL, SQL an
``execute_wrapper`` rewrote) is a raw query Call whose tables are unknown.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from phantomdb.calls import BATCH, Call, raw_call

_FORMAT_PLACEHOLDER = re.compile(r"(?<!%)%s")
_PYFORMAT_PLACEHOLDER = re.compile(r"(?<!%)%\((\w+)\)s")
# A table named right after FROM or JOIN (quoted as Django quotes, or bare).
_TABLE_REFERENCE = re.compile(r'\b(?:FROM|JOIN)\s+(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))', re.IGNORECASE)
# What makes SQLite's answer change without a write: random values, the clock,
# the connection's own counters.
_VOLATILE = re.compile(
    r"\b(?:RAND|RANDOM|RANDOMBLOB|CHANGES|TOTAL_CHANGES|LAST_INSERT_ROWID)\s*\(|\bCURRENT_(?:TIMESTAMP|DATE|TIME)\b"
    r"|'now'",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)
def to_qmark(sql: str) -> str:
    """Django writes ``%s`` placeholders (``%%`` for a literal percent); PhantomDB takes ``?``."""
    return _FORMAT_PLACEHOLDER.sub("?", sql).replace("%%", "%")


def count_placeholders(sql: str) -> int:
    return len(_FORMAT_PLACEHOLDER.findall(sql))


@functools.lru_cache(maxsize=4096)
def named_tables(sql: str) -> frozenset[str]:
    """Every name that follows FROM or JOIN in ``sql``: the check that no table escaped the compiler."""
    references = _TABLE_REFERENCE.findall(sql)
    return frozenset(quoted.replace('""', '"') if quoted else bare for quoted, bare in references)


@functools.lru_cache(maxsize=4096)
def is_volatile(sql: str) -> bool:
    """Whether ``sql`` calls something whose answer changes without a write (random, the clock)."""
    return _VOLATILE.search(sql) is not None


@functools.lru_cache(maxsize=1024)
def _pyformat_call(sql: str) -> tuple[Call, tuple[str, ...]]:
    names = tuple(_PYFORMAT_PLACEHOLDER.findall(sql))
    return raw_call(sql, _PYFORMAT_PLACEHOLDER.sub("?", sql).replace("%%", "%"), decltypes=True), names


def raw_statement(
    sql: str, params: Sequence[Any] | Mapping[str, Any] | None
) -> tuple[Call, Sequence[Any] | None]:
    """The Call and ``?`` parameters of SQL from any of Django's styles.

    As in the sqlite3 backend, SQL without parameters (None) is sent as
    written, ``%%`` included; ``%(name)s`` (pyformat) becomes ``?`` in order.
    The answer reports its columns' declared types, by which the cursor
    converts values as sqlite3 does (``cursor.typed``).
    """
    if params is None:
        return raw_call(sql, decltypes=True), None
    if isinstance(params, Mapping):
        call, names = _pyformat_call(sql)
        return call, [params[name] for name in names]
    return raw_call(sql, to_qmark(sql), decltypes=True), params


def raw_batch(sql: str, query: str) -> Call:
    """The Call of ``executemany``: one statement, sent as ``query``, many parameter lists."""
    return raw_call(sql, query, BATCH)


class TranslatedSQL(str):
    """The SQL text of a statement that also carries its Call.

    Django passes it through ``cursor.execute`` unchanged (so logging,
    ``assertNumQueries`` and debug output see plain SQL); the PhantomDB
    cursor reads ``.call`` to make the call the compiler decided on.
    """

    __slots__ = ("call",)
    call: Call

    def __new__(cls, sql: str, call: Call) -> TranslatedSQL:
        instance = super().__new__(cls, sql)
        instance.call = call
        return instance
