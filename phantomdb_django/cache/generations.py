"""Table generations: what makes a cached entry valid, and a write invalidate in O(1).

An entry records the generation token of every table it read (and of its
database as a whole); a write replaces the tokens of its tables, so every
entry that read them stops matching at once, whatever the cache's size.
Tokens are taken before the read runs: a write that lands while the read is
in flight has already replaced them, so the late result can never be stored
as current.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

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
    nothing cached before becomes valid again. Tokens are opaque: an entry
    only ever compares them with what ``current`` returns in the same process.
    """

    def __init__(self, cache_alias: str):
        self.cache_alias = cache_alias
        # Per cache object (one per thread, new when CACHES changes): how its tokens are read.
        self._readers: weakref.WeakKeyDictionary[Any, _Reader] = weakref.WeakKeyDictionary()

    @property
    def cache(self) -> Any:
        return caches[self.cache_alias]

    def current(self, keys: tuple[GenerationKey, ...]) -> tuple[Any, ...]:
        """The tokens of ``keys`` in one round trip (two when a key is new)."""
        cache = self.cache
        try:
            reader = self._readers.get(cache)
            if reader is None:
                reader = _reader_of(cache)
                with contextlib.suppress(TypeError):  # a backend object that takes no weak reference
                    self._readers[cache] = reader
            tokens = reader(keys)
            if None in tokens:
                for key, token in zip(keys, tokens):
                    if token is None:
                        cache.add(_name(key), secrets.token_hex(8), timeout=None)
                tokens = reader(keys)
        except Exception as exc:  # any failure of the store's client: connection, timeout, protocol
            raise SharedStoreError(f"shared cache {self.cache_alias!r} is unreachable: {exc}") from exc
        return tokens

    def bump(self, keys: Iterable[GenerationKey]) -> None:
        tokens = {_name(key): secrets.token_hex(8) for key in keys}
        try:
            self.cache.set_many(tokens, timeout=None)
        except Exception as exc:
            raise SharedStoreError(f"shared cache {self.cache_alias!r} is unreachable: {exc}") from exc


#: Reads the tokens of some generation keys, None for a key the store does not hold.
_Reader = Callable[[tuple[GenerationKey, ...]], tuple[Any, ...]]


def _reader_of(cache: Any) -> _Reader:
    """One ``MGET`` on the redis client under Django's RedisCache; ``get_many`` on any other backend.

    Django's RedisCache.get_many makes, validates and unpickles every key on
    every call, more than the cost of the round trip itself. Under it the
    tokens are read as the bytes Redis holds (opaque, like any token), with
    the keys made once; other backends (Memcached, database, file) keep their
    own ``get_many``.
    """
    if type(cache) is RedisCache:
        client = cache._cache.get_client(None)  # a redis.Redis over the alias's own connection pool
        # The store's names of each set of keys (one per set of tables a read can have).
        names_of: dict[tuple[GenerationKey, ...], list[str]] = {}

        def mget(keys: tuple[GenerationKey, ...]) -> tuple[Any, ...]:
            names = names_of.get(keys)
            if names is None:
                names = names_of[keys] = [cache.make_and_validate_key(_name(key)) for key in keys]
            return tuple(client.mget(names))

        return mget

    def get_many(keys: tuple[GenerationKey, ...]) -> tuple[Any, ...]:
        names = [_name(key) for key in keys]
        found = cache.get_many(names)
        return tuple([found.get(name) for name in names])

    return get_many
