"""Row calls: select (GET and POST .../select), insert, update, delete, as docs/rest-api.md says."""

from __future__ import annotations

import json

import pytest

from tests.server.conftest import Api, assert_error


def insert(api: Api, db: str, rows: object, returning: list[str] | None = None) -> dict:
    response = api.post(f"/databases/{db}/tables/users", json=rows, params={"returning": returning or []})
    assert response.status_code == 201, response.text
    return response.json()


def select(api: Api, db: str, **params: object) -> dict:
    if "params" in params:
        params["params"] = json.dumps(params["params"])
    response = api.get(f"/databases/{db}/tables/users", params=params)
    assert response.status_code == 200, response.text
    return response.json()


PEOPLE = [
    {"name": "ann", "age": 31, "email": "ann@example.com"},
    {"name": "bob", "age": 25, "email": "bob@example.com"},
    {"name": "cy", "age": 40, "email": "cy@example.com"},
    {"name": "di", "age": 18, "email": None},
]


# Insert -----------------------------------------------------------------------


def test_insert_one_returns_the_primary_key(api: Api, users: str) -> None:
    result = insert(api, users, PEOPLE[0])
    assert result == {"rowcount": 1, "columns": ["id"], "rows": [[1]], "lastrowid": 1, "encoded": False}


def test_insert_many_returns_keys_in_insert_order(api: Api, users: str) -> None:
    result = insert(api, users, PEOPLE)
    assert result["rowcount"] == 4
    assert result["rows"] == [[1], [2], [3], [4]]
    assert result["lastrowid"] == 4


def test_a_bulk_insert_longer_than_one_statement_keeps_every_row_in_order(api: Api, users: str) -> None:
    # Rows of three columns: SQLite's 32766 ``?`` per statement hold 10922 rows; these need two
    # statements, and a row with other columns in between needs one of its own.
    rows = [{"name": f"n{i}", "age": i % 90, "email": f"{i}@example.com"} for i in range(12000)]
    rows.insert(5000, {"name": "no email", "age": 1})
    result = insert(api, users, rows, returning=["id", "name"])
    assert result["rowcount"] == 12001 and result["lastrowid"] == 12001
    assert result["rows"] == [[i + 1, row["name"]] for i, row in enumerate(rows)]
    assert api.rows(users, "SELECT count(*), count(email) FROM users") == [[12001, 12000]]


def test_insert_returning_names_the_columns(api: Api, users: str) -> None:
    result = insert(api, users, PEOPLE[:2], returning=["name", "id"])
    assert result["columns"] == ["name", "id"]
    assert result["rows"] == [["ann", 1], ["bob", 2]]


def test_insert_many_is_all_or_nothing(api: Api, users: str) -> None:
    rows = [PEOPLE[0], PEOPLE[1], {"name": "dup", "email": "ann@example.com"}]
    response = api.post(f"/databases/{users}/tables/users", json=rows)
    assert_error(response, 409, "unique_violation")
    assert api.rows(users, "SELECT count(*) FROM users") == [[0]]


def test_insert_of_an_empty_row_uses_the_defaults(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE d (id INTEGER PRIMARY KEY, status TEXT DEFAULT 'new')")
    response = api.post(f"/databases/{db}/tables/d", json={})
    assert response.status_code == 201
    assert response.json()["rows"] == [[1]]
    assert api.rows(db, "SELECT id, status FROM d") == [[1, "new"]]


def test_insert_into_a_table_without_primary_key_returns_no_columns(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE log (message TEXT)")
    result = api.post(f"/databases/{db}/tables/log", json=[{"message": "a"}, {"message": "b"}]).json()
    assert result["columns"] == [] and result["rows"] == []
    assert result["rowcount"] == 2 and result["lastrowid"] == 2


def test_insert_of_an_unknown_column_is_column_not_found(api: Api, users: str) -> None:
    response = api.post(f"/databases/{users}/tables/users", json={"name": "x", "shoe_size": 44})
    assert assert_error(response, 400, "column_not_found") == "Column 'shoe_size' does not exist"


def test_returning_an_unknown_column_is_column_not_found(api: Api, users: str) -> None:
    response = api.post(f"/databases/{users}/tables/users?returning=nope", json=PEOPLE[0])
    assert_error(response, 400, "column_not_found")


def test_insert_into_an_unknown_table_is_table_not_found(api: Api, db: str) -> None:
    response = api.post(f"/databases/{db}/tables/ghosts", json={"name": "x"})
    assert assert_error(response, 404, "table_not_found") == "Table 'ghosts' does not exist"


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"age": 3}, "not_null_violation"),
        ({"name": "x", "age": -1}, "check_violation"),
    ],
)
def test_constraint_violations_are_integrity_errors(api: Api, users: str, row: dict, code: str) -> None:
    assert_error(api.post(f"/databases/{users}/tables/users", json=row), 409, code)


def test_a_foreign_key_violation_is_reported(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE teams (id INTEGER PRIMARY KEY)")
    api.query(db, "CREATE TABLE players (id INTEGER PRIMARY KEY, team_id INTEGER REFERENCES teams (id))")
    response = api.post(f"/databases/{db}/tables/players", json={"team_id": 99})
    assert_error(response, 409, "foreign_key_violation")


@pytest.mark.parametrize("body", [[], "ann", 5, [{"name": "x"}, "y"], None])
def test_an_insert_body_must_be_a_row_or_rows(api: Api, users: str, body: object) -> None:
    response = api.post(f"/databases/{users}/tables/users", data=json.dumps(body))
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "value",
    [
        {"$date": "yesterday"},
        {"$nope": 1},
        {"$bytes": "***"},
        {"a": 1, "b": 2},
        2**63,
        {"$uuid": {}},
        {"$uuid": [1]},
        {"$float": []},
        {"$duration": 1e300},
    ],
)
def test_a_value_that_cannot_be_stored_is_data_error(api: Api, users: str, value: object) -> None:
    assert_error(api.post(f"/databases/{users}/tables/users", json={"name": value}), 400, "data_error")


def test_a_list_is_not_a_value(api: Api, users: str) -> None:
    assert_error(api.post(f"/databases/{users}/tables/users", json={"name": [1, 2]}), 400, "invalid_request")


# Select -----------------------------------------------------------------------


def test_select_returns_every_column_by_default(api: Api, users: str) -> None:
    insert(api, users, PEOPLE[:1])
    result = select(api, users)
    assert result == {
        "columns": ["id", "name", "age", "email"],
        "rows": [[1, "ann", 31, "ann@example.com"]],
        "encoded": False,
    }


def test_select_with_columns_condition_order_limit_and_offset(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    result = select(
        api,
        users,
        columns=["name", "age"],
        condition='"age" > ?',
        params=[20],
        order_by='"age" DESC',
        limit=2,
        offset=1,
    )
    assert result["columns"] == ["name", "age"]
    assert result["rows"] == [["ann", 31], ["bob", 25]]


def test_offset_without_limit_skips_rows(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    assert select(api, users, columns=["id"], order_by='"id"', offset=3)["rows"] == [[4]]


def test_select_by_body_is_the_same_select(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    body = {"columns": ["name"], "condition": '"age" < ?', "params": [30], "order_by": '"name"', "limit": 10}
    response = api.post(f"/databases/{users}/tables/users/select", json=body)
    assert response.status_code == 200
    assert response.json()["rows"] == [["bob"], ["di"]]


def test_a_condition_may_use_functions_and_null_checks(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    result = select(
        api, users, columns=["name"], condition='upper("name") = ? OR "email" IS NULL', params=["CY"]
    )
    assert sorted(result["rows"]) == [["cy"], ["di"]]


def test_like_is_case_sensitive(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    assert select(api, users, columns=["name"], condition='"name" LIKE ?', params=["A%"])["rows"] == []
    assert select(api, users, columns=["name"], condition='"name" LIKE ?', params=["a%"])["rows"] == [["ann"]]


def test_selecting_an_unknown_column_is_column_not_found_not_a_constant(api: Api, users: str) -> None:
    insert(api, users, PEOPLE[:1])
    response = api.get(f"/databases/{users}/tables/users", params={"columns": ["nope"]})
    assert_error(response, 400, "column_not_found")


def test_select_from_an_unknown_table_is_table_not_found(api: Api, db: str) -> None:
    assert_error(api.get(f"/databases/{db}/tables/ghosts"), 404, "table_not_found")


def test_select_from_a_view(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    api.query(users, "CREATE VIEW adults AS SELECT name, age FROM users WHERE age >= 21")
    response = api.get(f"/databases/{users}/tables/adults", params={"order_by": '"age"'})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["bob", 25], ["ann", 31], ["cy", 40]]


@pytest.mark.parametrize(
    ("name", "value"),
    [("limit", "-1"), ("limit", "ten"), ("offset", "-5"), ("offset", "1.5"), ("limit", "1e3")],
)
def test_limit_and_offset_must_be_non_negative_integers(api: Api, users: str, name: str, value: str) -> None:
    assert_error(api.get(f"/databases/{users}/tables/users", params={name: value}), 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        {"limit": -1},
        {"limit": "5"},
        {"offset": 1.5},
        {"limit": True},
        {"columns": "name"},
        {"columns": [1]},
        {"condition": 1},
        {"params": {"a": 1}},
    ],
)
def test_select_body_fields_of_the_wrong_type_are_invalid_request(api: Api, users: str, body: dict) -> None:
    assert_error(api.post(f"/databases/{users}/tables/users/select", json=body), 400, "invalid_request")


def test_params_in_the_query_string_must_be_a_json_list(api: Api, users: str) -> None:
    path = f"/databases/{users}/tables/users"
    assert_error(api.get(path, params={"condition": '"id" = ?', "params": "[1"}), 400, "invalid_json")
    assert_error(
        api.get(path, params={"condition": '"id" = ?', "params": '{"a": 1}'}), 400, "invalid_request"
    )


def test_too_few_params_is_syntax_error(api: Api, users: str) -> None:
    response = api.get(f"/databases/{users}/tables/users", params={"condition": '"id" = ? AND "age" = ?'})
    assert_error(response, 400, "syntax_error")


# Update -----------------------------------------------------------------------


def test_update_sets_data_and_expressions_with_params_in_order(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    body = {
        "data": {"email": "ann@example.org"},
        "expressions": {"age": '"age" + ?', "name": 'upper("name") || ?'},
        "condition": '"id" = ?',
        "params": [7, "!", 1],
    }
    response = api.put(f"/databases/{users}/tables/users", json=body)
    assert response.status_code == 200
    assert response.json() == {"rowcount": 1}
    assert api.rows(users, "SELECT name, age, email FROM users WHERE id = 1") == [
        ["ANN!", 38, "ann@example.org"]
    ]
    assert api.rows(users, "SELECT age FROM users WHERE id = 2") == [[25]]


def test_update_without_condition_updates_every_row(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    response = api.put(f"/databases/{users}/tables/users", json={"expressions": {"age": '"age" + 1'}})
    assert response.json() == {"rowcount": 4}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"data": {}},
        {"data": "x"},
        {"expressions": {"age": 5}},
        {"data": {"age": 1}, "expressions": {"age": "2"}},
        {"data": {"age": 1}, "params": "x"},
    ],
)
def test_an_update_needs_well_formed_data_or_expressions(api: Api, users: str, body: dict) -> None:
    assert_error(api.put(f"/databases/{users}/tables/users", json=body), 400, "invalid_request")


def test_an_update_that_violates_a_constraint_changes_nothing(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    response = api.put(f"/databases/{users}/tables/users", json={"expressions": {"age": '"age" - 20'}})
    assert_error(response, 409, "check_violation")
    assert api.rows(users, "SELECT sum(age) FROM users") == [[114]]


def test_update_of_an_unknown_table_is_table_not_found(api: Api, db: str) -> None:
    assert_error(api.put(f"/databases/{db}/tables/ghosts", json={"data": {"a": 1}}), 404, "table_not_found")


# Delete -----------------------------------------------------------------------


def test_delete_with_a_condition_counts_the_rows(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    response = api.delete(
        f"/databases/{users}/tables/users", params={"condition": '"age" < ?', "params": "[30]"}
    )
    assert response.json() == {"rowcount": 2}
    assert api.rows(users, "SELECT name FROM users ORDER BY id") == [["ann"], ["cy"]]


def test_delete_without_condition_is_refused(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    assert_error(api.delete(f"/databases/{users}/tables/users"), 400, "unconditional_delete")
    assert_error(api.delete(f"/databases/{users}/tables/users?all=false"), 400, "unconditional_delete")
    assert api.rows(users, "SELECT count(*) FROM users") == [[4]]


def test_delete_all_true_empties_the_table_but_keeps_it(api: Api, users: str) -> None:
    insert(api, users, PEOPLE)
    assert api.delete(f"/databases/{users}/tables/users?all=true").json() == {"rowcount": 4}
    assert api.rows(users, "SELECT count(*) FROM users") == [[0]]
    assert {"name": "users", "type": "table"} in api.get(f"/databases/{users}/tables").json()["tables"]


def test_delete_all_must_be_a_boolean(api: Api, users: str) -> None:
    assert_error(api.delete(f"/databases/{users}/tables/users?all=maybe"), 400, "invalid_request")


def test_delete_cascades_through_foreign_keys(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE teams (id INTEGER PRIMARY KEY)")
    api.query(
        db,
        "CREATE TABLE players (id INTEGER PRIMARY KEY, team_id INTEGER REFERENCES teams ON DELETE CASCADE)",
    )
    api.query(db, "INSERT INTO teams VALUES (1), (2)")
    api.query(db, "INSERT INTO players (team_id) VALUES (1), (1), (2)")
    response = api.delete(f"/databases/{db}/tables/teams", params={"condition": '"id" = ?', "params": "[1]"})
    assert response.json() == {"rowcount": 1}
    assert api.rows(db, "SELECT team_id FROM players") == [[2]]


def test_delete_refused_by_a_foreign_key_is_foreign_key_violation(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE teams (id INTEGER PRIMARY KEY)")
    api.query(db, "CREATE TABLE players (id INTEGER PRIMARY KEY, team_id INTEGER REFERENCES teams)")
    api.query(db, "INSERT INTO teams VALUES (1)")
    api.query(db, "INSERT INTO players (team_id) VALUES (1)")
    assert_error(api.delete(f"/databases/{db}/tables/teams?all=true"), 409, "foreign_key_violation")


def test_update_and_delete_fire_triggers_on_other_tables(api: Api, users: str) -> None:
    api.query(users, "CREATE TABLE audit (what TEXT)")
    api.query(
        users, "CREATE TRIGGER on_delete AFTER DELETE ON users BEGIN INSERT INTO audit VALUES (old.name); END"
    )
    insert(api, users, PEOPLE)
    api.delete(f"/databases/{users}/tables/users", params={"condition": '"name" = ?', "params": '["bob"]'})
    assert api.rows(users, "SELECT what FROM audit") == [["bob"]]
