"""Table generations: what makes a cached entry valid, and a write invalidate in O(1).

An entry records the generation token of every table it read (and of its
database as a whole); a write replaces the tokens of its tables, so every
entry that read them stops matching at once, whatever the cache's size.
Tokens are taken before the read runs: a write that lands while the read is
in flight has already replaced them, so the late result can never be stored
as current.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from typing import Any

from django.core.cache import caches

#: (database, table); table None stands for the whole database.
GenerationKey = tuple[str, str | None]


class SharedStoreError(Exception):
    """The shared generation store (a Django cache alias) could not be reached."""


class ProcessGenerations:
    """Generations kept in this process: counters that only grow, so no entry becomes valid again."""

    def __init__(self) -> None:
        self._tokens: dict[GenerationKey, int] = {}
        self._counter = itertools.count(1)

    def current(self, keys: tuple[GenerationKey, ...]) -> tuple[Any, ...]:
        tokens = self._tokens
        return tuple([tokens.get(key, 0) for key in keys])

    def bump(self, keys: Iterable[GenerationKey]) -> None:
        for key in keys:
            self._tokens[key] = next(self._counter)


def _name(key: GenerationKey) -> str:
    database, table = key
    return f"phantomdb:generation:{database}" if table is None else f"phantomdb:generation:{database}:{table}"


class SharedGenerations:
    """Generations in a Django cache alias (Redis, Memcached) that every process reads.

    Tokens are random, not counters: if the store loses a key (eviction,
    restart, flush) the key gets a new token, which no old entry holds, so
    nothing cached before becomes valid again.
    """

    def __init__(self, cache_alias: str):
        self.cache_alias = cache_alias

    @property
    def cache(self) -> Any:
        return caches[self.cache_alias]

    def current(self, keys: tuple[GenerationKey, ...]) -> tuple[Any, ...]:
        """The tokens of ``keys`` in one round trip (two when a key is new)."""
        names = [_name(key) for key in keys]
        cache = self.cache
        try:
            found = cache.get_many(names)
            missing = [name for name in names if name not in found]
            if missing:
                for name in missing:
                    cache.add(name, secrets.token_hex(8), timeout=None)
                found.update(cache.get_many(missing))
        except Exception as exc:  # any failure of the store's client: connection, timeout, protocol
            raise SharedStoreError(f"shared cache {self.cache_alias!r} is unreachable: {exc}") from exc
        return tuple([found.get(name) for name in names])

    def bump(self, keys: Iterable[GenerationKey]) -> None:
        tokens = {_name(key): secrets.token_hex(8) for key in keys}
        try:
            self.cache.set_many(tokens, timeout=None)
        except Exception as exc:
            raise SharedStoreError(f"shared cache {self.cache_alias!r} is unreachable: {exc}") from exc
