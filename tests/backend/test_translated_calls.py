"""Query translation: each ORM statement is exactly one call to the REST API, and the right one.

What the server answered is read from its own ``/metrics``
(``phantomdb_http_requests_total`` by route and method); what Django ran,
from ``CaptureQueriesContext``; which Call the backend made of a statement,
from a recording link of the connection's chain.
"""

from __future__ import annotations

import contextlib
import datetime
import math
from collections import Counter
from collections.abc import Callable, Iterator

import django
import pytest
from django.db import connection
from django.db.models import Avg, Count, Exists, F, OuterRef, Subquery
from django.test.utils import CaptureQueriesContext

from phantomdb.calls import BEGIN, DELETE, INSERT, SELECT, UPDATE
from phantomdb.calls import COMMIT as COMMIT_CALL
from tests.backend.conftest import (
    COMMIT,
    QUERY,
    ROWS,
    TRANSACTIONS,
    Phantom,
    RecordedCall,
    recorded_calls,
    server_requests,
    statements,
)
from tests.backend.testapp.models import Event, Profile, User

NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)


def make_user(n: int, **fields: object) -> User:
    defaults = {"first_name": f"First{n}", "last_name": f"Last{n}", "email": f"user{n}@example.com", "age": n}
    return User.objects.create(**{**defaults, **fields})


@contextlib.contextmanager
def one_call(
    phantom: Phantom, method: str, route: str, *, atomic: bool = False, count: int = 1
) -> Iterator[None]:
    """The block runs exactly one statement (or ``count``), each answered by one ``method route`` request.

    ``atomic``: Django itself wraps the statements in a transaction (delete does, and
    bulk_create of several batches, or of one before Django 6), which adds the
    transaction's begin and commit calls, and only those.
    """
    connection.ensure_connection()
    with CaptureQueriesContext(connection) as queries, server_requests(phantom.url) as calls:
        yield
    expected = Counter({(method, route): count})
    statements = [query["sql"] for query in queries]
    if atomic:
        assert statements[0] == "BEGIN" and statements[-1] == "COMMIT", statements
        statements = statements[1:-1]
        expected.update({("POST", TRANSACTIONS): 1, ("POST", COMMIT): 1})
    assert len(statements) == count, statements
    assert calls == expected


@pytest.fixture
def users() -> list[User]:
    return [make_user(n) for n in (10, 20, 30)]


def test_a_filter_on_one_table_is_one_get_of_its_rows(phantom: Phantom, users: list[User]) -> None:
    with one_call(phantom, "GET", ROWS):
        adults = list(User.objects.filter(age__gt=18))
    assert {user.age for user in adults} == {20, 30}


def test_get_is_one_get_of_the_rows(phantom: Phantom, users: list[User]) -> None:
    with one_call(phantom, "GET", ROWS):
        user = User.objects.get(email="user20@example.com")
    assert user.age == 20


def test_an_ordered_slice_is_one_get_with_order_limit_and_offset(phantom: Phantom, users: list[User]) -> None:
    with one_call(phantom, "GET", ROWS):
        ages = list(User.objects.order_by("-age").values_list("age", flat=True)[1:3])
    assert ages == [20, 10]


def test_exclude_and_q_objects_stay_one_get(phantom: Phantom, users: list[User]) -> None:
    from django.db.models import Q

    with one_call(phantom, "GET", ROWS):
        found = list(User.objects.filter(Q(age=10) | Q(age=30)).exclude(is_active=False).order_by("age"))
    assert [user.age for user in found] == [10, 30]


def test_create_is_one_post_of_a_row(phantom: Phantom) -> None:
    with one_call(phantom, "POST", ROWS):
        user = User.objects.create(first_name="John", last_name="Doe", email="john.doe@example.com", age=30)
    assert isinstance(user.pk, int)
    assert User.objects.get(pk=user.pk).email == "john.doe@example.com"


def test_bulk_create_is_one_post_per_batch_of_at_most_999_parameters(phantom: Phantom) -> None:
    """As Django's sqlite3 backend batches: bigger batches cost more in the garbage collector
    than their fewer calls save (features.max_query_params)."""
    people = [User(first_name="F", last_name="L", email=f"bulk{n}@example.com", age=n) for n in range(1000)]
    fields = [field for field in User._meta.concrete_fields if not field.primary_key]
    rows_per_batch = connection.ops.bulk_batch_size(fields, people)
    assert rows_per_batch == 999 // len(fields)
    with one_call(phantom, "POST", ROWS, atomic=True, count=math.ceil(1000 / rows_per_batch)):
        created = User.objects.bulk_create(people)
    assert User.objects.count() == 1000
    assert len({user.pk for user in created}) == 1000


def test_bulk_create_of_one_batch_is_one_post(phantom: Phantom) -> None:
    people = [User(first_name="F", last_name="L", email=f"one{n}@example.com", age=n) for n in range(100)]
    # Django 6 runs a bulk_create of one batch outside a transaction.
    with one_call(phantom, "POST", ROWS, atomic=django.VERSION < (6,)):
        User.objects.bulk_create(people)
    assert User.objects.count() == 100


def test_update_is_one_put(phantom: Phantom, users: list[User]) -> None:
    with one_call(phantom, "PUT", ROWS):
        changed = User.objects.filter(age__lt=18).update(is_active=False)
    assert changed == 1
    assert list(User.objects.filter(is_active=False).values_list("age", flat=True)) == [10]


def test_an_f_expression_update_is_one_put_computed_on_the_server(
    phantom: Phantom, users: list[User]
) -> None:
    with one_call(phantom, "PUT", ROWS):
        changed = User.objects.filter(age__gte=20).update(age=F("age") + 1)
    assert changed == 2
    assert sorted(User.objects.values_list("age", flat=True)) == [10, 21, 31]


def test_save_of_a_loaded_object_is_one_put(phantom: Phantom, users: list[User]) -> None:
    user = User.objects.get(age=10)
    user.first_name = "Jane"
    with one_call(phantom, "PUT", ROWS):
        user.save(update_fields=["first_name"])
    assert User.objects.get(pk=user.pk).first_name == "Jane"


def test_delete_of_a_model_without_relations_is_one_delete(phantom: Phantom) -> None:
    Event.objects.create(name="old", happened_at=NOW - datetime.timedelta(days=10))
    Event.objects.create(name="new", happened_at=NOW)
    with one_call(phantom, "DELETE", ROWS, atomic=True):
        deleted = Event.objects.filter(happened_at__lt=NOW - datetime.timedelta(days=1)).delete()
    assert deleted == (1, {"testapp.Event": 1})
    assert list(Event.objects.values_list("name", flat=True)) == ["new"]


def test_delete_of_one_instance_without_relations_is_one_delete(phantom: Phantom) -> None:
    event = Event.objects.create(name="one", happened_at=NOW)
    with one_call(phantom, "DELETE", ROWS):
        event.delete()
    assert not Event.objects.exists()


def test_refresh_from_db_is_one_get(phantom: Phantom, users: list[User]) -> None:
    user = users[0]
    User.objects.filter(pk=user.pk).update(age=11)
    with one_call(phantom, "GET", ROWS):
        user.refresh_from_db()
    assert user.age == 11


def test_delete_of_every_row_is_one_delete_that_keeps_the_table(phantom: Phantom) -> None:
    Event.objects.create(name="a", happened_at=NOW)
    with one_call(phantom, "DELETE", ROWS, atomic=True):
        Event.objects.all().delete()
    assert Event.objects.count() == 0
    assert "testapp_event" in connection.introspection.table_names()


def test_a_cascading_delete_deletes_the_related_rows_by_table_calls(
    phantom: Phantom, users: list[User]
) -> None:
    Profile.objects.create(user=users[0], bio="Developer")
    with server_requests(phantom.url) as calls:
        User.objects.filter(pk=users[0].pk).delete()
    assert calls[("DELETE", ROWS)] == 2  # the profile, then the user
    assert not Profile.objects.exists()
    assert not User.objects.filter(pk=users[0].pk).exists()


def test_a_join_is_one_query(phantom: Phantom, users: list[User]) -> None:
    Profile.objects.create(user=users[0], bio="Developer")
    with one_call(phantom, "POST", QUERY):
        found = list(User.objects.select_related("profile").filter(profile__bio="Developer"))
    assert [(user.pk, user.profile.bio) for user in found] == [(users[0].pk, "Developer")]


def test_an_aggregate_is_one_query(phantom: Phantom, users: list[User]) -> None:
    with one_call(phantom, "POST", QUERY):
        result = User.objects.aggregate(total=Count("id"), average_age=Avg("age"))
    assert result == {"total": 3, "average_age": 20.0}


def test_count_is_one_query(phantom: Phantom, users: list[User]) -> None:
    with one_call(phantom, "POST", QUERY):
        assert User.objects.filter(age__gte=20).count() == 2


def test_a_subquery_filter_is_one_query(phantom: Phantom, users: list[User]) -> None:
    Profile.objects.create(user=users[1], bio="x")
    with one_call(phantom, "POST", QUERY):
        found = list(User.objects.filter(Exists(Profile.objects.filter(user=OuterRef("pk")))))
    assert found == [users[1]]


def test_a_subquery_annotation_is_one_query(phantom: Phantom, users: list[User]) -> None:
    Profile.objects.create(user=users[2], bio="bio of 30")
    bios = Profile.objects.filter(user=OuterRef("pk")).values("bio")
    with one_call(phantom, "POST", QUERY):
        rows = list(User.objects.annotate(bio=Subquery(bios)).order_by("age").values_list("age", "bio"))
    assert rows == [(10, None), (20, None), (30, "bio of 30")]


def test_an_update_with_a_subquery_is_one_query(phantom: Phantom, users: list[User]) -> None:
    Profile.objects.create(user=users[0], bio="x")
    with one_call(phantom, "POST", QUERY):
        User.objects.filter(profile__isnull=False).update(age=99)
    assert User.objects.get(pk=users[0].pk).age == 99


def test_raw_is_one_query(phantom: Phantom, users: list[User]) -> None:
    with one_call(phantom, "POST", QUERY):
        found = list(User.objects.raw("SELECT * FROM users WHERE age > %s ORDER BY age", [15]))
    assert [user.age for user in found] == [20, 30]


def test_a_cursor_statement_is_one_query(phantom: Phantom, users: list[User]) -> None:
    with one_call(phantom, "POST", QUERY), connection.cursor() as cursor:
        cursor.execute("SELECT email FROM users WHERE age = %s", [30])
        assert cursor.fetchall() == [("user30@example.com",)]


def test_cursor_executemany_is_one_query_call(phantom: Phantom) -> None:
    rows = [(f"e{n}", "2026-01-01 00:00:00") for n in range(50)]
    with one_call(phantom, "POST", QUERY), connection.cursor() as cursor:
        cursor.executemany("INSERT INTO testapp_event (name, happened_at) VALUES (%s, %s)", rows)
    assert Event.objects.count() == 50


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda: list(User.objects.filter(created_at__year=2026)), id="year"),
        pytest.param(lambda: list(User.objects.filter(created_at__date=NOW.date())), id="date"),
        pytest.param(lambda: list(User.objects.filter(first_name__iregex="^f")), id="iregex"),
        pytest.param(lambda: list(User.objects.filter(email__icontains="USER")), id="icontains"),
        pytest.param(lambda: list(User.objects.filter(age__in=[10, 30])), id="in"),
        pytest.param(lambda: list(User.objects.filter(age__lt=F("age") + 1)), id="f-expression"),
        pytest.param(lambda: list(User.objects.order_by("?")), id="random-order"),
        pytest.param(lambda: list(User.objects.order_by(F("age").desc(nulls_last=True))), id="nulls-last"),
        pytest.param(lambda: list(User.objects.values("email")), id="values"),
        pytest.param(lambda: User.objects.order_by("pk").first(), id="first"),
        pytest.param(lambda: list(User.objects.all()[1:]), id="offset"),
        pytest.param(lambda: list(Event.objects.filter(name__in=["a", "b"], day__isnull=True)), id="isnull"),
    ],
)
def test_a_read_of_one_table_with_lookups_and_functions_stays_one_get(
    phantom: Phantom, users: list[User], read
) -> None:
    with one_call(phantom, "GET", ROWS):
        read()


def only_statement(statement: Callable[[], object]) -> RecordedCall:
    """What the chain ran for the one statement ``statement`` runs."""
    with recorded_calls() as recorded:
        statement()
    (entry,) = statements(recorded)
    return entry


def test_the_filter_of_the_product_document_is_a_get_with_a_condition_and_params(users: list[User]) -> None:
    entry = only_statement(lambda: list(User.objects.filter(age__gt=18)))
    assert (entry.operation, entry.call.table) == (SELECT, "users")
    assert entry.call.condition == '"users"."age" > ?'
    assert list(entry.params) == [18]


def test_the_create_of_the_product_document_is_a_post_of_the_row() -> None:
    entry = only_statement(
        lambda: User.objects.create(first_name="John", last_name="Doe", email="john.doe@example.com")
    )
    assert (entry.operation, entry.call.table, entry.call.returning) == (INSERT, "users", ("id",))
    row = dict(zip(entry.call.columns, entry.params))
    assert (row["first_name"], row["last_name"], row["email"]) == ("John", "Doe", "john.doe@example.com")


def test_bulk_create_is_one_insert_of_all_its_rows() -> None:
    with recorded_calls() as recorded:
        User.objects.bulk_create(
            [User(first_name="A", last_name="B", email=f"{n}@example.com") for n in range(3)]
        )
    (insert,) = statements(recorded)
    width = len(insert.call.columns)
    rows = [dict(zip(insert.call.columns, insert.params[i : i + width])) for i in range(0, 3 * width, width)]
    assert [row["email"] for row in rows] == ["0@example.com", "1@example.com", "2@example.com"]


def test_the_update_of_the_product_document_is_a_put_of_data_and_condition(users: list[User]) -> None:
    entry = only_statement(lambda: User.objects.filter(pk=users[0].pk).update(first_name="Jane"))
    assert (entry.operation, entry.call.table) == (UPDATE, "users")
    assert [(a.column, a.expression) for a in entry.call.assignments] == [("first_name", None)]
    assert entry.call.condition == '"users"."id" = ?'
    assert list(entry.params) == ["Jane", users[0].pk]


def test_the_delete_of_the_product_document_is_a_delete_with_a_condition() -> None:
    event = Event.objects.create(name="gone", happened_at=NOW)
    with recorded_calls() as recorded:
        Event.objects.filter(pk=event.pk).delete()
    (delete,) = [entry for entry in recorded if entry.operation == DELETE]
    assert delete.call.table == "testapp_event"
    assert delete.call.condition == '"testapp_event"."id" = ?'
    assert list(delete.params) == [event.pk]


def test_calls_inside_atomic_carry_the_transaction_id() -> None:
    from django.db import transaction

    with recorded_calls() as recorded, transaction.atomic():
        make_user(1)
        list(User.objects.filter(age=1))
    begin, insert, select, commit = recorded
    assert begin.operation == BEGIN and begin.transaction is None
    assert insert.transaction == select.transaction == commit.transaction is not None
    assert commit.operation == COMMIT_CALL


def test_a_secret_value_travels_only_in_params() -> None:
    secret = "s3cr3t' OR 1=1 --"
    with recorded_calls() as recorded:
        list(User.objects.filter(email=secret))
        User.objects.filter(email=secret).update(last_name=secret)
        User.objects.filter(email=secret).count()
    for entry in recorded:
        assert secret not in repr(entry.call)
        assert secret in entry.params


def test_a_value_is_never_spliced_into_the_sql(users: list[User]) -> None:
    hostile = "x' OR '1'='1"
    assert list(User.objects.filter(email=hostile)) == []
    user = make_user(40, last_name=hostile)
    assert User.objects.get(last_name=hostile) == user
    assert User.objects.filter(last_name__contains="' OR '").get() == user
