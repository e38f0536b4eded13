"""Client transactions: one dedicated SQLite connection each, and an idle timeout.

``POST /transactions`` takes a connection from the database's pool and runs
``BEGIN IMMEDIATE`` on it, so the transaction holds the write lock from its
start (waiting for it like any writer, see ``storage.retry_busy``). Calls that
name the transaction run on that connection one at a time. A background task
rolls back transactions idle for longer than the server's timeout; their ids
are remembered so that a late call gets ``transaction_expired``, not
``transaction_not_found``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import sqlite3
from collections import OrderedDict
from typing import TYPE_CHECKING

from phantomdb.server.errors import ApiError
from phantomdb.server.messages import Request, Response, bool_field, json_response, no_content, text_field
from phantomdb.server.statements import watch_disconnect
from phantomdb.server.storage import Pool, Storage, StorageConnection, retry_busy

if TYPE_CHECKING:
    from phantomdb.server.config import Settings
    from phantomdb.server.metrics import Metrics
    from phantomdb.server.statements import Statements

logger = logging.getLogger(__name__)

SAVEPOINT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_REMEMBERED_EXPIRED = 10_000


class Transaction:
    """An open transaction: its connection, and a lock so that calls in it never overlap."""

    __slots__ = ("conn", "database", "id", "last_used", "lock", "open", "pool")

    def __init__(self, id: str, database: str, pool: Pool, conn: StorageConnection):  # noqa: A002
        self.id = id
        self.database = database
        self.pool = pool
        self.conn = conn
        self.lock = asyncio.Lock()
        self.open = True
        self.last_used = asyncio.get_running_loop().time()

    def leave(self) -> None:
        """End a call in the transaction; the idle clock starts again."""
        self.last_used = asyncio.get_running_loop().time()
        self.lock.release()


class TransactionManager:
    """Every open transaction of one server, by id."""

    def __init__(self, storage: Storage, settings: Settings, metrics: Metrics, statements: Statements):
        self.storage = storage
        self.statements = statements
        self.timeout = settings.transaction_timeout
        self.busy_timeout = settings.busy_timeout
        self.metrics = metrics
        self._open: dict[str, Transaction] = {}
        self._expired: OrderedDict[str, str] = OrderedDict()  # id -> why it ended
        self._reaper: asyncio.Task[None] | None = None

    # Life cycle -----------------------------------------------------------

    async def begin(self, database: str, foreign_keys: bool = True) -> Transaction:
        pool = self.storage.pool(database)
        conn = pool.acquire()
        try:
            if not foreign_keys:
                # SQLite ignores this PRAGMA inside a transaction, so it comes
                # first; the connection is closed afterwards, never pooled with it.
                conn.dirty = True
                await self.statements.run(conn, _execute, "PRAGMA foreign_keys = OFF")
            await retry_busy(
                self.busy_timeout,
                pool.writers,
                self.metrics.waited_for_lock,
                self.statements.run,
                conn,
                _execute,
                "BEGIN IMMEDIATE",
            )
        except BaseException:
            pool.release(conn)
            raise
        transaction = Transaction(secrets.token_urlsafe(24), database, pool, conn)
        self._open[transaction.id] = transaction
        self._count()
        return transaction

    def get(self, transaction_id: str) -> Transaction:
        transaction = self._open.get(transaction_id)
        if transaction is not None:
            return transaction
        reason = self._expired.get(transaction_id)
        if reason is not None:
            raise ApiError("transaction_expired", f"Transaction '{transaction_id}' {reason}")
        raise ApiError("transaction_not_found", f"Transaction '{transaction_id}' does not exist")

    async def enter(self, transaction_id: str, database: str | None = None) -> Transaction:
        """Wait for the transaction to be free and take it; ``leave()`` gives it back."""
        transaction = self.get(transaction_id)
        if database is not None and transaction.database != database:
            raise ApiError(
                "invalid_request",
                f"Transaction '{transaction_id}' is on database '{transaction.database}', not '{database}'",
            )
        if transaction.lock.locked():  # another call of it runs: its client may leave meanwhile
            watch_disconnect()
        await transaction.lock.acquire()
        if not transaction.open:  # finished (or expired) while this call waited
            transaction.lock.release()
            self.get(transaction_id)  # raises transaction_expired or transaction_not_found
        return transaction

    async def finish(self, transaction_id: str, commit: bool) -> None:
        """Commit or roll back; a commit that fails (deferred constraint) rolls back and reports."""
        transaction = await self.enter(transaction_id)
        try:
            if commit:
                await self.statements.run(transaction.conn, _execute, "COMMIT")
        finally:
            self._close(transaction)
            transaction.lock.release()

    def _close(self, transaction: Transaction) -> None:
        """Roll back whatever is left and give the connection back to its pool."""
        if not transaction.open:
            return
        transaction.open = False
        self._open.pop(transaction.id, None)
        try:
            if transaction.conn.in_transaction:
                transaction.conn.rollback()
        except sqlite3.Error:
            transaction.conn.dirty = True
        transaction.pool.release(transaction.conn)
        self._count()

    def _count(self) -> None:
        self.metrics.open_transactions.set(len(self._open))

    # Savepoints ---------------------------------------------------------------

    async def savepoint(self, transaction_id: str, name: str, statement: str) -> None:
        if not SAVEPOINT_NAME.fullmatch(name):
            raise ApiError("invalid_request", f"Invalid savepoint name {name!r}: use letters, digits and '_'")
        transaction = await self.enter(transaction_id)
        try:
            await self.statements.run(transaction.conn, _execute, statement.format(name=name))
        except ApiError as exc:
            if "no such savepoint" in exc.message:
                raise ApiError("invalid_request", f"Savepoint '{name}' does not exist") from None
            raise
        finally:
            transaction.leave()

    # Expiry and shutdown ------------------------------------------------------

    def start(self) -> None:
        self._reaper = asyncio.get_running_loop().create_task(self._expire_forever(), name="phantomdb-reaper")

    async def _expire_forever(self) -> None:
        interval = min(1.0, self.timeout / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                self.expire_idle()
            except Exception:
                logger.exception("Expiring idle transactions failed")

    def expire_idle(self) -> None:
        now = asyncio.get_running_loop().time()
        for transaction in list(self._open.values()):
            if not transaction.lock.locked() and now - transaction.last_used > self.timeout:
                logger.info(
                    "Transaction on database '%s' idled past %g s: rolled back",
                    transaction.database,
                    self.timeout,
                )
                self._end(transaction, f"idled for more than {self.timeout:g} s and was rolled back")

    def end_broken(self, transaction: Transaction, why: str) -> None:
        """End a transaction that can no longer go on (SQLite rolled it back, its client stalled)."""
        self._end(transaction, f"was rolled back: {why}")

    def _end(self, transaction: Transaction, reason: str) -> None:
        self._close(transaction)
        self._expired[transaction.id] = reason
        if len(self._expired) > _REMEMBERED_EXPIRED:
            self._expired.popitem(last=False)

    def close_database(self, database: str) -> None:
        """Roll back every transaction on ``database`` (it is being dropped)."""
        for transaction in list(self._open.values()):
            if transaction.database == database:
                self._close(transaction)

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for transaction in list(self._open.values()):
            self._close(transaction)


def _execute(conn: sqlite3.Connection, sql: str) -> None:
    conn.execute(sql)


# Handlers -------------------------------------------------------------------


async def begin(request: Request) -> Response:
    body = request.json_object()
    database = text_field(body, "database", required=True)
    transactions = request.app.transactions
    transaction = await transactions.begin(database, bool_field(body, "foreign_keys", True))
    timeout = transactions.timeout
    body = {
        "id": transaction.id,
        "database": database,
        "timeout": int(timeout) if timeout.is_integer() else timeout,
    }
    return json_response(body, 201)


async def commit(request: Request) -> Response:
    await request.app.transactions.finish(request.params["id"], commit=True)
    return no_content()


async def rollback(request: Request) -> Response:
    await request.app.transactions.finish(request.params["id"], commit=False)
    return no_content()


async def create_savepoint(request: Request) -> Response:
    name = text_field(request.json_object(), "name", required=True)
    await request.app.transactions.savepoint(request.params["id"], name, 'SAVEPOINT "{name}"')
    return json_response({"name": name}, 201)


async def release_savepoint(request: Request) -> Response:
    await request.app.transactions.savepoint(
        request.params["id"], request.params["name"], 'RELEASE SAVEPOINT "{name}"'
    )
    return no_content()


async def rollback_to_savepoint(request: Request) -> Response:
    name = request.params["name"]
    await request.app.transactions.savepoint(request.params["id"], name, 'ROLLBACK TO SAVEPOINT "{name}"')
    return no_content()
