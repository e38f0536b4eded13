"""The entries, generations and counts of one database alias's cache in this process.

Every connection (thread) of the alias shares one store, so a result one
request read serves the next request on another thread. Entries live in a
cachetools LRU; validity is decided by generations (``generations.py``) and
the entry's expiry, nothing else.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from django.dispatch import Signal

from phantomdb.client import Result

from .generations import GenerationKey, ProcessGenerations, SharedGenerations, SharedStoreError
from .settings import PROCESS, CacheSettings

# One for the whole process: aliases that name the same database see each other's writes.
PROCESS_GENERATIONS = ProcessGenerations()

#: Sent after tables were invalidated: ``alias``, ``database``, ``tables``
#: (None: every table of the database) and ``reason`` (write, commit, manual).
post_invalidation = Signal()


@dataclass(frozen=True, slots=True)
class Entry:
    result: Result
    tokens: tuple[Any, ...]
    expires: float


class _Entries(LRUCache):
    """An LRU that counts what it evicts to stay within its size."""

    evictions = 0

    def popitem(self) -> Any:
        self.evictions += 1
        return super().popitem()


class QueryCacheStore:
    def __init__(self, alias: str, settings: CacheSettings, coherence: str):
        self.alias = alias
        self.settings = settings
        self.coherence = coherence
        self.generations = (
            PROCESS_GENERATIONS if coherence == PROCESS else SharedGenerations(settings.shared_cache)
        )
        self._entries = _Entries(settings.maxsize)
        self._lock = threading.Lock()
        # Invalidations the shared store missed while it was unreachable, sent again first thing.
        self._pending: set[GenerationKey] = set()
        self.hits = self.misses = 0
        self.bypasses: Counter[str] = Counter()
        self.invalidations: Counter[str] = Counter()
        self.shared_errors = 0

    # -- reads -------------------------------------------------------------------------

    def tokens(self, keys: tuple[GenerationKey, ...]) -> tuple[Any, ...] | None:
        """The current generations of ``keys``; None when they cannot be known now."""
        if self.coherence == PROCESS:
            return self.generations.current(keys)
        try:
            if self._pending:
                self._send_pending()
            tokens = self.generations.current(keys)
        except SharedStoreError:
            self.count_shared_error()
            return None
        return None if None in tokens else tokens

    def lookup(self, key: Any, tokens: tuple[Any, ...]) -> Result | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.tokens == tokens and entry.expires > time.monotonic():
                self.hits += 1
                return entry.result
            self.misses += 1
            return None

    def fill(self, key: Any, tokens: tuple[Any, ...], result: Result, ttl: float) -> None:
        if len(result.rows) > self.settings.max_rows or ttl <= 0:
            return
        entry = Entry(result, tokens, time.monotonic() + ttl)
        with self._lock:
            self._entries[key] = entry

    def count_bypass(self, reason: str) -> None:
        with self._lock:
            self.bypasses[reason] += 1

    def count_shared_error(self) -> None:
        with self._lock:
            self.shared_errors += 1
            self.bypasses["shared_store_error"] += 1

    # -- writes ------------------------------------------------------------------------

    def invalidate(self, database: str, tables: Iterable[str] | None, reason: str) -> None:
        """Make every entry that read ``tables`` of ``database`` (None: any table) unreachable."""
        names = None if tables is None else tuple(tables)
        keys = [(database, None)] if names is None else [(database, table) for table in names]
        try:
            if self._pending:
                self._send_pending()
            self.generations.bump(keys)
        except SharedStoreError:
            with self._lock:
                self._pending.update(keys)
                self.shared_errors += 1
        with self._lock:
            for table in names or ("*",):
                self.invalidations[table] += 1
        post_invalidation.send(
            sender=QueryCacheStore, alias=self.alias, database=database, tables=names, reason=reason
        )

    def _send_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, set()
        try:
            self.generations.bump(pending)
        except SharedStoreError:
            with self._lock:
                self._pending |= pending
            raise

    # -- the whole store ---------------------------------------------------------------

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def counters(self) -> dict[str, int]:
        """The counts telemetry reports as gauges and counters."""
        return {
            "entries": len(self._entries),
            "evictions": self._entries.evictions,
            "shared_errors": self.shared_errors,
        }

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "coherence": self.coherence,
                "hits": self.hits,
                "misses": self.misses,
                "bypasses": dict(self.bypasses),
                "entries": len(self._entries),
                "evictions": self._entries.evictions,
                "invalidations": dict(self.invalidations),
                "shared_errors": self.shared_errors,
                "pending_invalidations": len(self._pending),
            }


_stores: dict[str, QueryCacheStore] = {}
_stores_lock = threading.Lock()


def store_for(alias: str, settings: CacheSettings, coherence: str) -> QueryCacheStore:
    """The process's store of ``alias``; a new one when its settings changed."""
    with _stores_lock:
        store = _stores.get(alias)
        if store is None or store.settings != settings or store.coherence != coherence:
            store = _stores[alias] = QueryCacheStore(alias, settings, coherence)
        return store
