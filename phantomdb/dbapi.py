"""PEP 249 (DB-API 2.0) over the PhantomDB REST client.

A ``Connection`` is one database of one server plus, when autocommit is off,
the server-side transaction its statements run in: it begins lazily at the
first statement (``POST /transactions``) so that a connection that only
connects costs no round trip, and ``commit()`` / ``rollback()`` end it.
Every ``Cursor.execute`` is one ``POST /query``; ``executemany`` is one batch.

Every request a connection makes, its transaction control included, is a
``Call`` that runs through the connection's executor chain
(``phantomdb.chain``), so links such as a cache or a tracer see them all.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from phantomdb import calls, errors
from phantomdb.calls import Call, raw_call, streamed
from phantomdb.chain import Link, Params, RestCall, build_chain
from phantomdb.client import PhantomDB, Result
from phantomdb.errors import InterfaceError, OperationalError, ProgrammingError
from phantomdb.streams import RowStream

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Connection",
    "Cursor",
    "Date",
    "DateFromTicks",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]

apilevel = "2.0"
# Threads may share the module, not connections: a connection holds one transaction.
threadsafety = 1
paramstyle = "qmark"


class DBAPITypeObject:
    """Equal to every type name of its group (PEP 249 type objects).

    PhantomDB Lite reports storage classes (``integer``, ``real``, ``text``,
    ``blob``); other servers may report declared types such as ``VARCHAR(20)``.
    """

    def __init__(self, name: str, *type_names: str):
        self.name = name
        self.type_names = frozenset(type_names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return self is other
        if isinstance(other, str):
            return other.split("(", 1)[0].strip().lower() in self.type_names
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"<DBAPITypeObject {self.name}>"


STRING = DBAPITypeObject("STRING", "text", "varchar", "char", "character", "string", "clob", "json")
BINARY = DBAPITypeObject("BINARY", "blob", "binary", "varbinary", "bytea", "bytes")
NUMBER = DBAPITypeObject(
    "NUMBER",
    "integer",
    "int",
    "bigint",
    "smallint",
    "tinyint",
    "real",
    "double",
    "float",
    "numeric",
    "decimal",
    "boolean",
)
DATETIME = DBAPITypeObject("DATETIME", "date", "time", "timestamp", "datetime", "duration")
ROWID = DBAPITypeObject("ROWID", "rowid")

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> datetime.date:
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:
    return Timestamp(*time.localtime(ticks)[:6])


def connect(
    url: str,
    database: str,
    *,
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
    autocommit: bool = False,
    links: Sequence[Link] = (),
    **options: Any,
) -> Connection:
    """Open a Connection to ``database`` on the server at ``url``.

    ``links`` wrap every call (outermost first, see ``phantomdb.chain``);
    ``options`` go to ``PhantomDB`` (timeout, connect_timeout, verify, cert,
    pool_size, retries, headers_hook). Nothing is sent until the first call.
    """
    client = PhantomDB(url, user=user, password=password, token=token, **options)
    return Connection(client, database, autocommit=autocommit, owns_client=True, links=links)


class Connection:
    """One database of one PhantomDB server, with its open transaction if any."""

    Warning = errors.Warning
    Error = errors.Error
    InterfaceError = errors.InterfaceError
    DatabaseError = errors.DatabaseError
    DataError = errors.DataError
    OperationalError = errors.OperationalError
    IntegrityError = errors.IntegrityError
    InternalError = errors.InternalError
    ProgrammingError = errors.ProgrammingError
    NotSupportedError = errors.NotSupportedError

    def __init__(
        self,
        client: PhantomDB,
        database: str,
        *,
        autocommit: bool = False,
        owns_client: bool = True,
        links: Sequence[Link] = (),
    ):
        self.client = client
        self.database = database
        self._autocommit = autocommit
        self._owns_client = owns_client
        self._transaction: str | None = None
        # A result still streaming in the open transaction: the server runs one call
        # of a transaction at a time, so the next call waits for it to be read.
        self._stream: RowStream | None = None
        self._closed = False
        # Whether transactions begun from now on enforce foreign keys.
        self.foreign_keys = True
        self.links = links

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"transaction={self._transaction}"
        return f"<phantomdb.Connection {self.client.url} database={self.database!r} {state}>"

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        """Commit on success, roll back on an exception, then close (as psycopg does)."""
        if self._closed:
            return
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("The PhantomDB connection is closed")

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def transaction_id(self) -> str | None:
        """The id of the open server-side transaction, or None."""
        return self._transaction

    @property
    def autocommit(self) -> bool:
        """When True each statement commits on its own; turning it on commits an open transaction."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._check_open()
        value = bool(value)
        if value and self._transaction is not None:
            self.commit()
        self._autocommit = value

    @property
    def links(self) -> tuple[Link, ...]:
        """The links every call of this connection passes, outermost first."""
        return self._links

    @links.setter
    def links(self, links: Sequence[Link]) -> None:
        self._links = tuple(links)
        self._chain = build_chain(self._links, RestCall(self.client, self.database))

    def execute(self, call: Call, params: Params = None) -> Result:
        """Run a statement, batch, savepoint or server Call: the one way a request leaves.

        A statement runs in the open transaction (begun now if autocommit is
        off and none is open), on its own in autocommit, or, in autocommit
        with ``foreign_keys`` off, in a transaction of its own, since SQLite
        switches foreign keys off only for whole transactions.
        """
        self._check_open()
        operation = call.operation
        if operation in calls.SERVER_CALLS:
            return self._chain(call, params, None)
        if operation in calls.TRANSACTION_CONTROL:
            raise ProgrammingError("Transactions begin by themselves; end them with commit() or rollback()")
        if not self._autocommit:
            self._finish_stream()
            result = self._chain(call, params, self.ensure_transaction())
            self._stream = result.stream
            return result
        if operation in calls.SAVEPOINTS:
            raise ProgrammingError(f"{call.sql or operation} needs a transaction: turn autocommit off first")
        if self.foreign_keys:
            return self._chain(call, params, None)
        transaction = self._begin(foreign_keys=False)
        try:
            result = self._chain(call, params, transaction)
            if result.stream is not None:
                result.stream.buffer()  # before the COMMIT, which would wait for it
        except BaseException:
            self._chain(calls.ROLLBACK_CALL, None, transaction)
            raise
        self._chain(calls.COMMIT_CALL, None, transaction)
        return result

    def _finish_stream(self) -> None:
        """Read the rest of a result still streaming in the transaction into memory, so
        that the transaction's next call can run; its cursor keeps every row."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.buffer()

    def _begin(self, *, foreign_keys: bool) -> str:
        call = calls.BEGIN_CALL if foreign_keys else calls.BEGIN_WITHOUT_FOREIGN_KEYS_CALL
        info = self._chain(call, None, None).info
        if not info or "id" not in info:
            raise InterfaceError("PhantomDB answered a BEGIN without a transaction id")
        return info["id"]

    def ensure_transaction(self) -> str | None:
        """The transaction the next statement runs in: None in autocommit, else the
        open one, begun now if there is none."""
        self._check_open()
        if self._autocommit:
            return None
        if self._transaction is None:
            self._transaction = self._begin(foreign_keys=self.foreign_keys)
        return self._transaction

    def commit(self) -> None:
        """Commit the open transaction; nothing to do when none is open."""
        self._check_open()
        self._finish_stream()
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            self._chain(calls.COMMIT_CALL, None, transaction)

    def rollback(self) -> None:
        """Roll back the open transaction; one the server already expired counts as rolled back."""
        self._check_open()
        self._finish_stream()
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            try:
                self._chain(calls.ROLLBACK_CALL, None, transaction)
            except OperationalError as exc:
                if exc.code not in ("transaction_expired", "transaction_not_found"):
                    raise

    def health_check(self) -> dict[str, Any]:
        """The server's health document; raises OperationalError when it is unreachable."""
        return dict(self.execute(calls.HEALTH_CALL).info or {})

    def create_database(self, name: str) -> None:
        """Create the database ``name`` on this connection's server."""
        self.execute(calls.database_call(calls.CREATE_DATABASE, name))

    def drop_database(self, name: str) -> None:
        """Drop the database ``name`` and everything in it."""
        self.execute(calls.database_call(calls.DROP_DATABASE, name))

    def clone_database(self, source: str, name: str) -> None:
        """Create the database ``name`` holding a copy of ``source``'s last committed state."""
        self.execute(calls.database_call(calls.CLONE_DATABASE, name, source))

    def ensure_database(self) -> None:
        """Create this connection's database unless it exists (the embedded server starts empty)."""
        try:
            self.create_database(self.database)
        except ProgrammingError as exc:
            if exc.code != "database_exists":
                raise

    def close(self) -> None:
        """Roll back an open transaction (PEP 249) and close; closing twice is harmless."""
        if self._closed:
            return
        try:
            stream, self._stream = self._stream, None
            if stream is not None:
                stream.close()  # its rows are not wanted any more: read to the end, not kept
            if self._transaction is not None:
                self.rollback()
        except errors.PhantomDBError:
            pass  # the server is gone or dropped it: the transaction ends either way
        finally:
            self._closed = True
            self._transaction = None
            if self._owns_client:
                self.client.close()

    def cursor(self, *, stream: bool = False) -> Cursor:
        """A cursor; with ``stream``, the rows of its queries are read as they are fetched
        (a streamed cursor, docs/client.md), not held whole."""
        self._check_open()
        return Cursor(self, stream=stream)


class Cursor:
    """Runs statements on its connection and holds the rows of the last one (or, when it
    streams, reads them from the server as they are fetched)."""

    def __init__(self, connection: Connection, *, stream: bool = False):
        self.connection = connection
        self.stream = stream
        self.arraysize = 1
        self._closed = False
        self._result: Result | None = None
        self._stream: RowStream | None = None
        self._position = 0
        self._description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self

    def __next__(self) -> tuple[Any, ...]:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        """(name, type_code, None x 5) per column of the last statement; None if it returned none.

        Built when asked: the ORM rarely asks, so most statements never pay for it.
        """
        if self._description is None and self._result is not None:
            types = self._result.types
            self._description = [
                (name, types[i] if i < len(types) else None, None, None, None, None, None)
                for i, name in enumerate(self._result.columns)
            ]
        return self._description

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("The PhantomDB cursor is closed")
        self.connection._check_open()

    def _reset(self) -> None:
        self._close_stream()
        self._result = None
        self._position = 0
        self._description = None
        self.rowcount = -1
        self.lastrowid = None

    def _store(self, result: Result) -> None:
        self.rowcount = result.rowcount
        self.lastrowid = result.lastrowid
        if result.columns:
            self._result = result
            self._stream = result.stream

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    @staticmethod
    def _check_params(params: Any) -> None:
        if isinstance(params, Mapping | str | bytes):
            raise ProgrammingError(
                "PhantomDB takes qmark parameters: pass a sequence of values for the '?' placeholders"
            )

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> Cursor:
        """Run one statement (``?`` placeholders) as one ``POST /query``."""
        self._check_open()
        if parameters is not None:
            self._check_params(parameters)
        self._reset()
        call = raw_call(operation)
        self._store(self.connection.execute(streamed(call) if self.stream else call, parameters))
        return self

    def executemany(self, operation: str, seq_of_parameters: Iterable[Sequence[Any]]) -> Cursor:
        """Run one statement per parameter list, all in ONE batch call; rowcount is the total."""
        self._check_open()
        param_lists = list(seq_of_parameters)
        for params in param_lists:
            self._check_params(params)
        self._reset()
        result = self.connection.execute(raw_call(operation, operation=calls.BATCH), param_lists)
        self.rowcount = result.rowcount
        self.lastrowid = result.lastrowid
        return self

    def _rows(self) -> tuple[tuple[Any, ...], ...]:
        self._check_open()
        if self._result is None:
            raise ProgrammingError("No results to fetch: the last statement returned no rows")
        return self._result.rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._rows()
        if self._stream is not None:
            fetched = self._stream.fetch(1)
            return fetched[0] if fetched else None
        if self._position >= len(rows):
            return None
        self._position += 1
        return rows[self._position - 1]

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        rows = self._rows()
        size = self.arraysize if size is None else size
        if self._stream is not None:
            return self._stream.fetch(size)
        end = self._position + size
        chunk = list(rows[self._position : end])
        self._position += len(chunk)
        return chunk

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The rest of the rows as a new list: the result itself stays as the call returned it."""
        rows = self._rows()
        if self._stream is not None:
            return self._stream.fetch()
        chunk = list(rows[self._position :] if self._position else rows)
        self._position = len(rows)
        return chunk

    def close(self) -> None:
        """Forget the rows (a streamed result stops, as ``RowStream.close`` says); using
        the cursor afterwards raises InterfaceError."""
        self._closed = True
        self._close_stream()
        self._result = None

    def setinputsizes(self, sizes: Any) -> None:
        """No-op: PhantomDB needs no input sizes."""

    def setoutputsize(self, size: Any, column: int | None = None) -> None:
        """No-op: PhantomDB needs no output sizes."""
