"""SQLite work off the event loop: worker threads, the statement time limit, and cancellation.

SQLite releases the GIL while it works, so statements run on a pool of worker
threads and the event loop stays free for ``/health`` and other databases;
reads of different requests run in parallel. Each statement gets a timer on
the loop: at ``--statement-timeout`` it calls ``Connection.interrupt()`` (safe
from any thread), and SQLite stops at its next step. A call whose client went
away is cancelled by the application, which interrupts its statement the same
way. Either way the connection is handed back only after its thread let go of it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from phantomdb.server.errors import ApiError, translate_sqlite_error
from phantomdb.server.tracing import sqlite_span, tracing

if TYPE_CHECKING:
    from phantomdb.server.config import Settings
    from phantomdb.server.storage import StorageConnection

T = TypeVar("T")


def statement_timeout(timeout: float) -> ApiError:
    return ApiError(
        "statement_timeout",
        f"The statement ran longer than the server's statement time limit of {timeout:g} s and was"
        " interrupted: make it cheaper (an index, a narrower condition), or raise the server's"
        " --statement-timeout",
    )


class Statements:
    """The worker threads of one server and the time limit of every statement they run."""

    def __init__(self, settings: Settings):
        self.timeout = settings.statement_timeout
        self._threads = concurrent.futures.ThreadPoolExecutor(
            settings.statement_threads, thread_name_prefix="phantomdb-sqlite"
        )

    async def run(self, conn: StorageConnection, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on a worker thread, interrupted at the time limit or on cancellation.

        SQLite's errors come back as the ``ApiError`` the client sees.
        """
        if tracing():
            with sqlite_span():
                return await self._run(conn, fn, *args)
        return await self._run(conn, fn, *args)

    async def _run(self, conn: StorageConnection, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        conn.policy.refusal = None
        work = self._threads.submit(fn, conn, *args)
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            conn.interrupt()

        timer = loop.call_later(self.timeout, expire)
        try:
            return await asyncio.wrap_future(work)
        except asyncio.CancelledError:
            conn.interrupt()
            await _finished(work)
            raise
        except (sqlite3.Error, OverflowError) as exc:
            if expired:
                raise statement_timeout(self.timeout) from None
            refusal = conn.policy.refusal  # a DENY always fails the statement's preparation
            if refusal is not None:
                raise ApiError("not_supported", f"Not allowed: {refusal}") from None
            raise translate_sqlite_error(exc) from None
        finally:
            timer.cancel()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a worker thread: file work that holds no connection (create a database)."""
        return await asyncio.wrap_future(self._threads.submit(fn, *args))

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)


async def _finished(work: concurrent.futures.Future[Any]) -> None:
    """Wait until an interrupted statement's thread is done with its connection."""
    waiter = asyncio.wrap_future(work)
    while not waiter.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([waiter])
    if not waiter.cancelled():
        waiter.exception()  # "interrupted", as asked: retrieved, so asyncio does not report it
