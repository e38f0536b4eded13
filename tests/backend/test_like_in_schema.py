"""LIKE-based lookups in a generated column, partial indexes and a check constraint.

SQLite refuses its own case-sensitive LIKE there (it is not deterministic);
PhantomDB Lite's LIKE is, so the ``Headline`` model of the test app migrates
and behaves as its definition says.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from tests.backend.testapp.models import Headline


def test_a_generated_column_built_on_startswith_is_computed_case_sensitively() -> None:
    Headline.objects.bulk_create([Headline(title="Draft: one"), Headline(title="draft: two")])
    assert dict(Headline.objects.values_list("title", "is_draft")) == {
        "Draft: one": True,
        "draft: two": False,
    }


def test_a_check_constraint_built_on_contains_refuses_a_row_that_breaks_it() -> None:
    Headline.objects.create(title="no SPAM here")  # contains is case-sensitive
    with pytest.raises(IntegrityError):
        Headline.objects.create(title="buy spam")


def test_partial_indexes_with_startswith_and_icontains_conditions_exist() -> None:
    # Read from the catalog: Django's sqlite3 get_constraints() cannot parse this
    # table's SQL (a generated column with ESCAPE '\'), on sqlite3 as well.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s",
            [Headline._meta.db_table],
        )
        conditions = {name: sql.partition(" WHERE ")[2] for name, sql in cursor.fetchall()}
    assert conditions["headline_a_titles"].startswith('"title" LIKE')
    assert conditions["headline_news"].startswith('CASEFOLD("title") LIKE')


def test_rows_are_found_through_the_partial_index_condition() -> None:
    Headline.objects.bulk_create([Headline(title=title) for title in ("apple", "Avocado", "big NEWS")])
    assert list(Headline.objects.filter(title__startswith="a").values_list("title", flat=True)) == ["apple"]
    assert list(Headline.objects.filter(title__icontains="news").values_list("title", flat=True)) == [
        "big NEWS"
    ]
