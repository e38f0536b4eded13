"""The product document's operators, with their case rules, evaluated by the real server.

exact, contains, startswith, endswith and regex are case-sensitive; their
``i`` forms are case-insensitive for every script, not only ASCII. LIKE
wildcards in a value are matched literally.
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.db.models import F

from tests.backend.testapp.models import Event, User

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def names(queryset) -> set[str]:
    return set(queryset.values_list("first_name", flat=True))


@pytest.fixture
def people() -> None:
    spellings = [
        "école",
        "ÉCOLE",
        "Ecole",
        "zoë",
        "ZOË",
        "Zoe",
        "москва",
        "МОСКВА",
        "σοφία",
        "ΣΟΦΊΑ",
        "Straße",
        "σίσυφος",
        "John",
        "JOHN",
        "johnny",
        "50%",
        "500",
        "a_b",
        "axb",
        "back\\slash",
        "backslash",
    ]
    User.objects.bulk_create(
        [
            User(first_name=name, last_name="x", email=f"{n}@example.com", age=n)
            for n, name in enumerate(spellings)
        ]
    )


pytestmark = pytest.mark.usefixtures("people")


@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("exact", "école", {"école"}),
        ("exact", "ZOË", {"ZOË"}),
        ("exact", "москва", {"москва"}),
        ("contains", "col", {"école", "Ecole"}),
        ("contains", "COL", {"ÉCOLE"}),
        ("contains", "OË", {"ZOË"}),
        ("startswith", "É", {"ÉCOLE"}),
        ("startswith", "jo", {"johnny"}),
        ("startswith", "МОС", {"МОСКВА"}),
        ("endswith", "ВА", {"МОСКВА"}),
        ("endswith", "ία", {"σοφία"}),
        ("endswith", "HN", {"JOHN"}),
    ],
)
def test_case_sensitive_lookups_match_only_the_same_case(lookup: str, value: str, expected: set[str]) -> None:
    assert names(User.objects.filter(**{f"first_name__{lookup}": value})) == expected


@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("iexact", "ÉCOLE", {"école", "ÉCOLE"}),
        ("iexact", "école", {"école", "ÉCOLE"}),
        ("iexact", "zoë", {"zoë", "ZOË"}),
        ("iexact", "Москва", {"москва", "МОСКВА"}),
        ("iexact", "ΣΟΦΊΑ", {"σοφία", "ΣΟΦΊΑ"}),
        ("iexact", "john", {"John", "JOHN"}),
        ("icontains", "COL", {"école", "ÉCOLE", "Ecole"}),
        ("icontains", "OË", {"zoë", "ZOË"}),
        ("icontains", "оск", {"москва", "МОСКВА"}),
        ("istartswith", "éc", {"école", "ÉCOLE"}),
        ("istartswith", "ΣΟ", {"σοφία", "ΣΟΦΊΑ"}),
        ("istartswith", "JOHN", {"John", "JOHN", "johnny"}),
        ("iendswith", "ВА", {"москва", "МОСКВА"}),
        ("iendswith", "OLE", {"école", "ÉCOLE", "Ecole"}),
    ],
)
def test_case_insensitive_lookups_ignore_case_in_every_script(
    lookup: str, value: str, expected: set[str]
) -> None:
    assert names(User.objects.filter(**{f"first_name__{lookup}": value})) == expected


def test_case_insensitive_lookups_treat_capital_sharp_s_as_sharp_s() -> None:
    # Simple case folding (docs/sql-functions.md): one character stays one character.
    assert names(User.objects.filter(first_name__iexact="STRAẞE")) == {"Straße"}


def test_case_insensitive_lookups_treat_final_sigma_as_sigma() -> None:
    assert names(User.objects.filter(first_name__iexact="ΣΊΣΥΦΟΣ")) == {"σίσυφος"}


@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("contains", "0%", {"50%"}),
        ("icontains", "0%", {"50%"}),
        ("exact", "50%", {"50%"}),
        ("iexact", "50%", {"50%"}),
        ("startswith", "5%", set()),
        ("endswith", "%", {"50%"}),
        ("contains", "_", {"a_b"}),
        ("iexact", "A_B", {"a_b"}),
        ("istartswith", "A_", {"a_b"}),
        ("iendswith", "_B", {"a_b"}),
        ("contains", "\\", {"back\\slash"}),
        ("icontains", "K\\S", {"back\\slash"}),
        ("endswith", "\\slash", {"back\\slash"}),
    ],
)
def test_like_wildcards_in_a_value_match_literally(lookup: str, value: str, expected: set[str]) -> None:
    assert names(User.objects.filter(**{f"first_name__{lookup}": value})) == expected


def test_a_case_sensitive_pattern_against_another_column_escapes_its_wildcards() -> None:
    User.objects.filter(first_name="a_b").update(last_name="_")
    matched = User.objects.filter(first_name__contains=F("last_name")).exclude(last_name="x")
    assert names(matched) == {"a_b"}
    assert names(User.objects.filter(first_name="axb").filter(first_name__contains=F("first_name"))) == {
        "axb"
    }


@pytest.mark.parametrize("lookup", ["icontains", "istartswith", "iendswith"])
def test_a_case_insensitive_pattern_against_another_column_escapes_its_wildcards(lookup: str) -> None:
    User.objects.filter(first_name__in=["axb", "a_b"]).update(last_name="A_B")
    assert names(User.objects.filter(**{f"first_name__{lookup}": F("last_name")})) == {"a_b"}


def test_iexact_against_another_column_matches_its_wildcards_literally() -> None:
    User.objects.filter(first_name__in=["axb", "a_b"]).update(last_name="A_B")
    assert names(User.objects.filter(first_name__iexact=F("last_name"))) == {"a_b"}


@pytest.mark.parametrize(
    ("lookup", "value", "expected"),
    [
        ("regex", r"^É", {"ÉCOLE"}),
        ("regex", r"^[a-z]+$", {"johnny", "backslash", "axb"}),
        ("regex", r"^(John|zoë)$", {"John", "zoë"}),
        ("iregex", r"^é", {"école", "ÉCOLE"}),
        ("iregex", r"^МОСКВА$", {"москва", "МОСКВА"}),
        ("iregex", r"^john$", {"John", "JOHN"}),
    ],
)
def test_regex_is_case_sensitive_and_iregex_is_not(lookup: str, value: str, expected: set[str]) -> None:
    assert names(User.objects.filter(**{f"first_name__{lookup}": value})) == expected


@pytest.mark.parametrize(
    ("lookup", "value", "expected_ages"),
    [
        ("gt", 18, {19, 20}),
        ("gte", 19, {19, 20}),
        ("lt", 2, {0, 1}),
        ("lte", 1, {0, 1}),
        ("in", [3, 5, 99], {3, 5}),
        ("range", (4, 6), {4, 5, 6}),
    ],
)
def test_comparison_lookups(lookup: str, value: object, expected_ages: set[int]) -> None:
    assert (
        set(User.objects.filter(**{f"age__{lookup}": value}).values_list("age", flat=True)) == expected_ages
    )


def test_in_with_thousands_of_values_still_matches() -> None:
    ages = list(range(3, 20_000))
    assert User.objects.filter(age__in=ages).count() == 18
    assert set(User.objects.filter(age__in=ages).values_list("age", flat=True)) == set(range(3, 21))


def test_an_empty_in_matches_nothing() -> None:
    assert list(User.objects.filter(age__in=[])) == []


def test_in_with_a_subquery() -> None:
    assert names(User.objects.filter(age__in=User.objects.filter(first_name="ZOË").values("age"))) == {"ZOË"}


def test_isnull() -> None:
    Event.objects.create(name="no day", happened_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    Event.objects.create(
        name="a day",
        happened_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        day=datetime.date(2026, 1, 1),
    )
    assert list(Event.objects.filter(day__isnull=True).values_list("name", flat=True)) == ["no day"]
    assert list(Event.objects.filter(day__isnull=False).values_list("name", flat=True)) == ["a day"]


@pytest.fixture
def new_years_eve_in_chicago() -> Event:
    # 03:30 UTC on Thursday 1 January 2026 is 21:30 on Wednesday 31 December 2025 in Chicago.
    Event.objects.create(
        name="utc-noon", happened_at=datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
    )
    return Event.objects.create(
        name="party", happened_at=datetime.datetime(2026, 1, 1, 3, 30, tzinfo=datetime.UTC)
    )


@pytest.mark.parametrize(
    ("lookup", "value"),
    [
        ("year", 2025),
        ("month", 12),
        ("day", 31),
        ("week_day", 4),  # Wednesday: Sunday is 1
        ("iso_week_day", 3),
        ("quarter", 4),
        ("hour", 21),
        ("date", datetime.date(2025, 12, 31)),
    ],
)
def test_date_lookups_use_the_current_time_zone(
    new_years_eve_in_chicago: Event, lookup: str, value: object
) -> None:
    assert list(Event.objects.filter(**{f"happened_at__{lookup}": value})) == [new_years_eve_in_chicago]


def test_date_lookups_follow_an_overridden_time_zone(new_years_eve_in_chicago: Event) -> None:
    from django.utils import timezone

    with timezone.override(zoneinfo.ZoneInfo("UTC")):
        found = set(Event.objects.filter(happened_at__year=2026).values_list("name", flat=True))
    assert found == {"party", "utc-noon"}


def test_year_lookup_on_a_date_field() -> None:
    Event.objects.create(
        name="d", happened_at=datetime.datetime(2026, 1, 1, tzinfo=CHICAGO), day=datetime.date(2024, 2, 29)
    )
    assert list(
        Event.objects.filter(day__year=2024, day__month=2, day__day=29).values_list("name", flat=True)
    ) == ["d"]


def test_trunc_day_in_the_current_time_zone(new_years_eve_in_chicago: Event) -> None:
    from django.db.models.functions import TruncDay

    day = Event.objects.annotate(day_start=TruncDay("happened_at")).get(name="party").day_start
    assert day == datetime.datetime(2025, 12, 31, tzinfo=CHICAGO)


def test_a_database_time_zone_stores_local_times_and_lookups_convert_them(phantom) -> None:
    from tests.backend.conftest import extra_database

    moment = datetime.datetime(2026, 1, 1, 3, 30, tzinfo=datetime.UTC)
    with extra_database("tokyo", HOST=phantom.url, NAME=phantom.database, TIME_ZONE="Asia/Tokyo"):
        event = Event.objects.using("tokyo").create(name="tokyo", happened_at=moment)
        with phantom.client() as client:
            stored = client.execute_query(phantom.database, "SELECT happened_at FROM testapp_event").rows
        assert stored == (("2026-01-01 12:30:00",),)
        assert Event.objects.using("tokyo").get().happened_at == moment
        # Chicago (the current time zone) is still on 31 December at 21:30.
        assert list(Event.objects.using("tokyo").filter(happened_at__year=2025, happened_at__hour=21)) == [
            event
        ]
