"""Conditions, orderings and update expressions read only their own table (condition_not_allowed)."""

from __future__ import annotations

import json

import pytest

from tests.server.conftest import Api, assert_error


@pytest.fixture
def tables(api: Api, db: str) -> str:
    """``users`` with two rows, and ``secrets`` that no condition on ``users`` may read."""
    api.query(db, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, age INTEGER)")
    api.query(db, "CREATE TABLE secrets (id INTEGER PRIMARY KEY, secret TEXT)")
    api.query(db, "CREATE VIEW leaked AS SELECT id, secret FROM secrets")
    api.query(db, "INSERT INTO users (name, age) VALUES ('ann', 31), ('bob', 25)")
    api.query(db, "INSERT INTO secrets (secret) VALUES ('s3cr3t'), ('hunter2')")
    return db


def select(
    api: Api, db: str, condition: str | None = None, order_by: str | None = None, params: list | None = None
):
    query = {"condition": condition, "order_by": order_by, "params": json.dumps(params) if params else None}
    return api.get(f"/databases/{db}/tables/users", params={k: v for k, v in query.items() if v is not None})


READING_ANOTHER_TABLE = [
    '"id" IN (SELECT "id" FROM secrets)',
    "id IN secrets",
    "id IN leaked",
    "EXISTS (SELECT 1 FROM secrets WHERE secret LIKE 'h%')",
    '"id" = (SELECT count(*) FROM sqlite_master)',
    "id IN pragma_table_info('secrets')",
    "id IN (WITH s AS (SELECT id FROM secrets) SELECT id FROM s)",
]
BREAKING_OUT = [
    "1=1; DROP TABLE secrets",
    "1=1; DROP TABLE secrets --",
    "1) UNION SELECT id, secret, 0 FROM secrets WHERE (1",
    "1) GROUP BY (age",
    "1) --",
    "'a' = 'a",
    "1 /* unterminated",
    "name = [unterminated",
]


@pytest.mark.parametrize("condition", READING_ANOTHER_TABLE + BREAKING_OUT)
def test_a_condition_that_reads_another_table_or_breaks_out_is_refused(
    api: Api, tables: str, condition: str
) -> None:
    assert_error(select(api, tables, condition), 400, "condition_not_allowed")
    assert api.rows(tables, "SELECT count(*) FROM secrets") == [[2]]


@pytest.mark.parametrize(
    "order_by", ["(SELECT secret FROM secrets)", "id; DELETE FROM secrets", "id IN secrets"]
)
def test_an_ordering_that_reads_another_table_is_refused(api: Api, tables: str, order_by: str) -> None:
    assert_error(select(api, tables, order_by=order_by), 400, "condition_not_allowed")


def test_a_subquery_on_the_own_table_is_more_than_an_expression(api: Api, tables: str) -> None:
    assert_error(select(api, tables, '"id" IN (SELECT "id" FROM users)'), 400, "condition_not_allowed")


@pytest.mark.parametrize(
    ("condition", "params", "names"),
    [
        ("\"name\" = 'a;b) OR (1'", None, []),  # ; and ) inside a literal are text
        ('"name" = ? -- a comment ) ;', ["ann"], ["ann"]),
        ('"name" /* ( */ = ?', ["bob"], ["bob"]),
        ('length("name") = 3 AND "age" BETWEEN ? AND ?', [30, 40], ["ann"]),
        ('"name" IN (?, ?)', ["ann", "bob"], ["ann", "bob"]),
        ('CASE WHEN "age" > 30 THEN 1 ELSE 0 END = 1', None, ["ann"]),
        ('"name" REGEXP ?', ["^b"], ["bob"]),
        ('"selected" IS NULL OR 1', None, ["ann", "bob"]),  # a quoted name may say select
    ],
)
def test_plain_expressions_over_the_own_table_pass(
    api: Api, tables: str, condition: str, params: list | None, names: list[str]
) -> None:
    if "selected" in condition:
        api.query(tables, 'ALTER TABLE users ADD COLUMN "selected" INTEGER')
    response = select(api, tables, condition, order_by='"name"', params=params)
    assert response.status_code == 200, response.text
    assert [row[1] for row in response.json()["rows"]] == names


def test_an_update_expression_that_reads_another_table_is_refused(api: Api, tables: str) -> None:
    body = {"expressions": {"name": "(SELECT secret FROM secrets LIMIT 1)"}}
    assert_error(api.put(f"/databases/{tables}/tables/users", json=body), 400, "condition_not_allowed")
    body = {"expressions": {"age": "id IN secrets"}}
    assert_error(api.put(f"/databases/{tables}/tables/users", json=body), 400, "condition_not_allowed")
    assert api.rows(tables, "SELECT name FROM users ORDER BY id") == [["ann"], ["bob"]]


def test_an_update_condition_that_reads_another_table_is_refused(api: Api, tables: str) -> None:
    body = {"data": {"name": "x"}, "condition": "id IN secrets"}
    assert_error(api.put(f"/databases/{tables}/tables/users", json=body), 400, "condition_not_allowed")
    body = {"data": {"name": "x"}, "condition": "1=1; DROP TABLE secrets"}
    assert_error(api.put(f"/databases/{tables}/tables/users", json=body), 400, "condition_not_allowed")
    assert api.rows(tables, "SELECT name FROM users ORDER BY id") == [["ann"], ["bob"]]


@pytest.mark.parametrize(
    "condition", ["id IN secrets", "1=1; DROP TABLE secrets", "id IN (SELECT id FROM secrets)"]
)
def test_a_delete_condition_that_reads_another_table_is_refused(
    api: Api, tables: str, condition: str
) -> None:
    response = api.delete(f"/databases/{tables}/tables/users", params={"condition": condition})
    assert_error(response, 400, "condition_not_allowed")
    assert api.rows(tables, "SELECT count(*) FROM users") == [[2]]
    assert api.rows(tables, "SELECT count(*) FROM secrets") == [[2]]


def test_an_empty_condition_is_invalid_request(api: Api, tables: str) -> None:
    assert_error(select(api, tables, "  "), 400, "invalid_request")


def test_the_message_says_what_was_refused(api: Api, tables: str) -> None:
    message = assert_error(select(api, tables, "id IN secrets"), 400, "condition_not_allowed")
    assert "secrets" in message
