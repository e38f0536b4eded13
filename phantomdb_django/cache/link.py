"""The query cache link: answers repeated reads, invalidates what every write touches.

It decides from the Call alone. A read is cached when its tables are known,
it is not volatile, every table may be cached, and, inside a transaction,
the transaction has not written any of them (a connection always reads its
own writes). A write in autocommit invalidates its tables once it returned;
a write inside a transaction is remembered and invalidated for everyone when
the COMMIT returns, and forgotten at ROLLBACK: uncommitted rows never reach
an entry another connection can read.
"""

from __future__ import annotations

import contextvars
from typing import Any

from phantomdb import calls
from phantomdb.calls import Call
from phantomdb.chain import Execute, Params
from phantomdb.client import Result

from .generations import GenerationKey
from .store import QueryCacheStore

#: Set by ``phantomdb_django.cache.disabled()``: reads bypass, writes still invalidate.
caching_disabled: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "phantomdb_caching_disabled", default=False
)

HIT, MISS, BYPASS = "hit", "miss", "bypass"


class CacheOutcome:
    """What the cache did with a connection's call in flight: ``hit``, ``miss`` or ``bypass``
    (every write, and every read it passed by). Telemetry reports it.

    One per connection, shared by its cache and telemetry links: a connection
    runs one call at a time, so a slot is enough (a context variable's set,
    get and reset cost ten times as much: 3,900 instructions a call).
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = BYPASS


_READS = frozenset({calls.SELECT, calls.QUERY})
_SERVER_WRITES = frozenset({calls.CREATE_DATABASE, calls.DROP_DATABASE, calls.CLONE_DATABASE})
# A transaction that wrote tables it cannot name.
_EVERY_TABLE = None


class QueryCache:
    def __init__(
        self,
        next_execute: Execute,
        *,
        store: QueryCacheStore,
        database: str,
        written: dict[str, set[str] | None],
        outcome: CacheOutcome,
    ):
        self.next_execute = next_execute
        self.store = store
        self.outcome = outcome
        self.database = database
        # Tables each open transaction of the connection wrote (None: unknown ones),
        # invalidated at its commit; owned by the connection, so it outlives a rebuilt chain.
        self.written = written
        # Per set of tables a read has: its generation keys and its entries' TTL.
        self._reads: dict[frozenset[str], tuple[tuple[GenerationKey, ...], float]] = {}

    def __call__(self, call: Call, params: Params, transaction: str | None) -> Result:
        operation = call.operation
        if operation in _READS and call.reads_only:
            return self._read(call, params, transaction)
        if operation == calls.COMMIT:
            try:
                return self.next_execute(call, params, transaction)
            finally:
                self._end(transaction, committed=True)
        if operation == calls.ROLLBACK:
            try:
                return self.next_execute(call, params, transaction)
            finally:
                self._end(transaction, committed=False)
        if not call.writes:
            return self.next_execute(call, params, transaction)
        try:
            return self.next_execute(call, params, transaction)
        finally:
            # Failed writes too: a lost connection may have been applied.
            self._wrote(call, transaction)

    # -- reads -------------------------------------------------------------------------

    def _read(self, call: Call, params: Params, transaction: str | None) -> Result:
        store = self.store
        tables = call.tables_read
        reason = "unknown_tables" if tables is None else self._bypass_reason(call, tables, transaction)
        if tables is None or reason is not None:
            store.count_bypass(reason or "unknown_tables")
            return self.next_execute(call, params, transaction)
        keys, ttl = self._reads.get(tables) or self._read_of(tables)
        tokens = store.tokens(keys)
        if tokens is None:
            return self.next_execute(call, params, transaction)
        key = (self.database, call, tuple(params) if params else ())
        try:
            hit = store.lookup(key, tokens)
        except TypeError:  # a parameter value that cannot be a key (a list, a memoryview)
            store.count_bypass("unhashable")
            return self.next_execute(call, params, transaction)
        if hit is not None:
            self.outcome.value = HIT
            return hit
        self.outcome.value = MISS
        result = self.next_execute(call, params, transaction)
        store.fill(key, tokens, result, ttl)
        return result

    def _read_of(self, tables: frozenset[str]) -> tuple[tuple[GenerationKey, ...], float]:
        """The database's generation key and each table's, and the TTL, worked out once per set of tables."""
        database = self.database
        keys = ((database, None), *((database, table) for table in tables))
        read = self._reads[tables] = (keys, self.store.settings.ttl_of(tables))
        return read

    def _bypass_reason(self, call: Call, tables: frozenset[str], transaction: str | None) -> str | None:
        if call.volatile:
            return "volatile"
        if call.stream:
            return "streamed"
        if caching_disabled.get():
            return "disabled"
        settings = self.store.settings
        if not tables.isdisjoint(settings.exclude_tables) or (
            settings.only_tables is not None and not tables <= settings.only_tables
        ):
            return "excluded"
        if transaction is not None and transaction in self.written:
            written = self.written[transaction]
            if written is _EVERY_TABLE or not written.isdisjoint(tables):
                return "own_writes"
        return None

    # -- writes ------------------------------------------------------------------------

    def _wrote(self, call: Call, transaction: str | None) -> None:
        tables = call.tables_written
        if call.operation in _SERVER_WRITES:
            self.store.invalidate(call.name or self.database, None, "write")
        elif transaction is None:
            self.store.invalidate(self.database, tables, "write")
        elif tables is None:
            self.written[transaction] = _EVERY_TABLE
        elif transaction not in self.written:
            self.written[transaction] = set(tables)
        elif (written := self.written[transaction]) is not _EVERY_TABLE:
            written.update(tables)

    def _end(self, transaction: str | None, *, committed: bool) -> None:
        if transaction is None or transaction not in self.written:
            return
        tables = self.written.pop(transaction)
        if committed:
            self.store.invalidate(self.database, tables, "commit")


def cache_link(store: QueryCacheStore, database: str, outcome: CacheOutcome) -> Any:
    """The link factory of ``store`` for one connection to ``database``, saying what it did in ``outcome``."""
    written: dict[str, set[str] | None] = {}

    def link(next_execute: Execute) -> QueryCache:
        return QueryCache(next_execute, store=store, database=database, written=written, outcome=outcome)

    return link
