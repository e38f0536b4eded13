"""Selects of a known shape reuse their compiled SQL: only the WHERE is compiled again.

Each test warms a shape with one run, then checks what a run with other
values does: the rows Django's own compile gives, and whether Django's
select-list compile (``SQLCompiler.get_select``) ran again.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.sql import compiler
from django.test.utils import CaptureQueriesContext

from tests.backend.conftest import recorded_calls
from tests.backend.testapp.models import Profile, User

Y2K = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def people() -> list[User]:
    return [
        User.objects.create(
            first_name=name, last_name="L", email=f"{name}@example.com", age=age, is_active=active
        )
        for name, age, active in (("ann", 30, True), ("bob", 17, False), ("cid", 45, True), ("dee", 17, True))
    ]


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times Django compiled a select list (a full compile of a query)."""
    counted: list[int] = []
    get_select = compiler.SQLCompiler.get_select

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return get_select(self, *args, **kwargs)

    monkeypatch.setattr(compiler.SQLCompiler, "get_select", counting)
    yield counted


def _emails(queryset: Any) -> list[str]:
    return [user.email for user in queryset]


def _second_run(compiles: list[int], run: Callable[[], Any]) -> tuple[Any, int]:
    """``run()`` once to warm its shape, then again: the second answer and its full compiles."""
    run()
    compiles.clear()
    return run(), len(compiles)


def test_a_query_with_other_values_reuses_the_compiled_sql(people: list[User], compiles: list[int]) -> None:
    ann, _, cid, _ = people
    assert User.objects.get(pk=ann.pk) == ann
    compiles.clear()
    with recorded_calls() as recorded, CaptureQueriesContext(connection) as queries:
        assert User.objects.get(pk=cid.pk) == cid
        assert _emails(User.objects.filter(age__gt=20).order_by("age")) == [ann.email, cid.email]
        assert _emails(User.objects.filter(age__gt=40).order_by("age")) == [cid.email]
    assert len(compiles) == 1  # the ordered filter's first run; the second and the get reused theirs
    assert recorded[1].call is recorded[2].call and tuple(recorded[2].params) == (40,)
    assert queries[2]["sql"].endswith('"age" > 40 ORDER BY "users"."age" ASC')  # Django's own log of it


def test_reused_sql_carries_the_new_values_to_the_server(people: list[User]) -> None:
    cid = people[2]
    User.objects.filter(age__gte=1, is_active=True).count()
    list(User.objects.filter(age__gte=18, first_name__startswith="a"))
    with recorded_calls() as recorded:
        found = _emails(User.objects.filter(age__gte=40, first_name__startswith="c"))
    assert found == [cid.email]
    assert [tuple(entry.params) for entry in recorded] == [(40, "c%")]


@pytest.mark.parametrize(
    "first, second, expected",
    [
        # A value beyond the column's range: Django answers "no rows" without asking the database.
        (lambda: list(User.objects.filter(pk=1)), lambda: list(User.objects.filter(pk=2**70)), []),
        # An empty IN matches nothing; IN lists of other lengths are other SQL.
        (
            lambda: _emails(User.objects.filter(age__in=[17, 30])),
            lambda: _emails(User.objects.filter(age__in=[])),
            [],
        ),
        (
            lambda: _emails(User.objects.filter(age__in=[17, 30]).order_by("pk")),
            lambda: _emails(User.objects.filter(age__in=[17, 30, 45]).order_by("pk")),
            ["ann@example.com", "bob@example.com", "cid@example.com", "dee@example.com"],
        ),
        # A boolean column's lookup writes the column or NOT it.
        (
            lambda: _emails(User.objects.filter(is_active=True).order_by("pk")),
            lambda: _emails(User.objects.filter(is_active=False).order_by("pk")),
            ["bob@example.com"],
        ),
        (
            lambda: _emails(User.objects.filter(first_name="ann")),
            lambda: _emails(User.objects.filter(first_name=None)),
            [],
        ),
        (
            lambda: _emails(User.objects.filter(age=17).order_by("pk")),
            lambda: _emails(User.objects.filter(age="17").order_by("pk")),
            ["bob@example.com", "dee@example.com"],
        ),
        (
            lambda: _emails(User.objects.filter(Q(age=45) | Q(first_name="bob")).order_by("pk")),
            lambda: _emails(User.objects.filter(Q(age=17) | Q(first_name="cid")).order_by("pk")),
            ["bob@example.com", "cid@example.com", "dee@example.com"],
        ),
        (
            lambda: _emails(User.objects.exclude(age=17).order_by("pk")),
            lambda: _emails(User.objects.exclude(age=30).order_by("pk")),
            ["bob@example.com", "cid@example.com", "dee@example.com"],
        ),
        (
            lambda: _emails(User.objects.order_by("pk")[:1]),
            lambda: _emails(User.objects.order_by("pk")[1:3]),
            ["bob@example.com", "cid@example.com"],
        ),
        (
            lambda: _emails(User.objects.order_by("pk")),
            lambda: _emails(User.objects.order_by("-pk")),
            ["dee@example.com", "cid@example.com", "bob@example.com", "ann@example.com"],
        ),
        (
            lambda: _emails(User.objects.filter(created_at__lt=Y2K)),
            lambda: _emails(User.objects.filter(created_at__gt=Y2K).order_by("pk")),
            ["ann@example.com", "bob@example.com", "cid@example.com", "dee@example.com"],
        ),
    ],
)
def test_a_warm_shape_never_changes_an_answer(
    people: list[User], first: Any, second: Any, expected: Any
) -> None:
    first()
    assert second() == expected


@pytest.mark.parametrize(
    "run",
    [
        lambda: list(User.objects.filter(age=17).values("email")),
        lambda: list(User.objects.filter(age=17).only("email")),
        lambda: list(User.objects.filter(age=17).annotate(n=Count("profile"))),
        lambda: list(User.objects.filter(age__gt=F("id"))),
        lambda: list(Profile.objects.filter(user__age=17)),
        lambda: list(Profile.objects.select_related("user").filter(bio="")),
        lambda: list(User.objects.filter(age=17).distinct()),
        lambda: list(User.objects.filter(age=17).extra(where=["1 = 1"])),
        lambda: list(User.objects.none()),
        # Ordering by a relation follows the related model's Meta.ordering and table.
        lambda: list(Profile.objects.filter(bio="").order_by("user")),
        lambda: list(Profile.objects.filter(bio="").order_by("user__age")),
    ],
)
def test_queries_of_other_shapes_compile_as_always(people: list[User], compiles: list[int], run: Any) -> None:
    answer, full_compiles = _second_run(compiles, run)
    assert answer == run()
    assert full_compiles >= 1 or answer == []  # none() never compiles at all


def test_one_shape_per_model(people: list[User]) -> None:
    ann = people[0]
    Profile.objects.create(user=ann, bio="hi")
    assert list(User.objects.filter(pk=ann.pk).values_list("email", flat=True)) == [ann.email]
    assert [profile.bio for profile in Profile.objects.filter(pk__gte=1)] == ["hi"]
    assert _emails(User.objects.filter(pk__gte=1).order_by("pk")) == [user.email for user in people]
