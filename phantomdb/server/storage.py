"""The SQLite files behind PhantomDB Lite: one per database, pooled connections, lock waits.

Every database is ``<data-dir>/<name>.sqlite3`` in WAL mode. Connections run in
autocommit (``isolation_level=None``) with SQLite's busy timeout at 0: a
sleeping busy handler would hold a worker thread for the whole wait. Instead
``retry_busy`` awaits a short ``asyncio.sleep`` and tries again until the
server's busy timeout, then answers ``database_locked``. Writers of one
database wait in one queue, so they get the write lock in arrival order.

That queue lives in one process, so one process serves a data directory:
``phantomdb serve`` locks it for itself (``lock_data_dir``), and a second
server on it is refused at start. Embedded servers share the lock, so that
the processes of one application (gunicorn workers) can each embed one, as the
Django backend does; between them SQLite keeps the files consistent, but the
arrival order of writers holds only within each process.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import re
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from phantomdb.server.config import Settings
from phantomdb.server.decltypes import DeclaredTypes
from phantomdb.server.errors import ApiError
from phantomdb.server.functions import register_functions
from phantomdb.server.policy import StatementPolicy
from phantomdb.server.statements import watch_disconnect

logger = logging.getLogger(__name__)

DATABASE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,62}")
SUFFIX = ".sqlite3"
LOCK_FILE = "phantomdb-lite.lock"
MAX_IDLE_CONNECTIONS = 4
_FIRST_RETRY_DELAY = 0.001
_LONGEST_RETRY_DELAY = 0.025

T = TypeVar("T")
Guard = Callable[[int, "str | None", "str | None", "str | None", "str | None"], int]


class StorageConnection(sqlite3.Connection):
    """A SQLite connection with the statement policy and a slot for a table call's guard.

    One authorizer stays installed for the connection's life: installing one
    expires every prepared statement, which would cost a re-prepare per call.
    ``policy`` (``policy.StatementPolicy``) applies to every statement;
    ``guard`` is a ``fragments.FragmentGuard`` while a table call prepares a
    statement that holds client conditions. ``dirty`` marks a connection whose
    settings or TEMP schema a client changed: it is closed instead of going back
    to the pool.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.guard: Guard | None = None
        self.dirty = False
        self.policy = StatementPolicy()
        self.set_authorizer(self._authorize)

    def create_function(self, name: str, narg: int, func: Any, *, deterministic: bool = False) -> None:
        super().create_function(name, narg, func, deterministic=deterministic)
        self.policy.allow_function(name)

    def create_window_function(self, name: str, num_params: int, aggregate_class: Any, /) -> None:
        super().create_window_function(name, num_params, aggregate_class)
        self.policy.allow_function(name)

    def create_aggregate(self, name: str, n_arg: int, aggregate_class: Any) -> None:
        super().create_aggregate(name, n_arg, aggregate_class)
        self.policy.allow_function(name)

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
        policy = self.policy
        verdict = policy(action, arg1, arg2, db)
        if policy.changes_connection:
            self.dirty = True
        guard = self.guard
        if verdict != sqlite3.SQLITE_OK or guard is None:
            return verdict
        return guard(action, arg1, arg2, db, source)


def connect(path: Path, settings: Settings) -> StorageConnection:
    """Open a connection with the dialect's settings, function library and limits."""
    conn = sqlite3.connect(
        path,
        timeout=0,
        isolation_level=None,
        check_same_thread=False,  # worker threads take turns on it, one call at a time
        cached_statements=512,
        factory=StorageConnection,
    )
    try:
        # No value (randomblob(10**9), a huge REPEAT) can outgrow what a response may hold; set
        # first, since LPAD, RPAD and REPEAT take it as theirs (else they build a gigabyte first).
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, settings.max_response_bytes)
        # The function library (its case-sensitive, deterministic LIKE included) must
        # be there before a statement reads the schema: generated columns, CHECK
        # constraints and indexes may call it.
        register_functions(conn, regexp_timeout=settings.statement_timeout)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA synchronous = {settings.durability.upper()}")
    except BaseException:
        conn.close()
        raise
    return conn


class DataDirInUse(Exception):
    """Another server holds the data directory's lock in a way this one cannot share."""


def lock_data_dir(data_dir: Path, *, shared: bool) -> IO[bytes]:
    """Lock ``data_dir`` for a server's life: until the returned file is closed or the process ends.

    ``shared`` is for embedded servers, which may run in several processes of
    one application; ``phantomdb serve`` locks exclusively, since its writer
    queue orders only its own writers.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = (data_dir / LOCK_FILE).open("ab")
    try:
        fcntl.flock(lock, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        holder = "another server (phantomdb serve)" if shared else "another PhantomDB Lite server"
        raise DataDirInUse(
            f"data directory {data_dir} is in use by {holder}: one server process serves a data"
            " directory, so that writers are served in arrival order; stop the other server, or give"
            " this one another data directory"
        ) from None
    return lock


def database_not_found(name: str) -> ApiError:
    hint = f"create it with `phantomdb create-database {name} --url <this server's URL>`"
    return ApiError("database_not_found", f"Database '{name}' does not exist: {hint}")


def _locked(timeout: float) -> ApiError:
    return ApiError(
        "database_locked", f"Database is locked: another transaction held the write lock past {timeout:g} s"
    )


async def retry_busy(
    timeout: float,
    queue: asyncio.Lock,
    waited: Callable[[float], None],
    run: Callable[..., Awaitable[T]],
    *args: Any,
) -> T:
    """``await run(*args)``; while SQLite says BUSY, wait in ``queue`` and retry until ``timeout``.

    Only the writer at the head of the database's queue retries (a short sleep,
    1 ms doubling up to 25 ms), so waiting writers get the lock in arrival
    order. ``run`` must leave nothing behind when it fails (one statement, or
    its own transaction rolled back), so that running it again is safe.
    ``waited`` is told how long a write that had to wait waited.
    """
    try:
        return await run(*args)
    except ApiError as exc:
        if exc.code != "database_locked":
            raise
    loop = asyncio.get_running_loop()
    started = loop.time()
    watch_disconnect()  # the wait may be long: its client may leave meanwhile
    try:
        return await _wait_and_retry(loop, started + timeout, timeout, queue, run, *args)
    finally:
        waited(loop.time() - started)


async def _wait_and_retry(
    loop: asyncio.AbstractEventLoop,
    deadline: float,
    timeout: float,
    queue: asyncio.Lock,
    run: Callable[..., Awaitable[T]],
    *args: Any,
) -> T:
    try:
        async with asyncio.timeout_at(deadline):
            await queue.acquire()
    except TimeoutError:
        raise _locked(timeout) from None
    try:
        delay = _FIRST_RETRY_DELAY
        while True:
            await asyncio.sleep(delay)
            try:
                return await run(*args)
            except ApiError as exc:
                if exc.code != "database_locked":
                    raise
                if loop.time() + delay > deadline:
                    raise _locked(timeout) from None
            delay = min(delay * 2, _LONGEST_RETRY_DELAY)
    finally:
        queue.release()


class Pool:
    """Idle autocommit connections to one database, reused across calls."""

    def __init__(self, name: str, path: Path, settings: Settings):
        self.name = name
        self.path = path
        self.settings = settings
        self.closed = False
        self.writers = asyncio.Lock()  # the queue of calls waiting for the write lock, see retry_busy
        self._idle: list[StorageConnection] = []
        # table name -> (schema_version, primary key columns), see primary_key()
        self._primary_keys: dict[str, tuple[int, list[str]]] = {}
        self.declared_types = DeclaredTypes()  # of queries' result columns, see decltypes

    def acquire(self) -> StorageConnection:
        if self.closed:
            raise database_not_found(self.name)
        if self._idle:
            return self._idle.pop()
        return connect(self.path, self.settings)

    def release(self, conn: StorageConnection) -> None:
        """Take a connection back; a call that failed half-way must not leave a transaction open."""
        try:
            if conn.in_transaction:
                conn.rollback()
        except sqlite3.Error:
            conn.dirty = True
        conn.guard = None
        if self.closed or conn.dirty or len(self._idle) >= MAX_IDLE_CONNECTIONS:
            conn.close()
        else:
            self._idle.append(conn)

    def close(self) -> None:
        self.closed = True
        while self._idle:
            self._idle.pop().close()

    def primary_key(self, conn: sqlite3.Connection, table: str) -> list[str]:
        """The primary key columns of ``table`` (what an insert returns by default)."""
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        known = self._primary_keys.get(table)
        if known is not None and known[0] == version:
            return known[1]
        rows = conn.execute(
            "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (table,)
        ).fetchall()
        columns = [row[0] for row in rows]
        self._primary_keys[table] = (version, columns)
        return columns


class Storage:
    """The databases of one data directory."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.data_dir = settings.data_dir
        self._pools: dict[str, Pool] = {}

    def open(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.data_dir / f"{name}{SUFFIX}"

    def pool(self, name: str) -> Pool:
        """The pool of an existing database; ``database_not_found`` otherwise."""
        pool = self._pools.get(name)
        if pool is not None:
            return pool
        if not DATABASE_NAME.fullmatch(name) or not self.path(name).is_file():
            raise database_not_found(name)
        pool = self._pools[name] = Pool(name, self.path(name), self.settings)
        return pool

    def names(self) -> list[str]:
        if not self.data_dir.is_dir():
            return []
        names = (path.name[: -len(SUFFIX)] for path in self.data_dir.glob(f"*{SUFFIX}"))
        return sorted(name for name in names if DATABASE_NAME.fullmatch(name))

    def _new_path(self, name: str) -> Path:
        """Where a new database ``name`` goes; refuses a bad name and one that exists."""
        if not DATABASE_NAME.fullmatch(name):
            raise ApiError(
                "invalid_request",
                f"Invalid database name {name!r}: use at most 63 letters, digits, '_' and '-', not first '-'",
            )
        path = self.path(name)
        if path.exists():
            raise ApiError("database_exists", f"Database '{name}' already exists")
        return path

    def create(self, name: str) -> None:
        path = self._new_path(name)
        conn = connect(path, self.settings)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
        finally:
            conn.close()

    def clone(self, source: StorageConnection, name: str) -> None:
        """Copy the database ``source`` is connected to as the new database ``name``.

        SQLite's backup API copies every page in one step, under one read
        transaction: the copy is the last committed state, whatever writers do
        meanwhile. It is written to a scratch file (not a ``*.sqlite3`` name, so
        never listed) and linked into place only when complete; the link fails
        if ``name`` appeared meanwhile, so an existing database is never replaced.
        """
        path = self._new_path(name)
        scratch = path.with_name(f"{path.name}.clone-{uuid.uuid4().hex}")
        try:
            target = sqlite3.connect(scratch, isolation_level=None)
            try:
                source.backup(target)
                target.execute("PRAGMA journal_mode = WAL")
            finally:
                target.close()
            try:
                os.link(scratch, path)
            except FileExistsError:
                raise ApiError("database_exists", f"Database '{name}' already exists") from None
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{scratch}{suffix}").unlink(missing_ok=True)

    def describe(self, name: str, conn: sqlite3.Connection) -> dict[str, Any]:
        tables = conn.execute(
            "SELECT count(*) FROM sqlite_master"
            " WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ).fetchone()[0]
        page_count = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        return {"name": name, "tables": tables, "size_bytes": page_count * page_size}

    def drop(self, name: str) -> None:
        """Close the database's pool and delete its files (open transactions are gone already)."""
        pool = self.pool(name)
        pool.close()
        del self._pools[name]
        for suffix in (SUFFIX, f"{SUFFIX}-wal", f"{SUFFIX}-shm", f"{SUFFIX}-journal"):
            self.data_dir.joinpath(f"{name}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
