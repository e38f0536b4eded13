"""Transaction control passes the executor chain like every statement, in order.

A cache must see BEGIN, COMMIT, ROLLBACK and savepoints to keep uncommitted
rows to one connection, and telemetry to draw a transaction around its
calls; a recording link of the chain sees them here. The query log
(``assertNumQueries``) counts transaction control as Django's sqlite3
backend does, so users' own query-counting tests pass unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, connections, models, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, isolate_apps

from phantomdb.calls import (
    BATCH,
    BEGIN,
    COMMIT,
    DELETE,
    INSERT,
    QUERY,
    RELEASE_SAVEPOINT,
    ROLLBACK,
    ROLLBACK_TO_SAVEPOINT,
    SAVEPOINT,
    SELECT,
)
from tests.backend.conftest import RecordedCall, database_settings, recorded_calls
from tests.backend.testapp.models import Article, Comment, Tag, User


def operations(recorded: list[RecordedCall]) -> list[str]:
    return [entry.operation for entry in recorded]


def assert_one_transaction(recorded: list[RecordedCall], outcome: str = COMMIT) -> None:
    """BEGIN first, ``outcome`` last, and every call between them inside that transaction."""
    begin, *inside, end = recorded
    assert begin.operation == BEGIN and begin.transaction is None
    assert end.operation == outcome
    identifier = end.transaction
    assert identifier is not None
    assert all(entry.transaction == identifier for entry in inside)


def make_user(n: int) -> User:
    return User.objects.create(first_name=f"F{n}", last_name=f"L{n}", email=f"u{n}@example.com", age=n)


def test_atomic_runs_begin_statements_and_commit_through_the_chain() -> None:
    with recorded_calls() as recorded, transaction.atomic():
        make_user(1)
        list(User.objects.filter(age=1))
    assert operations(recorded) == [BEGIN, INSERT, SELECT, COMMIT]
    assert_one_transaction(recorded)


def test_a_failed_atomic_block_rolls_back_through_the_chain() -> None:
    with recorded_calls() as recorded, contextlib.suppress(ZeroDivisionError), transaction.atomic():
        make_user(1)
        raise ZeroDivisionError
    assert operations(recorded) == [BEGIN, INSERT, ROLLBACK]
    assert_one_transaction(recorded, ROLLBACK)
    assert not User.objects.exists()


def test_nested_atomic_blocks_are_savepoints_in_the_chain() -> None:
    with recorded_calls() as recorded, transaction.atomic():
        make_user(1)
        with transaction.atomic():
            make_user(2)
        with contextlib.suppress(IntegrityError), transaction.atomic():
            make_user(1)
    assert operations(recorded) == [
        BEGIN,
        INSERT,
        SAVEPOINT,
        INSERT,
        RELEASE_SAVEPOINT,
        SAVEPOINT,
        INSERT,
        ROLLBACK_TO_SAVEPOINT,
        RELEASE_SAVEPOINT,
        COMMIT,
    ]
    assert_one_transaction(recorded)
    savepoints = [entry.call.name for entry in recorded if entry.operation in (SAVEPOINT, RELEASE_SAVEPOINT)]
    assert savepoints[0] == savepoints[1] != savepoints[2]
    assert sorted(User.objects.values_list("age", flat=True)) == [1, 2]


def test_the_chain_sees_a_transaction_begin_lazily_at_its_first_statement() -> None:
    with recorded_calls() as recorded, transaction.atomic():
        pass
    assert recorded == []


def test_bulk_create_in_its_own_transaction_passes_the_chain() -> None:
    with recorded_calls() as recorded:
        Tag.objects.bulk_create([Tag(name=f"t{n}") for n in range(600)], batch_size=300)
    assert operations(recorded) == [BEGIN, INSERT, INSERT, COMMIT]
    assert_one_transaction(recorded)


def test_a_cascading_delete_is_one_transaction_in_the_chain() -> None:
    author = make_user(1)
    article = Article.objects.create(title="t", author=author)
    Comment.objects.create(article=article)
    with recorded_calls() as recorded:
        author.delete()
    # Django collects the related rows first, then deletes them all in one transaction.
    begin = operations(recorded).index(BEGIN)
    assert set(operations(recorded)[:begin]) == {SELECT}
    assert_one_transaction(recorded[begin:])
    deleted = {entry.call.table for entry in recorded[begin:] if entry.operation == DELETE}
    assert deleted == {"users", "profiles", "articles", "comments", "articles_tags"}


def test_executemany_is_one_batch_call() -> None:
    with recorded_calls() as recorded, connection.cursor() as cursor:
        cursor.executemany("INSERT INTO tags (name) VALUES (%s)", [("a",), ("b",)])
    ((batch),) = recorded
    assert batch.operation == BATCH and batch.params == [("a",), ("b",)]
    assert batch.call.query == "INSERT INTO tags (name) VALUES (?)"


def test_atomic_requests_wrap_a_view_in_one_transaction_of_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    with recorded_calls() as recorded:
        response = Client().post("/admin/login/", {"username": "nobody", "password": "wrong"})
    assert response.status_code == 200  # the form again, after looking the user up
    assert SELECT in operations(recorded)
    assert_one_transaction(recorded)


@isolate_apps("tests.backend.testapp")
def test_a_schema_change_that_remakes_a_table_runs_with_foreign_keys_off_in_one_transaction() -> None:
    class Scratch(models.Model):
        name = models.CharField(max_length=20)

        class Meta:
            app_label = "testapp"
            db_table = "scratch_remade"

    with connection.schema_editor() as editor:
        editor.create_model(Scratch)
    try:
        old_field = Scratch._meta.get_field("name")
        new_field = models.CharField(max_length=20, unique=True)
        new_field.set_attributes_from_name("name")
        new_field.model = Scratch
        with recorded_calls() as recorded, connection.schema_editor() as editor:
            editor.alter_field(Scratch, old_field, new_field, strict=True)
        assert recorded[0].operation == BEGIN and recorded[0].call.foreign_keys is False
        assert_one_transaction(recorded)
        assert {entry.operation for entry in recorded[1:-1]} == {QUERY}
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Scratch)


# -- the query log counts transaction control as sqlite3 does ---------------------------


def nested_with_inner_rollback(alias: str) -> None:
    with transaction.atomic(using=alias):
        Tag.objects.using(alias).create(name="outer")
        with contextlib.suppress(ZeroDivisionError), transaction.atomic(using=alias):
            Tag.objects.using(alias).create(name="inner")
            raise ZeroDivisionError


def without_savepoint(alias: str) -> None:
    with transaction.atomic(using=alias):
        Tag.objects.using(alias).create(name="outer")
        with transaction.atomic(using=alias, savepoint=False):
            Tag.objects.using(alias).create(name="inner")


def with_on_commit(alias: str) -> None:
    done = []
    with transaction.atomic(using=alias):
        Tag.objects.using(alias).create(name="a")
        transaction.on_commit(lambda: done.append(Tag.objects.using(alias).count()), using=alias)
    assert done == [1]


def get_or_create_twice(alias: str) -> None:
    with transaction.atomic(using=alias):
        Tag.objects.using(alias).get_or_create(name="x")
        Tag.objects.using(alias).get_or_create(name="x")


def empty_atomic(alias: str) -> None:
    with transaction.atomic(using=alias), transaction.atomic(using=alias):
        pass


@pytest.fixture
def sqlite_alias(tmp_path: Path) -> Iterator[str]:
    """Django's own sqlite3 backend, with the tags table, as the yardstick."""
    alias = "yardstick"
    connections.settings[alias] = {
        **database_settings(),
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "yardstick.sqlite3"),
        "HOST": "",
        "OPTIONS": {},
    }
    with connections[alias].schema_editor() as editor:
        editor.create_model(Tag)
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]


@pytest.mark.parametrize(
    "shape",
    [nested_with_inner_rollback, without_savepoint, with_on_commit, get_or_create_twice, empty_atomic],
)
def test_the_query_log_counts_transactions_as_the_sqlite3_backend(
    sqlite_alias: str, shape: Callable[[str], None]
) -> None:
    logged = {}
    for alias in (sqlite_alias, "default"):
        connections[alias].ensure_connection()
        with CaptureQueriesContext(connections[alias]) as queries:
            shape(alias)
        logged[alias] = [query["sql"].split(" ")[0] for query in queries]
    assert logged["default"] == logged[sqlite_alias]


def test_savepoints_appear_in_the_query_log_with_their_sql() -> None:
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), transaction.atomic():
        make_user(1)
    sqls = [query["sql"] for query in queries]
    assert (
        sqls[0] == "BEGIN" and sqls[1].startswith('SAVEPOINT "s') and sqls[-2].startswith("RELEASE SAVEPOINT")
    )
