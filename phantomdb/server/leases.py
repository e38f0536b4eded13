"""Which SQLite connection a database call runs on, for how long, and how it waits for locks.

A call that carries ``PhantomDB-Transaction`` runs on that transaction's
connection (one call at a time); any other call borrows an autocommit
connection from the database's pool. Its SQLite work runs on the server's
worker threads (``statements``), one piece at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from phantomdb.server.errors import ApiError
from phantomdb.server.statements import may_run_inline
from phantomdb.server.storage import Pool, StorageConnection, retry_busy

if TYPE_CHECKING:
    from phantomdb.server.messages import Request
    from phantomdb.server.transactions import Transaction

T = TypeVar("T")

_SAVEPOINT = "phantomdb_atomic"


class Lease:
    """``async with Lease(request) as lease``: a connection for the request's database."""

    __slots__ = ("_request", "conn", "database", "kept", "pool", "settings", "transaction")

    def __init__(self, request: Request):
        self._request = request
        self.database = request.params["db"]
        self.settings = request.app.settings
        self.conn: StorageConnection = None  # type: ignore[assignment]  # set on entry
        self.pool: Pool = None  # type: ignore[assignment]  # set on entry
        self.transaction: Transaction | None = None
        self.kept = False

    async def __aenter__(self) -> Lease:
        request = self._request
        if request.transaction is not None:
            self.transaction = await request.app.transactions.enter(request.transaction, self.database)
            self.pool = self.transaction.pool
            self.conn = self.transaction.conn
        else:
            self.pool = request.app.storage.pool(self.database)
            self.conn = self.pool.acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if not self.kept:
            self.release()

    def keep(self) -> None:
        """Hand the lease to whoever sends the response; it calls ``release`` when done."""
        self.kept = True

    def abandon(self) -> None:
        """The client stopped reading a streamed result: its transaction, if any, cannot go on."""
        if self.transaction is not None:
            self._request.app.transactions.end_broken(
                self.transaction, "its client stopped reading a result for longer than the idle timeout"
            )

    def release(self) -> None:
        if self.transaction is not None:
            self.transaction.leave()
        else:
            self.pool.release(self.conn)

    def run(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """``await lease.run(fn, ...)``: ``fn(conn, *args)`` on a worker thread, retried while
        another transaction holds the write lock."""
        return self._retried(None, fn, *args)

    def read(self, statement: str, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """``run`` for ``fn`` that only reads ``statement``: a quick one (``may_run_inline``)
        runs on the loop itself."""
        return self._retried(statement if may_run_inline(statement) else None, fn, *args)

    def _retried(self, read: str | None, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        waited = self._request.app.metrics.waited_for_lock
        return retry_busy(self.settings.busy_timeout, self.pool.writers, waited, self._run, read, fn, *args)

    async def _run(self, read: str | None, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self._request.app.statements.run(self.conn, fn, *args, read=read)
        except asyncio.CancelledError:
            transaction = self.transaction
            if transaction is not None and not self.conn.in_transaction:
                # The client left while a write of its transaction ran: SQLite rolled it back.
                self._request.app.transactions.end_broken(
                    transaction, "its client went away while a write of it ran, and it was rolled back"
                )
            raise
        except ApiError as exc:
            transaction = self.transaction
            if exc.code == "statement_timeout" and transaction is not None and not self.conn.in_transaction:
                # SQLite rolled the whole transaction back when it interrupted a write in it.
                self._request.app.transactions.end_broken(transaction, exc.message)
                raise ApiError(exc.code, exc.message + "; the transaction was rolled back") from None
            raise

    async def atomic(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` all or nothing: in its own transaction, or a savepoint inside the client's.

        Its own transaction begins in the same piece of worker work as ``fn``
        (one hand-off, not two); a BEGIN that meets the write lock fails before
        anything ran, so ``run`` may retry it.
        """
        if self.transaction is None:
            return await self.run(_atomically, "BEGIN IMMEDIATE", ("COMMIT",), ("ROLLBACK",), fn, *args)
        finish, undo = (f"RELEASE {_SAVEPOINT}",), (f"ROLLBACK TO {_SAVEPOINT}", f"RELEASE {_SAVEPOINT}")
        return await self._run(None, _atomically, f"SAVEPOINT {_SAVEPOINT}", finish, undo, fn, *args)


def _atomically(
    conn: StorageConnection,
    begin: str,
    finish: tuple[str, ...],
    undo: tuple[str, ...],
    fn: Callable[..., T],
    *args: Any,
) -> T:
    conn.execute(begin)
    try:
        result = fn(conn, *args)
        for sql in finish:
            conn.execute(sql)
    except BaseException:
        try:
            for sql in undo:
                conn.execute(sql)
        except sqlite3.Error:
            conn.dirty = True
        raise
    return result
