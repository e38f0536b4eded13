"""The rest of the QuerySet API that Django applications lean on, against the real server:
the product document's examples, related objects, bulk operations, combinators, window
functions, date and duration arithmetic, raw cursors, chunked reads."""

from __future__ import annotations

import datetime
import unittest
import zoneinfo

import pytest
from django.db import connection
from django.db.models import Avg, Count, F, Max, OuterRef, Q, Subquery, Sum, Value, Window
from django.db.models.functions import Concat, ExtractYear, Lower, Rank, TruncMonth, Upper

from tests.backend.conftest import ROWS, Phantom, server_requests
from tests.backend.testapp.models import Event, EveryType, Profile, User

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def make_user(n: int, **fields: object) -> User:
    defaults = {"first_name": f"First{n}", "last_name": f"Last{n}", "email": f"user{n}@example.com", "age": n}
    return User.objects.create(**{**defaults, **fields})


@pytest.fixture
def users() -> list[User]:
    return [make_user(n) for n in (15, 25, 35, 45, 70)]


# -- the product document's examples ----------------------------------------------------------


def test_the_product_documents_basic_operations(users: list[User]) -> None:
    john = User.objects.create(first_name="John", last_name="Doe", email="john.doe@example.com", age=30)
    assert User.objects.all().count() == 6
    assert User.objects.filter(is_active=True).count() == 6
    assert User.objects.get(email="john.doe@example.com") == john
    User.objects.filter(age__lt=18).update(is_active=False)
    User.objects.filter(pk=john.pk).update(first_name="Jane")
    assert User.objects.get(pk=john.pk).first_name == "Jane"
    User.objects.filter(is_active=False).delete()
    assert sorted(User.objects.values_list("age", flat=True)) == [25, 30, 35, 45, 70]


def test_the_product_documents_complex_filter_is_one_get(phantom: Phantom, users: list[User]) -> None:
    User.objects.filter(age=35).update(is_active=False)
    connection.ensure_connection()
    with server_requests(phantom.url) as calls:
        found = list(
            User.objects.filter(age__gte=18, age__lte=65, email__icontains="@EXAMPLE.com")
            .exclude(is_active=False)
            .order_by("-created_at")
        )
    assert [user.age for user in found] == [45, 25]
    assert calls == {("GET", ROWS): 1}


def test_the_product_documents_testcase_example_passes_and_rolls_back(phantom: Phantom) -> None:
    from django.test import TestCase

    class UserModelTest(TestCase):
        def test_create_user(self) -> None:
            user = User.objects.create(first_name="John", last_name="Doe", email="john.doe@example.com")
            self.assertEqual(user.first_name, "John")
            self.assertTrue(user.is_active)
            self.assertEqual(User.objects.count(), 1)

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(UserModelTest).run(result)
    assert result.wasSuccessful(), result.errors + result.failures
    assert result.testsRun == 1
    with phantom.client() as client:
        assert client.select(phantom.database, "users").rows == ()


# -- related objects -----------------------------------------------------------------------------------


def test_prefetch_related_is_one_get_per_table(phantom: Phantom, users: list[User]) -> None:
    Profile.objects.bulk_create([Profile(user=user, bio=f"bio {user.age}") for user in users[:2]])
    connection.ensure_connection()
    with server_requests(phantom.url) as calls:
        loaded = list(Profile.objects.prefetch_related("user").order_by("user__age"))
    assert [profile.user.age for profile in loaded] == [15, 25]
    assert calls[("GET", ROWS)] == 1  # the users, by id


def test_reverse_one_to_one_access_and_filter_across_the_relation(users: list[User]) -> None:
    Profile.objects.create(user=users[0], bio="Developer")
    assert User.objects.get(pk=users[0].pk).profile.bio == "Developer"
    assert list(User.objects.filter(profile__bio__icontains="DEV")) == [users[0]]
    assert list(User.objects.filter(profile__isnull=True).order_by("age").values_list("age", flat=True)) == [
        25,
        35,
        45,
        70,
    ]


# -- saves and bulk operations -------------------------------------------------------------------------


def test_save_of_a_new_object_with_an_explicit_key_inserts_it() -> None:
    user = User(id=4242, first_name="K", last_name="L", email="key@example.com")
    user.save()
    assert User.objects.get(pk=4242).email == "key@example.com"


def test_save_of_an_existing_object_updates_it_in_place(users: list[User]) -> None:
    user = users[0]
    user.age = 16
    user.save()
    assert User.objects.count() == 5
    assert User.objects.get(pk=user.pk).age == 16


def test_get_or_create_creates_once_then_gets() -> None:
    first, created = User.objects.get_or_create(
        email="g@example.com", defaults={"first_name": "G", "last_name": "H"}
    )
    again, created_again = User.objects.get_or_create(email="g@example.com", defaults={"first_name": "X"})
    assert (created, created_again) == (True, False)
    assert again == first and again.first_name == "G"


def test_update_or_create_updates_the_existing_row(users: list[User]) -> None:
    user, created = User.objects.update_or_create(email="user15@example.com", defaults={"age": 16})
    assert created is False
    assert User.objects.get(pk=user.pk).age == 16


def test_bulk_update_sets_each_objects_own_values_in_any_field_order(users: list[User]) -> None:
    for user in users:
        user.last_name = f"L{user.age}"
        user.age += 1
        user.first_name = f"F{user.age}"
    User.objects.bulk_update(users, ["last_name", "age", "first_name"])
    assert sorted(User.objects.values_list("last_name", "age", "first_name")) == [
        (f"L{user.age - 1}", user.age, f"F{user.age}") for user in sorted(users, key=lambda u: u.last_name)
    ]


def test_bulk_create_with_ignore_conflicts_skips_duplicates(users: list[User]) -> None:
    User.objects.bulk_create(
        [
            User(first_name="N", last_name="N", email="user15@example.com"),
            User(first_name="N", last_name="N", email="new@example.com"),
        ],
        ignore_conflicts=True,
    )
    assert User.objects.count() == 6
    assert User.objects.get(email="user15@example.com").first_name == "First15"


def test_bulk_create_with_update_conflicts_updates_the_existing_row(users: list[User]) -> None:
    User.objects.bulk_create(
        [User(first_name="Updated", last_name="N", email="user15@example.com", age=99)],
        update_conflicts=True,
        unique_fields=["email"],
        update_fields=["first_name", "age"],
    )
    assert User.objects.values_list("first_name", "age").get(email="user15@example.com") == ("Updated", 99)


def test_update_to_null_and_to_an_expression_of_several_columns() -> None:
    row = EveryType.objects.create(char="x", integer=2, small_integer=3, text="t")
    EveryType.objects.filter(pk=row.pk).update(
        char=None, integer=F("integer") * F("small_integer") + 1, text=Concat(F("text"), Value("-%s-?"))
    )
    assert EveryType.objects.values_list("char", "integer", "text").get(pk=row.pk) == (None, 7, "t-%s-?")


# -- reading ---------------------------------------------------------------------------------------------


def test_first_and_last_follow_the_ordering(users: list[User]) -> None:
    assert User.objects.order_by("age").first().age == 15
    assert User.objects.order_by("age").last().age == 70


def test_exists_says_whether_a_row_matches(users: list[User]) -> None:
    assert User.objects.filter(age=35).exists() is True
    assert User.objects.filter(age=36).exists() is False


def test_in_bulk_maps_keys_to_objects(users: list[User]) -> None:
    by_id = User.objects.in_bulk([users[0].pk, users[1].pk])
    assert {pk: user.age for pk, user in by_id.items()} == {users[0].pk: 15, users[1].pk: 25}


def test_values_returns_dicts_of_the_named_fields(users: list[User]) -> None:
    assert list(User.objects.filter(age__lt=30).order_by("age").values("first_name", "age")) == [
        {"first_name": "First15", "age": 15},
        {"first_name": "First25", "age": 25},
    ]


def test_only_and_defer_load_the_rest_on_access(users: list[User]) -> None:
    user = User.objects.only("email").get(age=25)
    assert user.get_deferred_fields() >= {"first_name", "age"}
    assert user.age == 25
    assert User.objects.defer("first_name").get(age=35).first_name == "First35"


def test_distinct_drops_repeated_rows(users: list[User]) -> None:
    User.objects.filter(age__gte=45).update(last_name="Old")
    assert list(
        User.objects.filter(age__gte=35).values_list("last_name", flat=True).distinct().order_by("-last_name")
    ) == [
        "Old",
        "Last35",
    ]


def test_group_by_with_having(users: list[User]) -> None:
    User.objects.filter(age__gte=45).update(last_name="Old")
    grouped = User.objects.values("last_name").annotate(n=Count("id")).filter(n__gt=1)
    assert list(grouped) == [{"last_name": "Old", "n": 2}]


def test_aggregates_over_a_filter(users: list[User]) -> None:
    result = User.objects.filter(age__gt=20).aggregate(total=Sum("age"), oldest=Max("age"), mean=Avg("age"))
    assert result == {"total": 175, "oldest": 70, "mean": 43.75}


def test_union_combines_two_querysets(users: list[User]) -> None:
    young = User.objects.filter(age__lt=30).values_list("age", flat=True)
    old = User.objects.filter(age__gt=40).values_list("age", flat=True)
    assert sorted(young.union(old)) == [15, 25, 45, 70]


def test_intersection_keeps_the_common_rows(users: list[User]) -> None:
    old = User.objects.filter(age__gt=40).values_list("age", flat=True)
    assert list(User.objects.values_list("age", flat=True).intersection(old).order_by("age")) == [45, 70]


def test_window_function_ranks(users: list[User]) -> None:
    ranked = User.objects.annotate(rank=Window(Rank(), order_by=F("age").desc())).order_by("rank")
    assert [(user.age, user.rank) for user in ranked][:2] == [(70, 1), (45, 2)]


def test_database_functions_in_annotations(users: list[User]) -> None:
    row = User.objects.annotate(up=Upper("first_name"), low=Lower("last_name")).get(age=15)
    assert (row.up, row.low) == ("FIRST15", "last15")


def test_lower_and_upper_know_every_alphabet() -> None:
    User.objects.create(first_name="ÉCOLE ΟΔΟΣ", last_name="straße", email="x@example.com")
    row = User.objects.annotate(low=Lower("first_name"), up=Upper("last_name")).get()
    assert (row.low, row.up) == ("école οδος", "STRASSE")
    assert User.objects.annotate(low=Lower("first_name")).filter(low="école οδος").count() == 1


def test_q_objects_with_or_and_negation(users: list[User]) -> None:
    found = User.objects.filter(Q(age__lt=20) | ~Q(first_name__startswith="First")).values_list(
        "age", flat=True
    )
    assert list(found) == [15]


def test_an_annotation_from_a_correlated_subquery(users: list[User]) -> None:
    Profile.objects.create(user=users[1], bio="B")
    bios = Profile.objects.filter(user=OuterRef("pk")).values("bio")[:1]
    assert User.objects.annotate(bio=Subquery(bios)).get(age=25).bio == "B"


def test_a_result_longer_than_the_servers_row_limit_arrives_whole() -> None:
    User.objects.bulk_create(
        [User(first_name="F", last_name="L", email=f"many{n}@example.com", age=n) for n in range(12_000)]
    )
    ages = list(User.objects.order_by("age").values_list("age", flat=True))
    assert ages == list(range(12_000))


def test_iterator_reads_in_chunks(users: list[User]) -> None:
    ages = [user.age for user in User.objects.order_by("age").iterator(chunk_size=2)]
    assert ages == [15, 25, 35, 45, 70]


# -- dates, times and durations on the server --------------------------------------------------------


@pytest.fixture
def events() -> list[Event]:
    moments = [
        datetime.datetime(2025, 12, 31, 23, 30, tzinfo=CHICAGO),  # 2026-01-01 05:30 UTC
        datetime.datetime(2026, 1, 15, 8, 0, tzinfo=CHICAGO),
        datetime.datetime(2026, 3, 1, 0, 15, tzinfo=CHICAGO),
    ]
    return [Event.objects.create(name=f"e{n}", happened_at=moment) for n, moment in enumerate(moments)]


def test_dates_are_the_months_in_the_current_time_zone(events: list[Event]) -> None:
    assert list(Event.objects.dates("happened_at", "month")) == [
        datetime.date(2025, 12, 1),
        datetime.date(2026, 1, 1),
        datetime.date(2026, 3, 1),
    ]


def test_datetimes_are_truncated_in_the_current_time_zone(events: list[Event]) -> None:
    assert list(Event.objects.datetimes("happened_at", "day")) == [
        datetime.datetime(2025, 12, 31, tzinfo=CHICAGO),
        datetime.datetime(2026, 1, 15, tzinfo=CHICAGO),
        datetime.datetime(2026, 3, 1, tzinfo=CHICAGO),
    ]


def test_extract_and_trunc_in_annotations(events: list[Event]) -> None:
    rows = Event.objects.annotate(year=ExtractYear("happened_at"), month=TruncMonth("happened_at")).order_by(
        "pk"
    )
    assert [(row.year, row.month) for row in rows] == [
        (2025, datetime.datetime(2025, 12, 1, tzinfo=CHICAGO)),
        (2026, datetime.datetime(2026, 1, 1, tzinfo=CHICAGO)),
        (2026, datetime.datetime(2026, 3, 1, tzinfo=CHICAGO)),
    ]


def test_a_datetime_plus_a_duration_is_computed_on_the_server(events: list[Event]) -> None:
    Event.objects.filter(pk=events[0].pk).update(
        happened_at=F("happened_at") + datetime.timedelta(days=1, hours=1)
    )
    assert Event.objects.get(pk=events[0].pk).happened_at == datetime.datetime(
        2026, 1, 2, 0, 30, tzinfo=CHICAGO
    )


def test_the_difference_of_two_datetimes_is_a_duration(events: list[Event]) -> None:
    first = events[0]
    gap = Event.objects.annotate(gap=F("happened_at") - Value(first.happened_at)).get(pk=events[1].pk).gap
    assert gap == events[1].happened_at - first.happened_at


# -- the raw cursor ---------------------------------------------------------------------------------------


def test_cursor_executemany_inserts_every_row() -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO testapp_event (name, happened_at) VALUES (%s, %s)",
            [("a", "2026-01-01 00:00:00"), ("b", "2026-01-02 00:00:00")],
        )
        assert cursor.rowcount == 2
    assert sorted(Event.objects.values_list("name", flat=True)) == ["a", "b"]


def test_cursor_takes_named_parameters() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %(a)s + %(b)s, %(a)s", {"a": 2, "b": 3})
        assert cursor.fetchone() == (5, 2)


def test_cursor_doubled_percent_is_a_literal_percent_when_there_are_parameters() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT '100%%', %s", ["x"])
        assert cursor.fetchone() == ("100%", "x")


def test_cursor_sql_without_parameters_is_sent_as_written() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT '100%%'")
        assert cursor.fetchone() == ("100%%",)


def test_cursor_description_names_the_columns() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 AS one, 'two' AS two")
        assert [column[0] for column in cursor.description] == ["one", "two"]
        assert cursor.fetchall() == [(1, "two")]
