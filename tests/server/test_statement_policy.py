"""What a statement may do, as SQLite's authorizer decides it: the function allow-list,
TEMP objects that must not outlive their call, and PRAGMAs and tables that are off limits."""

from __future__ import annotations

import pytest

from tests.server.conftest import Api, assert_error


def _query(api: Api, db: str, sql: str, params: list | None = None):
    return api.post(f"/databases/{db}/query", json={"query": sql, "params": params or []})


def test_fts3_tokenizer_is_refused_and_the_server_stays_up(api: Api, db: str) -> None:
    message = assert_error(_query(api, db, "SELECT hex(fts3_tokenizer('simple'))"), 400, "not_supported")
    assert "fts3_tokenizer" in message
    assert_error(
        _query(api, db, "SELECT fts3_tokenizer('simple', x'0000000000000000')"), 400, "not_supported"
    )
    api.query(db, "CREATE VIRTUAL TABLE f USING fts3(x, tokenize=simple)")
    api.query(db, "INSERT INTO f VALUES ('still alive')")
    assert api.rows(db, "SELECT x FROM f WHERE f MATCH 'alive'") == [["still alive"]]


def test_a_function_outside_the_allow_list_is_refused_in_a_condition(api: Api, users: str) -> None:
    response = api.get(
        f"/databases/{users}/tables/users", params={"condition": "fts3_tokenizer('simple') IS NOT NULL"}
    )
    assert_error(response, 400, "not_supported")


def test_a_function_outside_the_allow_list_is_refused_in_an_update_expression(api: Api, users: str) -> None:
    api.post(f"/databases/{users}/tables/users", json={"name": "ann", "age": 3})
    response = api.put(
        f"/databases/{users}/tables/users",
        json={"expressions": {"name": "hex(fts3_tokenizer('simple'))"}, "condition": "1 = 1"},
    )
    assert_error(response, 400, "not_supported")
    assert api.rows(users, "SELECT name FROM users") == [["ann"]]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("abs(-2)", 2),
        ("json_extract('{\"a\": 5}', '$.a')", 5),
        ("'{\"a\": 5}' ->> '$.a'", 5),
        ("'abc' REGEXP 'b'", 1),
        ("LPAD('7', 3, '0')", "007"),
        ("SHA256('x') IS NOT NULL", 1),
        ("date('2026-01-02')", "2026-01-02"),
        ("sqrt(16.0)", 4.0),
    ],
)
def test_core_and_library_functions_are_allowed(api: Api, db: str, expression: str, expected: object) -> None:
    assert api.rows(db, f"SELECT {expression}") == [[expected]]


def test_window_and_aggregate_functions_are_allowed(api: Api, db: str) -> None:
    rows = api.rows(
        db,
        "SELECT row_number() OVER (ORDER BY x), sum(x) OVER (), STDDEV_POP(x) OVER ()"
        " FROM (SELECT 1 AS x UNION ALL SELECT 3)",
    )
    assert rows == [[1, 4, 1.0], [2, 4, 1.0]]


def test_the_librarys_plain_aggregates_are_allowed(api: Api, db: str) -> None:
    rows = api.rows(
        db, "SELECT ANY_VALUE(x), BIT_AND(x), BIT_OR(x), BIT_XOR(x) FROM (SELECT 6 AS x UNION ALL SELECT 3)"
    )
    assert rows == [[6, 2, 7, 5]]


def test_a_temp_table_does_not_shadow_the_main_table_for_later_calls(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    api.query(db, "CREATE TEMP TABLE t (x INTEGER)")
    for value in range(3):
        response = api.post(f"/databases/{db}/tables/t", json={"x": value})
        assert response.status_code == 201, response.text
    assert api.rows(db, "SELECT count(*) FROM main.t") == [[3]]
    assert api.rows(db, "SELECT count(*) FROM t") == [[3]]


def test_a_temp_trigger_does_not_rewrite_later_inserts(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    api.query(db, "CREATE TEMP TRIGGER rewrite AFTER INSERT ON t BEGIN UPDATE t SET x = 99; END")
    for value in range(3):
        api.post(f"/databases/{db}/tables/t", json={"x": value})
    assert api.rows(db, "SELECT x FROM t ORDER BY x") == [[0], [1], [2]]


def test_a_temp_table_lives_as_long_as_its_transaction(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    transaction = api.begin(db)
    api.query(db, "CREATE TEMP TABLE scratch (y INTEGER)", transaction=transaction)
    api.query(db, "INSERT INTO scratch VALUES (1)", transaction=transaction)
    assert api.query(db, "SELECT y FROM scratch", transaction=transaction)["rows"] == [[1]]
    api.post(f"/transactions/{transaction}/commit")
    for _ in range(3):
        assert_error(_query(api, db, "SELECT y FROM scratch"), 404, "table_not_found")


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH '' AS scratch",
        "ATTACH ':memory:' AS scratch",
        "PRAGMA temp_store_directory = '/tmp'",
        "PRAGMA data_store_directory = '/tmp'",
        "PRAGMA database_list",
        "SELECT file FROM pragma_database_list",
        "PRAGMA writable_schema = ON",
        "SELECT sql FROM sqlite_stmt",
    ],
)
def test_process_wide_and_revealing_statements_are_refused(api: Api, db: str, sql: str) -> None:
    assert_error(_query(api, db, sql), 400, "not_supported")


def test_another_clients_sql_is_not_visible(api: Api, db: str) -> None:
    api.query(db, "SELECT 'a secret of another client'")
    response = _query(api, db, "SELECT sql FROM sqlite_stmt")
    assert "secret" not in response.text


@pytest.mark.parametrize(
    ("function", "instead"),
    [("changes()", "rowcount"), ("total_changes()", "rowcount"), ("last_insert_rowid()", "lastrowid")],
)
def test_functions_that_tell_an_earlier_calls_work_are_refused_naming_what_to_use(
    api: Api, db: str, function: str, instead: str
) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    api.query(db, "INSERT INTO t (x) VALUES (1), (2)")  # another call's work on a pooled connection
    message = assert_error(_query(api, db, f"SELECT {function}"), 400, "not_supported")
    assert function in message and instead in message


def test_they_are_refused_in_a_condition_and_a_trigger_too(api: Api, users: str) -> None:
    response = api.get(f"/databases/{users}/tables/users", params={"condition": "changes() > 0"})
    assert_error(response, 400, "not_supported")
    trigger = (
        "CREATE TRIGGER note AFTER INSERT ON users BEGIN"
        " UPDATE users SET age = last_insert_rowid() WHERE id = NEW.id; END"
    )
    api.query(users, trigger)  # SQLite checks a trigger's body when a statement fires it
    response = api.post(f"/databases/{users}/tables/users", json={"name": "ann"})
    assert_error(response, 400, "not_supported")
    assert api.rows(users, "SELECT count(*) FROM users") == [[0]]


def test_a_batch_answers_its_own_last_insert_rowid(api: Api, users: str) -> None:
    api.query(users, "INSERT INTO users (id, name) VALUES (100, 'earlier call')")
    body = {"query": "INSERT INTO users (name) VALUES (?)", "batch": [["a"], ["b"], ["c"]]}
    result = api.post(f"/databases/{users}/query", json=body).json()
    assert (result["rowcount"], result["lastrowid"]) == (3, 103)
    body = {"query": "INSERT OR IGNORE INTO users (id, name) VALUES (?, ?)", "batch": [[101, "x"]]}
    result = api.post(f"/databases/{users}/query", json=body).json()
    assert (result["rowcount"], result["lastrowid"]) == (0, None)  # not the earlier call's 103
