"""The shared coherence mode: table generations in Redis, so every process sees every write.

Two aliases on the same database stand for two processes here (each alias
has its own entries, both read the same generations in a real
redis-server); ``test_cache_soak.py`` runs real processes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.db.models import F
from django.test import override_settings

from phantomdb.calls import STATEMENTS
from phantomdb_django import cache
from tests.backend.conftest import Phantom, extra_database, recorded_calls
from tests.backend.testapp.models import User
from tests.conftest import RedisProcess

SHARED = "phantomdb_shared"


@pytest.fixture
def shared(redis_server: RedisProcess) -> Iterator[RedisProcess]:
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        SHARED: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        },
    }
    with override_settings(CACHES=caches_setting):
        yield redis_server
        caches[SHARED].close()


@contextlib.contextmanager
def web_processes(phantom: Phantom, **options: Any) -> Iterator[tuple[str, str]]:
    """Two aliases of the session database, each with its own entries, sharing generations."""
    cache_options = {"COHERENCE": "auto", "SHARED_CACHE": SHARED, **options}
    settings = {"HOST": phantom.url, "NAME": phantom.database, "OPTIONS": {"CACHE": cache_options}}
    with extra_database("web1", **settings), extra_database("web2", **settings):
        # Earlier tests cleaned the tables around the backend: start from empty stores.
        cache.clear(using="web1"), cache.clear(using="web2")
        yield "web1", "web2"


def ages(alias: str) -> list[int]:
    return list(User.objects.using(alias).order_by("age").values_list("age", flat=True))


def server_reads_of(alias: str, read) -> tuple[Any, int]:
    with recorded_calls(alias) as recorded:
        value = read()
    return value, sum(entry.operation in STATEMENTS for entry in recorded)


def make_user(n: int) -> User:
    return User.objects.create(first_name="F", last_name="L", email=f"u{n}@example.com", age=n)


def test_auto_coherence_is_shared_on_redis(shared: RedisProcess, phantom: Phantom) -> None:
    with web_processes(phantom) as (web1, _):
        assert cache.stats(using=web1)["coherence"] == "shared"


def test_a_write_in_one_process_invalidates_the_entries_of_another(
    shared: RedisProcess, phantom: Phantom
) -> None:
    make_user(1)
    with web_processes(phantom) as (web1, web2):
        assert ages(web2) == [1]
        assert server_reads_of(web2, lambda: ages(web2)) == ([1], 0)  # a hit, checked against Redis
        User.objects.using(web1).update(age=F("age") + 1)
        assert server_reads_of(web2, lambda: ages(web2)) == ([2], 1)


def test_a_commit_in_one_process_invalidates_the_entries_of_another(
    shared: RedisProcess, phantom: Phantom
) -> None:
    from django.db import transaction

    make_user(1)
    with web_processes(phantom) as (web1, web2):
        assert ages(web2) == [1]
        with transaction.atomic(using=web1):
            User.objects.using(web1).update(age=5)
            assert ages(web2) == [1]  # not committed yet: the other process still sees the old row
        assert ages(web2) == [5]


def test_a_flushed_store_never_makes_an_old_entry_valid(shared: RedisProcess, phantom: Phantom) -> None:
    make_user(1)
    with web_processes(phantom) as (_, web2):
        assert ages(web2) == [1]
        caches[SHARED].clear()  # FLUSHDB: every generation token is gone
        with phantom.client() as client:
            client.update(phantom.database, "users", {"age": 9})
        assert ages(web2) == [9]


def test_an_unreachable_store_makes_reads_bypass_without_errors(
    shared: RedisProcess, phantom: Phantom
) -> None:
    make_user(1)
    with web_processes(phantom) as (web1, web2):
        assert ages(web2) == [1]
        shared.stop()
        try:
            User.objects.using(web1).update(age=3)  # its invalidation cannot reach Redis
            for _ in range(2):
                assert server_reads_of(web2, lambda: ages(web2)) == ([3], 1)
            stats = cache.stats(using=web2)
            assert stats["bypasses"]["shared_store_error"] >= 2 and stats["shared_errors"] >= 2
            assert cache.stats(using=web1)["pending_invalidations"] == 1
        finally:
            shared.start()
        assert ages(web2) == [3]
        User.objects.using(web1).filter(age=0).exists()  # any call sends what was pending
        assert cache.stats(using=web1)["pending_invalidations"] == 0


def test_a_hit_checks_the_generations_in_one_round_trip(shared: RedisProcess, phantom: Phantom) -> None:
    make_user(1)
    with web_processes(phantom) as (_, web2):
        ages(web2)
        client = caches[SHARED]._cache.get_client(write=False)
        before = client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0)
        ages(web2)
        after = client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0)
        assert after - before == 1


def test_a_backend_other_than_redis_is_read_with_its_get_many(phantom: Phantom, tmp_path: Any) -> None:
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        SHARED: {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)},
    }
    make_user(1)
    with override_settings(CACHES=caches_setting), web_processes(phantom) as (web1, web2):
        assert cache.stats(using=web2)["coherence"] == "shared"
        assert ages(web2) == [1]
        assert server_reads_of(web2, lambda: ages(web2)) == ([1], 0)
        User.objects.using(web1).update(age=F("age") + 1)
        assert server_reads_of(web2, lambda: ages(web2)) == ([2], 1)
