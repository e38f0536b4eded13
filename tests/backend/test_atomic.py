"""Transactions: Django's atomic() as PhantomDB server-side transactions.

A second connection (the raw ``phantomdb`` client, or another thread's
Django connection) is the witness of what is committed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.db.models import F

import phantomdb
from tests.backend.conftest import (
    COMMIT,
    ROLLBACK,
    ROWS,
    SAVEPOINTS,
    TRANSACTIONS,
    Phantom,
    extra_database,
    server_requests,
)
from tests.backend.testapp.models import Profile, User
from tests.conftest import ServerProcess, start_server


def new_user(email: str, **fields: object) -> User:
    return User.objects.create(first_name="F", last_name="L", email=email, **fields)


def committed_emails(phantom: Phantom) -> set[str]:
    """The emails another connection sees: committed rows only."""
    with phantom.client() as client:
        return {row[0] for row in client.select(phantom.database, "users", ["email"]).rows}


def in_other_thread(function):
    """Run ``function`` in a thread with its own Django connection; return its result."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # handed back to the test
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]


class Boom(Exception):
    pass


def test_an_atomic_block_commits_its_rows_together(phantom: Phantom) -> None:
    with transaction.atomic():
        user = new_user("ann@example.com")
        Profile.objects.create(user=user, bio="Developer")
    assert committed_emails(phantom) == {"ann@example.com"}
    assert Profile.objects.get().user_id == user.pk


def test_an_atomic_block_is_one_server_transaction(phantom: Phantom) -> None:
    connection.ensure_connection()
    with server_requests(phantom.url) as calls, transaction.atomic():
        user = new_user("ann@example.com")
        Profile.objects.create(user=user, bio="Developer")
    assert calls == Counter({("POST", TRANSACTIONS): 1, ("POST", ROWS): 2, ("POST", COMMIT): 1})


def test_an_atomic_block_without_statements_makes_no_call(phantom: Phantom) -> None:
    connection.ensure_connection()
    with server_requests(phantom.url) as calls, transaction.atomic():
        pass
    assert calls == Counter()


def test_an_exception_rolls_the_whole_block_back(phantom: Phantom) -> None:
    connection.ensure_connection()
    with server_requests(phantom.url) as calls, pytest.raises(Boom), transaction.atomic():
        new_user("ann@example.com")
        new_user("bob@example.com")
        raise Boom
    assert calls[("POST", ROLLBACK)] == 1
    assert calls[("POST", COMMIT)] == 0
    assert committed_emails(phantom) == set()
    assert not User.objects.exists()


def test_an_integrity_error_inside_atomic_rolls_back_the_earlier_rows(phantom: Phantom) -> None:
    new_user("taken@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        new_user("fresh@example.com")
        new_user("taken@example.com")
    assert committed_emails(phantom) == {"taken@example.com"}


def test_a_rolled_back_savepoint_keeps_the_outer_work(phantom: Phantom) -> None:
    connection.ensure_connection()
    with server_requests(phantom.url) as calls, transaction.atomic():
        new_user("outer@example.com")
        with pytest.raises(Boom), transaction.atomic():
            new_user("inner@example.com")
            raise Boom
        new_user("after@example.com")
    assert committed_emails(phantom) == {"outer@example.com", "after@example.com"}
    assert calls[("POST", SAVEPOINTS)] == 1
    assert calls[("POST", "/transactions/{id}/savepoints/{name}/rollback")] == 1


def test_a_released_savepoint_commits_with_the_outer_block(phantom: Phantom) -> None:
    with transaction.atomic():
        new_user("outer@example.com")
        with transaction.atomic():
            new_user("inner@example.com")
    assert committed_emails(phantom) == {"outer@example.com", "inner@example.com"}


def test_an_inner_savepoint_does_not_survive_the_outer_rollback(phantom: Phantom) -> None:
    with pytest.raises(Boom), transaction.atomic():
        with transaction.atomic():
            new_user("inner@example.com")
        raise Boom
    assert committed_emails(phantom) == set()


def test_an_integrity_error_in_a_savepoint_leaves_the_outer_block_usable(phantom: Phantom) -> None:
    new_user("taken@example.com")
    with transaction.atomic():
        new_user("outer@example.com")
        with pytest.raises(IntegrityError), transaction.atomic():
            new_user("taken@example.com")
        new_user("after@example.com")
    assert committed_emails(phantom) == {"taken@example.com", "outer@example.com", "after@example.com"}


def test_on_commit_runs_after_the_commit(phantom: Phantom) -> None:
    seen: list[set[str]] = []
    with transaction.atomic():
        new_user("ann@example.com")
        transaction.on_commit(lambda: seen.append(committed_emails(phantom)))
        assert seen == []
    assert seen == [{"ann@example.com"}]


def test_on_commit_does_not_run_after_a_rollback() -> None:
    ran: list[str] = []
    with pytest.raises(Boom), transaction.atomic():
        new_user("ann@example.com")
        transaction.on_commit(lambda: ran.append("ran"))
        raise Boom
    assert ran == []


def test_on_commit_of_a_rolled_back_savepoint_is_dropped() -> None:
    ran: list[str] = []
    with transaction.atomic():
        with pytest.raises(Boom), transaction.atomic():
            transaction.on_commit(lambda: ran.append("inner"))
            raise Boom
        transaction.on_commit(lambda: ran.append("outer"))
    assert ran == ["outer"]


def test_outside_atomic_each_statement_is_committed_at_once(phantom: Phantom) -> None:
    connection.ensure_connection()
    with server_requests(phantom.url) as calls:
        new_user("ann@example.com")
        assert committed_emails(phantom) == {"ann@example.com"}
    assert calls[("POST", TRANSACTIONS)] == 0


def test_another_connection_never_sees_uncommitted_rows(phantom: Phantom) -> None:
    with transaction.atomic():
        new_user("pending@example.com")
        assert committed_emails(phantom) == set()
        assert in_other_thread(lambda: User.objects.count()) == 0
        assert User.objects.count() == 1  # the transaction reads its own writes, by query
        assert User.objects.get(email="pending@example.com").email  # and by table call
    assert in_other_thread(lambda: list(User.objects.values_list("email", flat=True))) == [
        "pending@example.com"
    ]


def test_a_row_committed_by_another_thread_is_visible_at_once() -> None:
    in_other_thread(lambda: new_user("thread@example.com"))
    assert list(User.objects.values_list("email", flat=True)) == ["thread@example.com"]


def test_select_for_update_inside_atomic_locks_out_other_writers_until_commit() -> None:
    user = new_user("ann@example.com", age=1)
    finished: dict[str, float] = {}

    def concurrent_increment() -> None:
        User.objects.filter(pk=user.pk).update(age=F("age") + 1)
        finished["other"] = time.monotonic()

    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        other = threading.Thread(target=lambda: (concurrent_increment(), connections.close_all()))
        other.start()
        time.sleep(0.3)
        locked.age += 10
        locked.save(update_fields=["age"])
        committing = time.monotonic()
    other.join(10)
    assert finished["other"] > committing
    assert User.objects.get(pk=user.pk).age == 12


def test_transaction_atomic_as_a_decorator_commits() -> None:
    @transaction.atomic
    def create_two() -> None:
        new_user("a@example.com")
        new_user("b@example.com")

    create_two()
    assert User.objects.count() == 2


def test_manual_autocommit_off_and_commit(phantom: Phantom) -> None:
    transaction.set_autocommit(False)
    try:
        new_user("manual@example.com")
        assert committed_emails(phantom) == set()
        transaction.commit()
        assert committed_emails(phantom) == {"manual@example.com"}
    finally:
        transaction.set_autocommit(True)


def test_manual_rollback_discards_the_rows(phantom: Phantom) -> None:
    transaction.set_autocommit(False)
    try:
        new_user("manual@example.com")
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert committed_emails(phantom) == set()


def test_a_foreign_key_checked_at_commit_is_an_integrity_error_and_rolls_back(phantom: Phantom) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        new_user("kept-out@example.com")
        Profile.objects.create(user_id=987654, bio="orphan")  # deferred: checked at commit
    assert committed_emails(phantom) == set()
    assert new_user("usable@example.com").pk is not None


def test_no_transaction_stays_open_on_the_server_after_atomic_blocks(phantom: Phantom) -> None:
    with transaction.atomic():
        new_user("a@example.com")
    with pytest.raises(Boom), transaction.atomic():
        new_user("b@example.com")
        raise Boom
    metrics = requests.get(f"{phantom.url}/metrics", timeout=10).text
    assert "phantomdb_open_transactions 0.0" in metrics.splitlines()


@pytest.fixture
def impatient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """PhantomDB Lite that rolls back a transaction idle for more than half a second."""
    server = start_server(
        tmp_path_factory.mktemp("impatient"), "--transaction-timeout", "0.5", "--durability", "off"
    )
    try:
        with phantomdb.PhantomDB(server.url) as client:
            client.create_database("impatient")
        with (
            extra_database("impatient", HOST=server.url, NAME="impatient") as impatient,
            impatient.schema_editor() as editor,
        ):
            editor.create_model(User)
        yield server
    finally:
        server.stop()


def test_a_transaction_idle_past_the_server_timeout_fails_and_commits_nothing(
    impatient_server: ServerProcess,
) -> None:
    with extra_database("impatient", HOST=impatient_server.url, NAME="impatient") as impatient:
        with pytest.raises(OperationalError), transaction.atomic(using="impatient"):
            User.objects.using("impatient").create(first_name="F", last_name="L", email="slow@example.com")
            time.sleep(1.2)
            User.objects.using("impatient").create(first_name="F", last_name="L", email="late@example.com")
        assert User.objects.using("impatient").count() == 0
        assert impatient.is_usable()
