"""The declared type of each result column of a query, as SQLite's ``sqlite3_column_decltype`` gives it.

Python's sqlite3 module reads a result column's declared type only to look a
converter up in its process-global registry (``detect_types``) and never hands
the name out; registering converters here would change the values of every
other sqlite3 connection in the process (Django's sqlite3 backend beside an
embedded server, for one). SQLite gives a view's columns the same types
(``columnType()`` in select.c: the declared type where the result column is a
table's column, through subqueries, CTEs and views; none for an expression),
and ``PRAGMA table_xinfo`` reads them. So the statement is made a TEMP view
for as long as that takes, with its parameters as NULL (a view cannot hold
parameters, and no type depends on a value).

Types only change with the schema: answers are kept per database and SQL text
with the ``schema_version`` they were read at (see ``DeclaredTypes``).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from phantomdb.server.dialect import tokenize

if TYPE_CHECKING:
    from phantomdb.server.storage import StorageConnection

_VIEW = "phantomdb_declared_types"
_PARAMETER_PREFIXES = frozenset({":", "@", "$"})
# What a view may be made of: a SELECT, VALUES, or WITH ... SELECT.
VIEWABLE = frozenset({"SELECT", "VALUES", "WITH"})
_MAX_KEPT = 1024


def _without_parameters(sql: str) -> str:
    """``sql`` with every parameter (``?``, ``?NNN``, ``:name``, ``@name``, ``$name``) as NULL."""
    tokens = tokenize(sql)
    parts: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        # What is glued to a '?' (its number) or to ':', '@', '$' (the name).
        glued = following.kind if following is not None and following.start == token.end else None
        span = 0
        if token.kind == "punct" and token.text == "?":
            span = 2 if glued == "number" else 1
        elif token.kind == "punct" and token.text in _PARAMETER_PREFIXES and glued == "word":
            span = 2
        parts.append("NULL" if span else token.text)
        i += span or 1
    return "".join(parts)


def _read(conn: StorageConnection, sql: str, width: int) -> list[str | None]:
    """Make, read and drop the TEMP view; a statement no view can hold has no declared types."""
    changes_connection, dirty = conn.policy.changes_connection, conn.dirty
    try:
        conn.execute(f'CREATE TEMP VIEW "{_VIEW}" AS {_without_parameters(sql)}')
    except sqlite3.Error:
        types: list[str | None] = []
    else:
        try:
            types = [row[2] or None for row in conn.execute(f'PRAGMA temp.table_xinfo("{_VIEW}")')]
        finally:
            # If this fails the view stays, and the authorizer's mark keeps the connection out of the pool.
            conn.execute(f'DROP VIEW temp."{_VIEW}"')
    # The authorizer took the view for a client's TEMP object, which marks the connection; it is gone.
    conn.policy.changes_connection, conn.dirty = changes_connection, dirty
    return types if len(types) == width else [None] * width


class DeclaredTypes:
    """The declared types of one database's queries, kept by SQL text and schema version.

    An answer is read on a connection outside a transaction (the committed
    schema) and reused while ``schema_version`` is the same, also inside a
    transaction: there the version can equal a kept one only if the
    transaction has not changed the schema, since the committed version only
    grows and the transaction began from it. A connection a client gave TEMP
    objects (``dirty``) may see other tables by the same names: never reused.
    """

    def __init__(self) -> None:
        self._kept: dict[str, tuple[int, list[str | None]]] = {}

    def of(self, conn: StorageConnection, sql: str, width: int) -> list[str | None]:
        if conn.dirty:
            return _read(conn, sql, width)
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        kept = self._kept.get(sql)
        if kept is not None and kept[0] == version and len(kept[1]) == width:
            return kept[1]
        types = _read(conn, sql, width)
        if not conn.in_transaction and not conn.dirty:
            if len(self._kept) >= _MAX_KEPT:
                self._kept.clear()
            self._kept[sql] = (version, types)
        return types
