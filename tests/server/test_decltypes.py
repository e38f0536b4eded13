"""``POST /query`` with ``"decltypes": true``: each result column's declared type, as SQLite gives it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import Api, assert_error

POSTS = (
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, published DATE, stamp TIMESTAMP, at TIME,"
    " amount DECIMAL(10, 2), flag BOOLEAN, doc JSON, title VARCHAR(20))"
)


def declared(api: Api, db: str, sql: str, params: list[Any] | None = None, **headers: str) -> list[Any]:
    response = api.post(
        f"/databases/{db}/query",
        json={"query": sql, "params": params or [], "decltypes": True},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["decltypes"]


@pytest.fixture
def posts(api: Api, db: str) -> str:
    api.query(db, POSTS)
    api.query(db, "INSERT INTO posts (published, flag) VALUES ('2024-02-05', 1)")
    return db


def test_a_column_reports_its_declared_type_as_written(api: Api, posts: str) -> None:
    assert declared(api, posts, "SELECT * FROM posts") == [
        "INTEGER", "DATE", "TIMESTAMP", "TIME", "DECIMAL(10, 2)", "BOOLEAN", "JSON TEXT", "VARCHAR(20)",
    ]  # fmt: skip


def test_an_expression_has_no_declared_type(api: Api, posts: str) -> None:
    assert (
        declared(api, posts, "SELECT max(published), published || '', 1, 'x', NULL FROM posts") == [None] * 5
    )


def test_aliases_subqueries_ctes_and_joins_keep_the_column_type(api: Api, posts: str) -> None:
    sql = (
        "WITH c AS (SELECT id, stamp FROM posts)"
        " SELECT p.published AS day, (SELECT at FROM posts LIMIT 1), c.stamp"
        " FROM posts p JOIN c ON c.id = p.id"
    )
    assert declared(api, posts, sql) == ["DATE", "TIME", "TIMESTAMP"]


def test_parameters_do_not_change_the_types(api: Api, posts: str) -> None:
    sql = "SELECT published, ? AS p, ?2 FROM posts WHERE published = ? AND '?' <> :x LIMIT ?"
    assert declared(api, posts, sql, ["a", "b", "2024-02-05", "y", 5]) == ["DATE", None, None]


def test_the_rows_are_the_stored_values(api: Api, posts: str) -> None:
    body = {"query": "SELECT published, flag FROM posts", "decltypes": True}
    result = api.post(f"/databases/{posts}/query", json=body).json()
    assert result["rows"] == [["2024-02-05", 1]]
    assert result["types"] == ["text", "integer"]


def test_without_the_flag_the_answer_has_no_decltypes(api: Api, posts: str) -> None:
    assert "decltypes" not in api.query(posts, "SELECT published FROM posts")


def test_statements_no_view_can_hold_answer_nulls(api: Api, posts: str) -> None:
    assert declared(api, posts, "PRAGMA table_info(posts)") == [None] * 6
    assert declared(
        api, posts, "INSERT INTO posts (published) VALUES ('2024-01-01') RETURNING published"
    ) == [None]


def test_the_view_it_reads_leaves_nothing_behind(api: Api, posts: str) -> None:
    declared(api, posts, "SELECT published FROM posts")
    assert api.rows(posts, "SELECT count(*) FROM sqlite_temp_master") == [[0]]
    assert api.rows(posts, "SELECT count(*) FROM sqlite_master WHERE type = 'view'") == [[0]]


def test_a_schema_change_changes_the_answer(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (a DATE)")
    assert declared(api, db, "SELECT a FROM t") == ["DATE"]
    api.query(db, "DROP TABLE t")
    api.query(db, "CREATE TABLE t (a TIME)")
    assert declared(api, db, "SELECT a FROM t") == ["TIME"]


def test_a_transaction_sees_its_own_schema_and_a_rolled_back_one_is_forgotten(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (a DATE)")
    assert declared(api, db, "SELECT a FROM t") == ["DATE"]
    transaction = api.begin(db)
    header = {"PhantomDB-Transaction": transaction}
    api.query(db, "DROP TABLE t", transaction=transaction)
    api.query(db, "CREATE TABLE t (a BOOLEAN)", transaction=transaction)
    assert declared(api, db, "SELECT a FROM t", **header) == ["BOOLEAN"]
    api.post(f"/transactions/{transaction}/rollback")
    assert declared(api, db, "SELECT a FROM t") == ["DATE"]
    transaction = api.begin(db)
    header = {"PhantomDB-Transaction": transaction}
    assert declared(api, db, "SELECT a FROM t", **header) == ["DATE"]
    api.post(f"/transactions/{transaction}/commit")


def test_a_statement_that_fails_is_the_usual_error(api: Api, posts: str) -> None:
    body = {"query": "SELECT nope FROM posts", "decltypes": True}
    assert_error(api.post(f"/databases/{posts}/query", json=body), 400, "column_not_found")


def test_decltypes_must_be_a_boolean(api: Api, posts: str) -> None:
    body = {"query": "SELECT published FROM posts", "decltypes": "yes"}
    assert_error(api.post(f"/databases/{posts}/query", json=body), 400, "invalid_request")


def test_a_streamed_result_carries_them_too(limited_api: Api, limited_db: str) -> None:
    limited_api.query(limited_db, "CREATE TABLE t (a DATE)")
    values = ", ".join(f"('2024-01-0{day}')" for day in range(1, 10))
    limited_api.query(limited_db, f"INSERT INTO t VALUES {values}")
    body = {"query": "SELECT a FROM t", "decltypes": True}
    result = limited_api.post(f"/databases/{limited_db}/query", json=body).json()
    assert len(result["rows"]) == 9
    assert result["decltypes"] == ["DATE"]


def test_reading_them_does_not_wait_for_a_transaction_holding_the_write_lock(api: Api, posts: str) -> None:
    transaction = api.begin(posts)
    try:
        assert declared(api, posts, "SELECT published FROM posts WHERE id > ?", [0]) == ["DATE"]
    finally:
        api.post(f"/transactions/{transaction}/rollback")
