"""Every Call names exactly the tables its statement reads and writes, or says it cannot know.

A write-invalidated cache turns a missing table into a stale read, so each
compiler path that can bring a table into a statement has its own test; raw
SQL and edited SQL must say "unknown" (None), never an empty set. Calls are
observed by a recording link of the connection's chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Exists, F, FilteredRelation, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL, Value
from django.db.models.functions import Now, Random

from phantomdb.calls import NO_TABLES, Call
from tests.backend.conftest import recorded_calls, statements
from tests.backend.testapp.models import Article, Comment, Place, Restaurant, Tag, User

USERS, ARTICLES, TAGS, THROUGH, COMMENTS = "users", "articles", "tags", "articles_tags", "comments"


@pytest.fixture
def blog() -> dict[str, Any]:
    """Two users, an article each, tags on the first one, a comment."""
    ann = User.objects.create(first_name="Ann", last_name="A", email="ann@example.com", age=30)
    bob = User.objects.create(first_name="Bob", last_name="B", email="bob@example.com", age=40)
    first = Article.objects.create(title="First", author=ann)
    second = Article.objects.create(title="Second", author=bob)
    django_tag, python_tag = Tag.objects.create(name="django"), Tag.objects.create(name="python")
    first.tags.add(django_tag, python_tag)
    Comment.objects.create(article=first, body="nice")
    return {"ann": ann, "bob": bob, "first": first, "second": second, "tag": django_tag}


def only_call(statement: Callable[[], object]) -> Call:
    """The Call of the one statement ``statement`` runs."""
    with recorded_calls() as recorded:
        statement()
    (entry,) = statements(recorded)
    return entry.call


def all_calls(statement: Callable[[], object]) -> list[Call]:
    with recorded_calls() as recorded:
        statement()
    return [entry.call for entry in statements(recorded)]


def reads(*tables: str) -> frozenset[str]:
    return frozenset(tables)


# -- reads: every table of the statement and of its subqueries ---------------------------


@pytest.mark.parametrize(
    ("read", "tables"),
    [
        pytest.param(lambda: list(User.objects.filter(age__gt=1)), reads(USERS), id="one-table"),
        pytest.param(
            lambda: list(Article.objects.select_related("author")), reads(ARTICLES, USERS), id="join"
        ),
        pytest.param(
            lambda: list(Article.objects.filter(author__in=User.objects.filter(age__gt=35))),
            reads(ARTICLES, USERS),
            id="in-queryset",
        ),
        pytest.param(
            lambda: list(User.objects.filter(Exists(Article.objects.filter(author=OuterRef("pk"))))),
            reads(USERS, ARTICLES),
            id="exists",
        ),
        pytest.param(
            lambda: list(
                User.objects.annotate(
                    latest=Subquery(Article.objects.filter(author=OuterRef("pk")).values("title")[:1])
                )
            ),
            reads(USERS, ARTICLES),
            id="subquery-in-select",
        ),
        pytest.param(
            lambda: list(
                User.objects.order_by(
                    Subquery(Article.objects.filter(author=OuterRef("pk")).values("title")[:1])
                )
            ),
            reads(USERS, ARTICLES),
            id="subquery-in-order-by",
        ),
        pytest.param(
            lambda: list(
                User.objects.annotate(n=Count("articles")).filter(
                    n__gte=Subquery(Comment.objects.values("pk")[:1])
                )
            ),
            reads(USERS, ARTICLES, COMMENTS),
            id="subquery-in-having",
        ),
        pytest.param(
            lambda: list(
                User.objects.annotate(
                    firsts=FilteredRelation("articles", condition=Q(articles__title__startswith="F"))
                ).filter(firsts__isnull=False)
            ),
            reads(USERS, ARTICLES),
            id="filtered-relation",
        ),
        pytest.param(
            lambda: list(Article.objects.filter(tags__name="django")),
            reads(ARTICLES, THROUGH, TAGS),
            id="m2m-filter",
        ),
        pytest.param(
            lambda: list(Restaurant.objects.all()), reads("restaurants", "places"), id="inherited-parent"
        ),
        pytest.param(
            lambda: list(User.objects.values("email").union(Article.objects.values("title"))),
            reads(USERS, ARTICLES),
            id="union",
        ),
        pytest.param(
            lambda: list(User.objects.values("id").intersection(Article.objects.values("author_id"))),
            reads(USERS, ARTICLES),
            id="intersection",
        ),
        pytest.param(
            lambda: list(User.objects.values("id").difference(Comment.objects.values("article_id"))),
            reads(USERS, COMMENTS),
            id="difference",
        ),
        pytest.param(
            lambda: list(User.objects.extra(tables=[TAGS], where=[])),
            reads(USERS, TAGS),
            id="extra-tables",
        ),
        pytest.param(lambda: list(User.objects.extra(where=["age > 1"])), reads(USERS), id="extra-where"),
        pytest.param(
            lambda: list(User.objects.annotate(older=RawSQL("age + 1", ()))), reads(USERS), id="rawsql-column"
        ),
        pytest.param(
            lambda: User.objects.filter(age__gt=1)[:5].count(), reads(USERS), id="aggregate-subquery"
        ),
        pytest.param(
            lambda: Article.objects.aggregate(n=Count("tags")), reads(ARTICLES, THROUGH), id="aggregate-join"
        ),
    ],
)
def test_a_read_names_every_table_it_reads(blog: dict[str, Any], read, tables: frozenset[str]) -> None:
    call = only_call(read)
    assert call.tables_read == tables
    assert call.tables_written == NO_TABLES and call.reads_only


def test_a_related_manager_of_a_many_to_many_reads_the_through_table(blog: dict[str, Any]) -> None:
    call = only_call(lambda: list(blog["first"].tags.all()))
    assert call.tables_read == reads(TAGS, THROUGH)


def test_prefetches_name_the_tables_each_of_their_queries_reads(blog: dict[str, Any]) -> None:
    calls = all_calls(lambda: list(User.objects.prefetch_related("articles__tags")))
    assert [call.tables_read for call in calls] == [reads(USERS), reads(ARTICLES), reads(TAGS, THROUGH)]


# -- unknown: raw SQL, raw fragments with queries of their own, SQL that was edited ------


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda: list(User.objects.raw("SELECT * FROM users")), id="raw"),
        pytest.param(
            lambda: list(User.objects.annotate(n=RawSQL("SELECT COUNT(*) FROM articles", ()))), id="rawsql"
        ),
        pytest.param(
            lambda: list(User.objects.extra(where=["id IN (SELECT author_id FROM articles)"])),
            id="extra-where",
        ),
        pytest.param(
            lambda: list(User.objects.extra(select={"n": "SELECT COUNT(*) FROM articles"})), id="extra-select"
        ),
    ],
)
def test_a_read_with_raw_sql_has_unknown_tables(blog: dict[str, Any], read) -> None:
    call = only_call(read)
    assert call.tables_read is None
    assert call.reads_only


def test_a_cursor_select_has_unknown_tables_and_writes_nothing() -> None:
    def select() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM users")

    call = only_call(select)
    assert call.tables_read is None and call.tables_written == NO_TABLES


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE users SET age = age + 1 WHERE id = 0 RETURNING id",
        "INSERT INTO tags (name) SELECT first_name FROM users WHERE id = 0",
        "WITH gone AS (SELECT id FROM users WHERE id = 0) DELETE FROM users WHERE id IN gone",
        "REPLACE INTO tags (id, name) VALUES (1000, 'x')",
        "/* a comment first */ DELETE FROM tags WHERE id = 0",
        "CREATE TABLE scratch_table (id integer)",
        "DROP TABLE scratch_table",
    ],
)
def test_a_raw_statement_that_writes_is_a_write_to_unknown_tables(sql: str) -> None:
    def write() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    call = only_call(write)
    assert call.tables_written is None and call.writes and not call.reads_only


def test_sql_rewritten_by_an_execute_wrapper_has_unknown_tables(blog: dict[str, Any]) -> None:
    def rewrite(execute, sql, params, many, context):
        return execute(sql.replace(" WHERE ", " WHERE 1 = 1 AND "), params, many, context)

    with connection.execute_wrapper(rewrite):
        call = only_call(lambda: list(User.objects.filter(age__gt=1)))
    assert call.tables_read is None


def test_a_comment_appended_by_an_execute_wrapper_keeps_the_call(blog: dict[str, Any]) -> None:
    def add_comment(execute, sql, params, many, context):
        return execute(
            sql + " /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/",
            params,
            many,
            context,
        )

    with connection.execute_wrapper(add_comment):
        call = only_call(lambda: list(User.objects.filter(age__gt=1)))
    assert call.operation == "select" and call.tables_read == reads(USERS)


def test_an_expression_whose_sql_names_another_table_makes_the_tables_unknown(blog: dict[str, Any]) -> None:
    hidden = Value(1).resolve_expression(User.objects.all().query)
    hidden.as_sql = lambda compiler, connection: ('(SELECT COUNT(*) FROM "articles")', [])
    call = only_call(lambda: list(User.objects.annotate(n=hidden)))
    assert call.tables_read is None


# -- volatile reads -------------------------------------------------------------------


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda: list(User.objects.order_by("?")), id="random-order"),
        pytest.param(lambda: list(User.objects.annotate(r=Random())), id="random"),
        pytest.param(lambda: list(User.objects.annotate(now=Now())), id="now"),
        pytest.param(lambda: list(User.objects.filter(created_at__lte=Now())), id="now-in-filter"),
        pytest.param(lambda: list(User.objects.select_for_update()), id="select-for-update"),
    ],
)
def test_a_volatile_read_is_marked(blog: dict[str, Any], read) -> None:
    from django.db import transaction

    with transaction.atomic():
        call = only_call(read)
    assert call.volatile


def test_an_ordinary_read_is_not_volatile(blog: dict[str, Any]) -> None:
    assert not only_call(lambda: list(User.objects.filter(age__gt=F("age") - 1))).volatile


# -- writes -------------------------------------------------------------------------------


def written(calls: list[Call]) -> list[frozenset[str] | None]:
    return [call.tables_written for call in calls]


def test_create_bulk_create_update_and_delete_write_their_table(blog: dict[str, Any]) -> None:
    assert only_call(lambda: Tag.objects.create(name="new")).tables_written == reads(TAGS)
    bulk = all_calls(lambda: Tag.objects.bulk_create([Tag(name="a"), Tag(name="b")]))
    assert written(bulk) == [reads(TAGS)]
    assert only_call(lambda: Tag.objects.filter(name="a").update(name="c")).tables_written == reads(TAGS)
    assert only_call(lambda: Tag.objects.filter(name="b")._raw_delete("default")).tables_written == reads(
        TAGS
    )


def test_bulk_update_writes_its_table(blog: dict[str, Any]) -> None:
    tag = blog["tag"]
    tag.name = "renamed"
    assert set(written(all_calls(lambda: Tag.objects.bulk_update([tag], ["name"])))) == {reads(TAGS)}


def test_an_update_with_a_subquery_writes_its_table_and_reads_both(blog: dict[str, Any]) -> None:
    call = only_call(
        lambda: User.objects.filter(Exists(Article.objects.filter(author=OuterRef("pk")))).update(age=1)
    )
    assert call.tables_written == reads(USERS)
    assert call.tables_read == reads(USERS, ARTICLES)


def test_an_update_of_an_inherited_field_writes_each_table_it_changes(blog: dict[str, Any]) -> None:
    Restaurant.objects.create(name="Luigi", serves_pizza=True)
    calls = all_calls(lambda: Restaurant.objects.update(name="Mario", serves_pizza=False))
    assert set().union(*(call.tables_written for call in calls if call.writes)) == {"places", "restaurants"}
    assert Place.objects.get().name == "Mario"


def test_a_cascading_delete_writes_every_table_it_deletes_from(blog: dict[str, Any]) -> None:
    calls = all_calls(lambda: blog["ann"].delete())
    deleted = set().union(*(call.tables_written for call in calls if call.writes))
    assert deleted == {USERS, "profiles", ARTICLES, COMMENTS, THROUGH}
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda blog: blog["second"].tags.add(blog["tag"]), id="add"),
        pytest.param(lambda blog: blog["first"].tags.remove(blog["tag"]), id="remove"),
        pytest.param(lambda blog: blog["first"].tags.clear(), id="clear"),
        pytest.param(lambda blog: blog["first"].tags.set([blog["tag"]]), id="set"),
    ],
)
def test_many_to_many_changes_write_the_through_table(blog: dict[str, Any], change) -> None:
    calls = all_calls(lambda: change(blog))
    assert {table for call in calls if call.writes for table in call.tables_written} == {THROUGH}
