"""The read-through query-result cache of phantomdb_django (docs/cache.md).

Public API: ``disabled()`` (a context manager and decorator: reads in it
bypass the cache, writes still invalidate), ``invalidate()``, ``clear()``,
``stats()`` and the ``post_invalidation`` signal.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

from .link import caching_disabled
from .store import post_invalidation

__all__ = ["clear", "disabled", "invalidate", "post_invalidation", "stats"]


class disabled(contextlib.ContextDecorator):
    """Reads inside bypass the cache (in this thread or task); writes still invalidate."""

    def __enter__(self) -> disabled:
        self._token = caching_disabled.set(True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        caching_disabled.reset(self._token)


def _store(using: str) -> Any:
    from phantomdb_django.base import DatabaseWrapper

    wrapper = connections[using]
    if not isinstance(wrapper, DatabaseWrapper):
        raise ValueError(f"Database {using!r} does not use the phantomdb_django backend")
    wrapper.ensure_connection()
    return wrapper.query_cache


def invalidate(*models_or_tables: type[Model] | str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Invalidate the cached reads of these models or table names (none given: every table)."""
    store = _store(using)
    if store is None:
        return
    tables = [item if isinstance(item, str) else item._meta.db_table for item in models_or_tables]
    store.invalidate(connections[using].settings_dict["NAME"], tables or None, "manual")


def clear(using: str = DEFAULT_DB_ALIAS) -> None:
    """Drop every entry this process holds for ``using``."""
    store = _store(using)
    if store is not None:
        store.clear()


def stats(using: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """Hits, misses, bypasses by reason, entries, evictions, invalidations per table, coherence."""
    store = _store(using)
    if store is None:
        return {"enabled": False}
    return {"enabled": True, **store.stats()}
