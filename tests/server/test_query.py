"""``POST /databases/{db}/query``: one statement or a batch, and results streamed past max-rows."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import orjson
import pytest

from tests.server.conftest import Api, assert_error


def run(api: Api, db: str, body: dict):
    return api.post(f"/databases/{db}/query", json=body)


def test_a_select_answers_columns_types_rows_and_no_rowcount(api: Api, users: str) -> None:
    api.query(users, "INSERT INTO users (name, age, email) VALUES ('ann', 31, NULL), ('bob', NULL, 'b@x')")
    result = api.query(users, "SELECT id, name, age, email, 1.5 AS r, x'00ff' AS b FROM users ORDER BY id")
    assert result == {
        "columns": ["id", "name", "age", "email", "r", "b"],
        "types": ["integer", "text", "integer", "text", "real", "blob"],
        "rows": [
            [1, "ann", 31, None, 1.5, {"$bytes": "AP8="}],
            [2, "bob", None, "b@x", 1.5, {"$bytes": "AP8="}],
        ],
        "rowcount": -1,
        "lastrowid": None,
        "encoded": True,
    }


def test_a_column_that_is_always_null_has_type_null(api: Api, db: str) -> None:
    assert api.query(db, "SELECT NULL AS n, 1 AS i")["types"] == ["null", "integer"]


def test_an_insert_answers_rowcount_and_lastrowid(api: Api, users: str) -> None:
    result = api.query(users, "INSERT INTO users (name) VALUES (?), (?)", ["ann", "bob"])
    assert result == {"columns": [], "types": [], "rows": [], "rowcount": 2, "lastrowid": 2}


def test_insert_returning_answers_rows_and_rowcount(api: Api, users: str) -> None:
    result = api.query(users, "INSERT INTO users (name) VALUES (?), (?) RETURNING id, name", ["ann", "bob"])
    assert result["rows"] == [[1, "ann"], [2, "bob"]]
    assert result["rowcount"] == 2


def test_an_update_answers_rowcount(api: Api, users: str) -> None:
    api.query(users, "INSERT INTO users (name, age) VALUES ('a', 1), ('b', 2), ('c', 3)")
    result = api.query(users, "UPDATE users SET age = age + 1 WHERE age > ?", [1])
    assert result["rowcount"] == 2
    assert result["lastrowid"] is None  # not the insert's rowid left on the pooled connection
    batch = {"query": "UPDATE users SET age = ? WHERE id = ?", "batch": [[5, 1], [6, 2]]}
    assert run(api, users, batch).json()["lastrowid"] is None


def test_a_batch_runs_once_per_parameter_list(api: Api, users: str) -> None:
    body = {"query": "INSERT INTO users (name, age) VALUES (?, ?)", "batch": [["a", 1], ["b", 2], ["c", 3]]}
    response = run(api, users, body)
    assert response.status_code == 200
    assert response.json()["rowcount"] == 3
    assert response.json()["lastrowid"] == 3
    assert api.rows(users, "SELECT name, age FROM users ORDER BY id") == [["a", 1], ["b", 2], ["c", 3]]


def test_a_batch_is_all_or_nothing(api: Api, users: str) -> None:
    body = {"query": "INSERT INTO users (name, email) VALUES (?, ?)", "batch": [["a", "x@x"], ["b", "x@x"]]}
    assert_error(run(api, users, body), 409, "unique_violation")
    assert api.rows(users, "SELECT count(*) FROM users") == [[0]]


@pytest.mark.parametrize(
    "body",
    [
        {"query": "SELECT 1", "params": [1], "batch": [[1]]},
        {"query": 5},
        {"query": ""},
        {"params": [1]},
        {"query": "SELECT ?", "params": "1"},
        {"query": "SELECT ?", "batch": [1, 2]},
        {"query": "SELECT ?", "batch": "x"},
    ],
)
def test_malformed_query_bodies_are_invalid_request(api: Api, db: str, body: dict) -> None:
    assert_error(run(api, db, body), 400, "invalid_request")


@pytest.mark.parametrize(
    ("sql", "params", "status", "code"),
    [
        ("SELEC 1", [], 400, "syntax_error"),
        ("SELECT ?", [1, 2], 400, "syntax_error"),
        ("SELECT 1; SELECT 2", [], 400, "syntax_error"),
        ("SELECT * FROM ghosts", [], 404, "table_not_found"),
        ("SELECT nope FROM users", [], 400, "column_not_found"),
        ("INSERT INTO users (name) VALUES (NULL)", [], 409, "not_null_violation"),
        ("SELECT ?", [{"$decimal": "abc"}], 400, "data_error"),
        ("SELECT ?", [9223372036854775808], 400, "data_error"),
        ("SELECT abs(-9223372036854775808)", [], 400, "statement_failed"),
        ("SELECT CAST(x'ff' AS TEXT)", [], 400, "statement_failed"),
        ("SELECT 'x' REGEXP '('", [], 400, "statement_failed"),
        ("SELECT JSON_EXTRACT('{', '$')", [], 400, "statement_failed"),
        ("BEGIN", [], 400, "not_supported"),
        ("  /* hidden */ COMMIT", [], 400, "not_supported"),
        ("ROLLBACK", [], 400, "not_supported"),
        ("SAVEPOINT s1", [], 400, "not_supported"),
        ("ATTACH DATABASE '/tmp/elsewhere.db' AS other", [], 400, "not_supported"),
        ("VACUUM INTO '/tmp/copy.db'", [], 400, "not_supported"),
    ],
)
def test_statement_errors_map_to_their_codes(
    api: Api, users: str, sql: str, params: list, status: int, code: str
) -> None:
    assert_error(run(api, users, {"query": sql, "params": params}), status, code)


def test_phantomdb_types_are_translated_in_ddl(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (id BIGINT PRIMARY KEY AUTOINCREMENT, doc JSON)")
    api.query(db, "INSERT INTO t (doc) VALUES (?), (?)", ["1", '{"a": 1}'])
    assert api.rows(db, "SELECT id, doc, typeof(doc) FROM t") == [[1, "1", "text"], [2, '{"a": 1}', "text"]]


def test_the_function_library_is_registered(api: Api, db: str) -> None:
    assert api.rows(db, "SELECT 'John' REGEXP '^Jo(h)?n$', 'abc' LIKE 'ABC', 'abc' LIKE 'a%'") == [[1, 0, 1]]


def test_vacuum_of_the_database_itself_works(api: Api, db: str) -> None:
    assert api.query(db, "VACUUM")["rowcount"] == -1


def test_a_pragma_that_changes_settings_does_not_leak_to_later_calls(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE teams (id INTEGER PRIMARY KEY)")
    api.query(db, "CREATE TABLE players (id INTEGER PRIMARY KEY, team_id INTEGER REFERENCES teams (id))")
    api.query(db, "PRAGMA foreign_keys = OFF")
    for _ in range(5):
        response = run(api, db, {"query": "INSERT INTO players (team_id) VALUES (99)"})
        assert_error(response, 409, "foreign_key_violation")
    assert api.rows(db, "PRAGMA foreign_keys") == [[1]]


def test_reading_pragmas_answer_rows(api: Api, users: str) -> None:
    names = [row[1] for row in api.rows(users, "PRAGMA table_info(users)")]
    assert names == ["id", "name", "age", "email"]


# Streaming ---------------------------------------------------------------------


def raw_post(url: str, path: str, body: dict) -> tuple[http.client.HTTPResponse, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("POST", path, body=orjson.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response, response.read()


def fill(api: Api, db: str, count: int) -> None:
    api.query(db, "CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT, data BLOB)")
    rows = [[n, None if n < 8 else f"row {n}", b"" if n != count else None] for n in range(1, count + 1)]
    batch = [[n, label, None] for n, label, _ in rows]
    body = {"query": "INSERT INTO big (id, label, data) VALUES (?, ?, ?)", "batch": batch}
    assert api.post(f"/databases/{db}/query", json=body).status_code == 200
    api.query(db, "UPDATE big SET data = x'0102' WHERE id = ?", [count])


def test_a_result_longer_than_max_rows_is_streamed_as_one_json_document(
    limited_api: Api, limited_db: str
) -> None:
    fill(limited_api, limited_db, 23)
    response, body = raw_post(
        limited_api.url,
        f"/databases/{limited_db}/query",
        {"query": "SELECT id, label, data FROM big ORDER BY id"},
    )
    assert response.status == 200
    assert response.getheader("transfer-encoding") == "chunked"
    assert response.getheader("content-length") is None
    result = orjson.loads(body)
    assert result["columns"] == ["id", "label", "data"]
    assert [row[0] for row in result["rows"]] == list(range(1, 24))
    assert result["rows"][7] == [8, "row 8", None]
    assert result["rows"][-1] == [23, "row 23", {"$bytes": "AQI="}]
    # Types and "encoded" cover every chunk, not only the first.
    assert result["types"] == ["integer", "text", "blob"]
    assert result["encoded"] is True
    assert result["rowcount"] == -1 and result["lastrowid"] is None


def test_a_result_of_exactly_max_rows_is_not_streamed(limited_api: Api, limited_db: str) -> None:
    fill(limited_api, limited_db, 23)
    response, body = raw_post(
        limited_api.url, f"/databases/{limited_db}/query", {"query": "SELECT id FROM big WHERE id <= 5"}
    )
    assert response.getheader("content-length") == str(len(body))
    assert orjson.loads(body)["rows"] == [[1], [2], [3], [4], [5]]


def test_a_long_table_select_is_streamed_too(limited_api: Api, limited_db: str) -> None:
    fill(limited_api, limited_db, 12)
    response = limited_api.get(
        f"/databases/{limited_db}/tables/big", params={"columns": ["id"], "order_by": "id"}
    )
    assert response.headers.get("transfer-encoding") == "chunked"
    assert response.json() == {"columns": ["id"], "rows": [[n] for n in range(1, 13)], "encoded": False}


def test_streaming_releases_the_connection(limited_api: Api, limited_db: str) -> None:
    fill(limited_api, limited_db, 12)
    for _ in range(10):  # more than the pool holds: a leaked connection would keep a read snapshot
        assert len(limited_api.query(limited_db, "SELECT * FROM big")["rows"]) == 12
    limited_api.query(limited_db, "DELETE FROM big WHERE id > 2")
    assert limited_api.rows(limited_db, "SELECT count(*) FROM big") == [[2]]
