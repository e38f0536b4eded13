"""The query cache: hits for repeated reads, and never a stale one.

Against a real PhantomDB Lite (and, for the shared mode, a real redis-server).
Whether a read reached the server is seen by a recording link placed after
the cache in the connection's chain.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import F
from django.test import override_settings

from phantomdb.calls import STATEMENTS
from phantomdb_django import cache
from phantomdb_django.cache.settings import parse_cache_settings
from tests.backend.conftest import Phantom, extra_database, recorded_calls
from tests.backend.testapp.models import Article, Tag, User
from tests.conftest import RedisProcess


def make_user(n: int, **fields: Any) -> User:
    defaults = {"first_name": f"F{n}", "last_name": f"L{n}", "email": f"u{n}@example.com", "age": n}
    return User.objects.create(**{**defaults, **fields})


@contextlib.contextmanager
def server_reads(alias: str = "default") -> Iterator[list[Any]]:
    """The statements that got past the cache to the server during the block."""
    with recorded_calls(alias) as recorded:
        reads: list[Any] = []
        yield reads
    reads.extend(entry for entry in recorded if entry.operation in STATEMENTS)


def ages(using: str = "default") -> list[int]:
    return list(User.objects.using(using).order_by("age").values_list("age", flat=True))


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    connection.ensure_connection()
    cache.clear()


# -- hits ----------------------------------------------------------------------------


def test_a_repeated_read_is_answered_by_the_cache() -> None:
    user = make_user(1)
    assert User.objects.get(pk=user.pk) == user
    hits = cache.stats()["hits"]  # counted since the process began: other modules' hits too
    with server_reads() as reads:
        assert User.objects.get(pk=user.pk) == user
        assert User.objects.get(pk=user.pk).email == "u1@example.com"
    assert reads == []
    assert cache.stats()["hits"] - hits == 2


def test_other_parameters_are_another_entry() -> None:
    make_user(1), make_user(2)
    assert User.objects.get(age=1).age == 1
    with server_reads() as reads:
        assert User.objects.get(age=2).age == 2
    assert len(reads) == 1


def test_a_join_and_an_aggregate_are_cached_too() -> None:
    author = make_user(1)
    Article.objects.create(title="t", author=author)
    first = (list(Article.objects.select_related("author")), User.objects.count())
    with server_reads() as reads:
        assert (list(Article.objects.select_related("author")), User.objects.count()) == first
    assert reads == []


def test_a_thread_reads_what_another_thread_cached() -> None:
    make_user(1)
    assert ages() == [1]
    seen: list[Any] = []

    def read() -> None:
        with server_reads() as reads:
            seen.append(ages())
        seen.append(reads)
        connections.close_all()

    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    assert seen == [[1], []]


# -- every write invalidates what it touched -----------------------------------------


WRITES: dict[str, Callable[[], object]] = {
    "create": lambda: make_user(9),
    "update": lambda: User.objects.filter(age=1).update(age=F("age") + 10),
    "delete": lambda: User.objects.filter(age=1).delete(),
    "save": lambda: User.objects.filter(age=1).get().save(),
    "bulk_create": lambda: User.objects.bulk_create([User(first_name="b", last_name="b", email="b@x.org")]),
    "bulk_update": lambda: User.objects.bulk_update(
        [User(pk=User.objects.get(age=1).pk, first_name="x", last_name="y", email="u1@example.com", age=5)],
        ["age"],
    ),
    "cursor": lambda: connection.cursor().execute("UPDATE users SET age = 7 WHERE age = 1"),
    "raw-sql-in-a-transaction": lambda: _in_atomic(
        lambda: connection.cursor().execute("DELETE FROM users WHERE age = 1")
    ),
}


def _in_atomic(statement: Callable[[], object]) -> None:
    with transaction.atomic():
        statement()


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_read_after_a_write_sees_the_write(write: Callable[[], object]) -> None:
    make_user(1), make_user(2)
    ages()  # cached
    with cache.disabled():
        write()
        expected = ages()
    assert expected != [1, 2] or write is WRITES["save"]
    with server_reads() as reads:
        assert ages() == expected
    assert len(reads) == 1


@pytest.mark.parametrize(
    ("change", "tagged"),
    [
        pytest.param(lambda article, tag: article.tags.add(tag), False, id="add"),
        pytest.param(lambda article, tag: article.tags.remove(tag), True, id="remove"),
        pytest.param(lambda article, tag: article.tags.clear(), True, id="clear"),
        pytest.param(lambda article, tag: article.tags.set([]), True, id="set"),
    ],
)
def test_many_to_many_changes_invalidate_reads_of_the_relation(change, tagged: bool) -> None:
    article = Article.objects.create(title="t", author=make_user(1))
    tag = Tag.objects.create(name="django")
    if tagged:
        article.tags.add(tag)
    assert list(article.tags.all()) == ([tag] if tagged else [])
    change(article, tag)
    assert list(article.tags.all()) == ([] if tagged else [tag])


def test_a_cascading_delete_invalidates_the_related_tables() -> None:
    author = make_user(1)
    Article.objects.create(title="t", author=author)
    assert Article.objects.count() == 1
    author.delete()
    assert Article.objects.count() == 0


def test_a_write_to_unknown_tables_invalidates_every_table_of_the_database() -> None:
    Tag.objects.create(name="a")
    assert Tag.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO tags (name) VALUES ('b')")
    assert Tag.objects.count() == 2


def test_a_write_that_lands_while_a_read_is_in_flight_leaves_no_stale_entry() -> None:
    make_user(1)
    with extra_database(
        "writer", HOST=connection.settings_dict["HOST"], NAME=connection.settings_dict["NAME"]
    ):

        def write_during_the_read(next_execute):
            def execute(call, params, transaction):
                result = next_execute(call, params, transaction)  # the read got the old rows...
                if call.operation in STATEMENTS and not call.writes:
                    User.objects.using("writer").update(age=50)  # ...and a write lands before it is stored
                return result

            return execute

        database = connection.connection
        links = database.links
        database.links = (*links, write_during_the_read)
        try:
            assert ages() == [1]
        finally:
            database.links = links
    assert ages() == [50]


# -- never cached ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "reason"),
    [
        pytest.param(lambda: list(User.objects.raw("SELECT * FROM users")), "unknown_tables", id="raw"),
        pytest.param(lambda: list(User.objects.order_by("?")), "volatile", id="random-order"),
        pytest.param(lambda: list(User.objects.filter(created_at__lte=F("created_at"))), None, id="plain"),
    ],
)
def test_unknown_and_volatile_reads_always_reach_the_server(read, reason: str | None) -> None:
    make_user(1)
    before = cache.stats()["bypasses"]
    read()
    with server_reads() as reads:
        read()
    assert len(reads) == (0 if reason is None else 1)
    if reason:
        assert cache.stats()["bypasses"][reason] - before.get(reason, 0) == 2


def test_a_locking_read_is_never_cached() -> None:
    make_user(1)
    for _ in range(2):
        with transaction.atomic(), server_reads() as reads:
            list(User.objects.select_for_update())
        assert len(reads) == 1


def test_excluded_tables_are_never_cached() -> None:
    from django.contrib.sessions.models import Session

    for _ in range(2):
        with server_reads() as reads:
            Session.objects.filter(session_key="x").exists()
        assert len(reads) == 1


# -- transactions ---------------------------------------------------------------------


def test_inside_a_transaction_a_connection_reads_its_own_writes() -> None:
    make_user(1)
    assert ages() == [1]
    with transaction.atomic():
        make_user(2)
        with server_reads() as reads:
            assert ages() == [1, 2]
        assert len(reads) == 1
    assert ages() == [1, 2]


def test_uncommitted_rows_never_reach_another_connection() -> None:
    make_user(1)
    assert ages() == [1]
    seen: list[list[int]] = []
    inside, done = threading.Event(), threading.Event()

    def other_connection() -> None:
        inside.wait(10)
        seen.append(ages())  # committed data only: from the cache, and still right
        done.set()
        connections.close_all()

    worker = threading.Thread(target=other_connection)
    worker.start()
    with transaction.atomic():
        make_user(2)
        ages()
        inside.set()
        done.wait(10)
    worker.join()
    assert seen == [[1]]
    assert ages() == [1, 2]


def test_a_rolled_back_transaction_leaves_nothing_behind() -> None:
    make_user(1)
    assert ages() == [1]
    with contextlib.suppress(ZeroDivisionError), transaction.atomic():
        make_user(2)
        assert ages() == [1, 2]
        raise ZeroDivisionError
    assert ages() == [1]


def test_a_rolled_back_savepoint_leaves_nothing_behind() -> None:
    make_user(1)
    with transaction.atomic():
        with contextlib.suppress(ZeroDivisionError), transaction.atomic():
            make_user(2)
            assert ages() == [1, 2]
            raise ZeroDivisionError
        assert ages() == [1]
    assert ages() == [1]


# -- bounds ---------------------------------------------------------------------------


@contextlib.contextmanager
def cached_alias(phantom: Phantom, **cache_options: Any) -> Iterator[str]:
    with extra_database("tuned", HOST=phantom.url, NAME=phantom.database, OPTIONS={"CACHE": cache_options}):
        yield "tuned"


def test_entries_expire_after_their_ttl(phantom: Phantom) -> None:
    make_user(1)
    with cached_alias(phantom, TTL=0.2) as alias:
        ages(alias)
        with server_reads(alias) as reads:
            ages(alias)
        assert reads == []
        threading.Event().wait(0.3)
        with server_reads(alias) as reads:
            ages(alias)
        assert len(reads) == 1


def test_a_table_ttl_of_zero_keeps_that_table_out(phantom: Phantom) -> None:
    make_user(1)
    with cached_alias(phantom, TABLES={"users": {"TTL": 0}}) as alias:
        ages(alias)
        with server_reads(alias) as reads:
            ages(alias)
        assert len(reads) == 1


def test_the_cache_holds_at_most_maxsize_entries(phantom: Phantom) -> None:
    for n in range(3):
        make_user(n)
    with cached_alias(phantom, MAXSIZE=2) as alias:
        for n in range(3):
            User.objects.using(alias).get(age=n)
        stats = cache.stats(using=alias)
        assert (stats["entries"], stats["evictions"]) == (2, 1)


def test_results_with_more_rows_than_max_rows_are_not_stored(phantom: Phantom) -> None:
    for n in range(3):
        make_user(n)
    with cached_alias(phantom, MAX_ROWS=2) as alias:
        ages(alias)
        with server_reads(alias) as reads:
            ages(alias)
        assert len(reads) == 1
        assert cache.stats(using=alias)["entries"] == 0


def test_only_tables_limits_the_cache_to_those_tables(phantom: Phantom) -> None:
    make_user(1)
    Tag.objects.create(name="t")
    with cached_alias(phantom, ONLY_TABLES=["tags"]) as alias:
        before = cache.stats(using=alias)
        for _ in range(2):
            ages(alias), list(Tag.objects.using(alias).all())
        after = cache.stats(using=alias)
        assert after["bypasses"]["excluded"] - before["bypasses"].get("excluded", 0) == 2
        assert after["hits"] - before["hits"] == 1


def test_a_disabled_cache_adds_no_link(phantom: Phantom) -> None:
    with cached_alias(phantom, ENABLED=False) as alias:
        ages(alias)
        assert cache.stats(using=alias) == {"enabled": False}


# -- the API ------------------------------------------------------------------------------


def test_disabled_bypasses_reads_but_writes_still_invalidate() -> None:
    make_user(1)
    ages()

    @cache.disabled()
    def read_twice() -> list[Any]:
        with server_reads() as reads:
            ages(), ages()
        return reads

    assert len(read_twice()) == 2
    with cache.disabled():
        make_user(2)
    assert ages() == [1, 2]


def test_invalidate_after_a_write_that_bypassed_the_backend(phantom: Phantom) -> None:
    make_user(1)
    assert ages() == [1]
    with phantom.client() as client:
        client.update(phantom.database, "users", {"age": 3})
    assert ages() == [1]  # the backend cannot know: this is what invalidate() is for
    cache.invalidate(User)
    assert ages() == [3]


def test_post_invalidation_names_the_tables_and_the_reason() -> None:
    received: list[tuple[Any, ...]] = []

    def receiver(sender, alias, database, tables, reason, **kwargs):
        received.append((alias, tables, reason))

    cache.post_invalidation.connect(receiver)
    try:
        make_user(1)
        with transaction.atomic():
            Tag.objects.create(name="t")
        cache.invalidate("tags")
    finally:
        cache.post_invalidation.disconnect(receiver)
    assert received == [
        ("default", ("users",), "write"),
        ("default", ("tags",), "commit"),
        ("default", ("tags",), "manual"),
    ]


def test_stats_count_hits_misses_bypasses_and_invalidations() -> None:
    before = cache.stats()
    make_user(1)
    ages(), ages()
    list(User.objects.raw("SELECT * FROM users"))
    stats = cache.stats()
    counts = [stats[name] - before[name] for name in ("hits", "misses")]
    assert counts == [1, 1] and stats["entries"] == 1
    assert stats["bypasses"]["unknown_tables"] - before["bypasses"].get("unknown_tables", 0) == 1
    assert stats["invalidations"]["users"] - before["invalidations"].get("users", 0) == 1
    assert stats["coherence"] == "process"


def test_the_management_command_shows_stats_and_clears(capsys: pytest.CaptureFixture[str]) -> None:
    make_user(1)
    ages()
    call_command("phantomdb_cache", "stats")
    assert '"entries": 1' in capsys.readouterr().out
    call_command("phantomdb_cache", "clear")
    assert cache.stats()["entries"] == 0


def test_the_api_refuses_an_alias_of_another_backend() -> None:
    connections.settings["native"] = {
        **connections.settings["default"],
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "OPTIONS": {},
    }
    try:
        with pytest.raises(ValueError, match="does not use the phantomdb_django backend"):
            cache.stats(using="native")
    finally:
        del connections.settings["native"]


# -- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"TTLS": 5}, r"Unknown keys \['TTLS'\]"),
        ({"ENABLED": "yes"}, r"\['ENABLED'\] must be True or False"),
        ({"MAXSIZE": 0}, r"\['MAXSIZE'\] must be an integer >= 1"),
        ({"TTL": "60"}, r"\['TTL'\] must be a number"),
        ({"MAX_ROWS": 1.5}, r"\['MAX_ROWS'\] must be an integer"),
        ({"ONLY_TABLES": "users"}, r"\['ONLY_TABLES'\] must be a list"),
        ({"TABLES": {"users": {"ttl": 1}}}, r"\['TABLES'\]\['users'\] takes only a 'TTL' key"),
        ({"COHERENCE": "global"}, r"\['COHERENCE'\] must be one of"),
        ({"SHARED_CACHE": 1}, r"\['SHARED_CACHE'\] must name a CACHES alias"),
    ],
)
def test_a_wrong_cache_setting_names_the_key(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_cache_settings("default", options)


def test_a_wrong_cache_setting_fails_when_connecting(phantom: Phantom) -> None:
    expected = r"DATABASES\['broken'\]\['OPTIONS'\]\['CACHE'\]"
    with (
        extra_database("broken", HOST=phantom.url, OPTIONS={"CACHE": {"MAXSIZE": -1}}) as broken,
        pytest.raises(ImproperlyConfigured, match=expected),
    ):
        broken.ensure_connection()


def test_process_mode_without_debug_warns_with_w001() -> None:
    warnings = [message for message in run_checks() if message.id == "phantomdb_django.W001"]
    assert len(warnings) == 1 and "'process' mode" in warnings[0].msg
    with override_settings(DEBUG=True):
        assert not [message for message in run_checks() if message.id == "phantomdb_django.W001"]


def test_shared_mode_does_not_warn(redis_server: RedisProcess) -> None:
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server.url}
    }
    with override_settings(CACHES=caches):
        assert not [message for message in run_checks() if message.id == "phantomdb_django.W001"]
