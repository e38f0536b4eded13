"""The Call: one request to a PhantomDB server, as a value.

Everything a ``phantomdb.Connection`` sends is a Call run by its executor
chain (``phantomdb.chain``): statements and batches, BEGIN / COMMIT /
ROLLBACK, savepoints, health checks, database creation, removal and cloning. A Call
says what the request is (which REST call, which tables it reads and
writes, whether its answer can change without a write) and never holds a
parameter value, so the links around the transport (cache, telemetry, logs)
can key, count and trace it without ever seeing user data.

Whoever builds a Call decides once what the statement is; links only read
it. When the builder cannot know the tables, it says so (``None``), which is
not the same as "no tables".
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass

__all__ = [
    "BATCH",
    "BEGIN",
    "CLONE_DATABASE",
    "COMMIT",
    "CREATE_DATABASE",
    "DELETE",
    "DROP_DATABASE",
    "HEALTH",
    "INSERT",
    "QUERY",
    "RELEASE_SAVEPOINT",
    "ROLLBACK",
    "ROLLBACK_TO_SAVEPOINT",
    "SAVEPOINT",
    "SELECT",
    "UPDATE",
    "Assignment",
    "Call",
    "raw_call",
]

# Statements: table calls, SQL queries and batches.
SELECT = "select"
INSERT = "insert"
UPDATE = "update"
DELETE = "delete"
QUERY = "query"
BATCH = "batch"
# Transaction control.
BEGIN = "begin"
COMMIT = "commit"
ROLLBACK = "rollback"
SAVEPOINT = "savepoint"
RELEASE_SAVEPOINT = "release_savepoint"
ROLLBACK_TO_SAVEPOINT = "rollback_to_savepoint"
# The server and its databases.
HEALTH = "health"
CREATE_DATABASE = "create_database"
DROP_DATABASE = "drop_database"
CLONE_DATABASE = "clone_database"

STATEMENTS = frozenset({SELECT, INSERT, UPDATE, DELETE, QUERY, BATCH})
SAVEPOINTS = frozenset({SAVEPOINT, RELEASE_SAVEPOINT, ROLLBACK_TO_SAVEPOINT})
TRANSACTION_CONTROL = frozenset({BEGIN, COMMIT, ROLLBACK})
SERVER_CALLS = frozenset({HEALTH, CREATE_DATABASE, DROP_DATABASE, CLONE_DATABASE})

# SQL statements that only read, by their first keyword. Anything else sent as
# raw SQL (INSERT, REPLACE, WITH ... DELETE, DDL, PRAGMA x = y) may write.
READ_ONLY_STATEMENTS = frozenset({"SELECT", "VALUES", "EXPLAIN"})
NO_TABLES: frozenset[str] = frozenset()

_FIRST_WORD = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z]+)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Assignment:
    """One ``SET column = ...`` of an update: a plain value or an SQL expression."""

    column: str
    expression: str | None  # None: the value is the next parameter
    param_count: int


@dataclass(frozen=True, slots=True)
class Call:
    """One request to PhantomDB: a table call, a query or batch, transaction control, or a server call.

    ``sql`` is the statement as its author wrote it, for logs and spans;
    ``query`` the SQL a query or batch sends (``?`` placeholders). Fragments of
    table calls (condition, order_by, expressions) use ``?`` placeholders too.
    ``tables_read`` / ``tables_written`` are exact, or None when unknown.
    ``volatile``: the answer may change with no write (random order, the
    clock, locking reads), so it must never be reused. ``stream``: the rows
    are read as they arrive (Django's ``iterator()``), never held whole, so
    never cached either.
    """

    operation: str
    sql: str = ""
    query: str = ""
    statement: str = ""
    table: str | None = None
    tables_read: frozenset[str] | None = NO_TABLES
    tables_written: frozenset[str] | None = NO_TABLES
    volatile: bool = False
    columns: tuple[str, ...] = ()
    condition: str | None = None
    order_by: str | None = None
    limit: int | None = None
    offset: int | None = None
    returning: tuple[str, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    # The savepoint or database a control or server call names.
    name: str | None = None
    # A clone: the database copied (``name`` is the copy).
    source: str | None = None
    # BEGIN: whether the transaction enforces foreign keys.
    foreign_keys: bool = True
    stream: bool = False
    # A query: whether its answer reports the result columns' declared types.
    decltypes: bool = False
    # The fields' hash once worked out (0: not yet): links look the Call up on every call.
    _hash: int = dataclasses.field(default=0, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        """The compared fields' hash, kept: hashing them all again costs more than the lookup."""
        if not self._hash:
            object.__setattr__(self, "_hash", hash(tuple(getattr(self, name) for name in _COMPARED)))
        return self._hash

    def __getstate__(self) -> tuple[object, ...]:
        """The fields without the kept hash: another process hashes strings differently."""
        return tuple(getattr(self, name) for name in _COMPARED)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        for name, value in zip(_COMPARED, state, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_hash", 0)

    @property
    def writes(self) -> bool:
        """Whether the call may change data (unknown tables count as a write)."""
        return self.tables_written is None or bool(self.tables_written)

    @property
    def reads_only(self) -> bool:
        """A statement that only reads: never INSERT ... RETURNING, never a raw write."""
        return self.operation in STATEMENTS and self.tables_written == NO_TABLES


_COMPARED = tuple(field.name for field in dataclasses.fields(Call) if field.compare)


def first_keyword(sql: str) -> str:
    """The statement's first SQL keyword, upper case, past leading comments."""
    match = _FIRST_WORD.match(sql)
    return match.group(1).upper() if match else ""


@functools.lru_cache(maxsize=4096)
def raw_call(sql: str, query: str | None = None, operation: str = QUERY, decltypes: bool = False) -> Call:
    """The Call of SQL nobody translated (a PEP 249 cursor, ``raw()``, DDL).

    Its tables are unknown; it writes unless its first keyword says it only
    reads. ``query`` is what is sent when it differs from ``sql``; ``decltypes``
    asks for the result columns' declared types.
    """
    statement = first_keyword(sql)
    written = NO_TABLES if statement in READ_ONLY_STATEMENTS else None
    return Call(
        operation=operation,
        sql=sql,
        query=sql if query is None else query,
        statement=statement,
        tables_read=None,
        tables_written=written,
        decltypes=decltypes,
    )


@functools.lru_cache(maxsize=1024)
def streamed(call: Call) -> Call:
    """``call`` with its rows read as they arrive (a cursor for Django's ``iterator()``)."""
    return dataclasses.replace(call, stream=True)


BEGIN_CALL = Call(BEGIN, sql="BEGIN", statement="BEGIN")
BEGIN_WITHOUT_FOREIGN_KEYS_CALL = Call(BEGIN, sql="BEGIN", statement="BEGIN", foreign_keys=False)
COMMIT_CALL = Call(COMMIT, sql="COMMIT", statement="COMMIT")
ROLLBACK_CALL = Call(ROLLBACK, sql="ROLLBACK", statement="ROLLBACK")
HEALTH_CALL = Call(HEALTH, statement="HEALTH")


def database_call(operation: str, name: str, source: str | None = None) -> Call:
    """Create, drop or clone (from ``source``) the database ``name``: it writes every table it
    has, so unknown tables."""
    return Call(operation, statement=operation.upper(), name=name, source=source, tables_written=None)
