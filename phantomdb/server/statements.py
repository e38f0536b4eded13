"""SQLite work off the event loop: worker threads, the statement time limit, and cancellation.

SQLite releases the GIL while it works, so statements run on a pool of worker
threads and the event loop stays free for ``/health`` and other databases;
reads of different requests run in parallel. Each statement gets a timer on
the loop: at ``--statement-timeout`` it calls ``Connection.interrupt()`` (safe
from any thread), and SQLite stops at its next step. A call whose client went
away is cancelled by the application, which interrupts its statement the same
way. Either way the connection is handed back only after its thread let go of it.

A read (which has nothing to undo) first runs right on the loop, under a
progress handler that interrupts it once it has held the loop for
``INLINE_BUDGET``: a point select takes ~20 us, the two thread hand-offs of a
worker ~150 us here (shared/PERF-NOTES.md). A read that overruns runs again on
a worker, and so does every later run of the same statement. The handler only
runs between SQLite's steps, so only reads whose every step is short may try
(``may_run_inline``): no function calls (one ``REGEXP``, ``COUNT(*)`` of a whole
table or ``randomblob()`` is one long step) and no pattern operators.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import re
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from phantomdb.server.errors import ApiError, translate_sqlite_error
from phantomdb.server.tracing import sqlite_span, tracing

if TYPE_CHECKING:
    from phantomdb.server.config import Settings
    from phantomdb.server.storage import StorageConnection

T = TypeVar("T")

# How long a read may hold the event loop before it is moved to a worker, and how
# many SQLite VM steps pass between two looks at the clock.
INLINE_BUDGET = 0.001
_STEPS_PER_CHECK = 100
# What makes one step of a statement long: a function call (a name, bare or quoted, then a
# parenthesis; not a keyword such as IN or WHERE), a pattern operator.
_NOT_CALLS = (
    "IN|WHERE|ON|AND|OR|NOT|EXISTS|FROM|JOIN|USING|WHEN|THEN|ELSE|SELECT|AS|BY|IS|CASE|DISTINCT|ALL"
    "|UNION|EXCEPT|INTERSECT|HAVING|VALUES|LIMIT|OFFSET"
)
_LONG_STEPS = re.compile(
    rf"(?:\b(?!(?:{_NOT_CALLS})\b)[A-Za-z_][\w$]*|[\"`\]])\s*\(|\b(?:LIKE|GLOB|REGEXP|MATCH)\b",
    re.IGNORECASE,
)
# Statements that overran the budget once, kept up to this many.
_SLOW_LIMIT = 1024


#: Called before a request's work leaves the loop for a worker thread (set per request
#: task by the application: it starts watching for the client's disconnect).
before_hand_off: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "phantomdb_before_hand_off", default=None
)


class _Overran(Exception):
    """An inline read held the loop longer than ``INLINE_BUDGET``."""


@functools.lru_cache(maxsize=1024)
def may_run_inline(sql: str) -> bool:
    """Whether every step of the read ``sql`` is short, so that it may run inline."""
    return _LONG_STEPS.search(sql) is None


def watch_disconnect() -> None:
    """Before a request waits for anything that may take long: watch for its client leaving."""
    hand_off = before_hand_off.get()
    if hand_off is not None:
        hand_off()


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
        self._slow: set[str] = set()

    async def run(
        self, conn: StorageConnection, fn: Callable[..., T], *args: Any, read: str | None = None
    ) -> T:
        """``fn(conn, *args)`` on a worker thread, interrupted at the time limit or on cancellation.

        ``read`` names the statement when ``fn`` only reads, so that running it
        twice is harmless: then it may run inline first. SQLite's errors come
        back as the ``ApiError`` the client sees.
        """
        if tracing():
            with sqlite_span():
                return await self._read(read, conn, fn, *args)
        return await self._read(read, conn, fn, *args)

    async def _read(self, read: str | None, conn: StorageConnection, fn: Callable[..., T], *args: Any) -> T:
        if read is not None and read not in self._slow:
            started = time.perf_counter()
            try:
                return self._inline(conn, fn, *args)
            except _Overran:
                pass  # run again on a worker, below
            finally:
                # A step the handler could not interrupt: the next run goes to a worker.
                if time.perf_counter() - started > INLINE_BUDGET:
                    self._remember_slow(read)
        return await self._run(conn, fn, *args)

    def _remember_slow(self, statement: str) -> None:
        if len(self._slow) >= _SLOW_LIMIT:
            self._slow.clear()
        self._slow.add(statement)

    @staticmethod
    def _inline(conn: StorageConnection, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on the loop; ``_Overran`` (and nothing done) past the budget."""
        deadline = time.perf_counter() + INLINE_BUDGET
        overran = False

        def check() -> bool:
            nonlocal overran
            overran = time.perf_counter() > deadline
            return overran

        conn.policy.refusal = None
        conn.set_progress_handler(check, _STEPS_PER_CHECK)
        try:
            return fn(conn, *args)
        except (sqlite3.Error, OverflowError) as exc:
            if overran:
                raise _Overran from None
            raise _failure(conn, exc) from None
        finally:
            conn.set_progress_handler(None, 0)

    async def _run(self, conn: StorageConnection, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        conn.policy.refusal = None
        watch_disconnect()
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
            raise _failure(conn, exc) from None
        finally:
            timer.cancel()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a worker thread: file work that holds no connection (create a database)."""
        return await asyncio.wrap_future(self._threads.submit(fn, *args))

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)


def _failure(conn: StorageConnection, exc: sqlite3.Error | OverflowError) -> ApiError:
    """The error the client sees for what SQLite raised."""
    refusal = conn.policy.refusal  # a DENY always fails the statement's preparation
    if refusal is not None:
        return ApiError("not_supported", f"Not allowed: {refusal}")
    return translate_sqlite_error(exc)


async def _finished(work: concurrent.futures.Future[Any]) -> None:
    """Wait until an interrupted statement's thread is done with its connection."""
    waiter = asyncio.wrap_future(work)
    while not waiter.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([waiter])
    if not waiter.cancelled():
        waiter.exception()  # "interrupted", as asked: retrieved, so asyncio does not report it
