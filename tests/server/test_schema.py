"""Schema calls over HTTP: create, list, describe, alter and drop tables on a real PhantomDB Lite.

The contract is docs/rest-api.md, "Tables (schema calls)"; the unit-level
behaviour of every operation is in tests/server/test_dialect.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from tests.conftest import DOCS_USERS_ID_DESCRIPTION, DOCS_USERS_TABLE
from tests.server.conftest import TRANSACTION_HEADER, Api, assert_error

TEAMS = {
    "name": "teams",
    "columns": [
        {"name": "id", "type": "BIGINT", "primary_key": True, "auto_increment": True},
        {"name": "name", "type": "VARCHAR(40)", "nullable": False, "unique": True},
    ],
}

# The example of docs/rest-api.md.
USERS = DOCS_USERS_TABLE


def create(api: Api, db: str, spec: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/databases/{db}/tables", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def describe(api: Api, db: str, table: str) -> dict[str, Any]:
    response = api.get(f"/databases/{db}/tables/{table}/schema")
    assert response.status_code == 200, response.text
    return response.json()


def patch(
    api: Api, db: str, table: str, *operations: Any, transaction: str | None = None
) -> requests.Response:
    headers = {TRANSACTION_HEADER: transaction} if transaction else {}
    return api.call(
        "PATCH",
        f"/databases/{db}/tables/{table}/schema",
        json={"operations": list(operations)},
        headers=headers,
    )


def alter(api: Api, db: str, table: str, *operations: Any) -> dict[str, Any]:
    response = patch(api, db, table, *operations)
    assert response.status_code == 200, response.text
    return response.json()


def insert(api: Api, db: str, table: str, row: dict[str, Any]) -> requests.Response:
    return api.post(f"/databases/{db}/tables/{table}", json=row)


def column(description: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in description["columns"] if c["name"] == name)


@pytest.fixture
def people(api: Api, db: str) -> str:
    """``teams`` and ``users`` (the contract's example) with a few rows; returns the database."""
    create(api, db, TEAMS)
    create(api, db, USERS)
    for name in ("red", "blue"):
        assert insert(api, db, "teams", {"name": name}).status_code == 201
    for email, age, team in [("ann@x.org", 30, 1), ("bob@x.org", 17, 2), ("cy@x.org", 40, None)]:
        assert insert(api, db, "users", {"email": email, "age": age, "team_id": team}).status_code == 201
    return db


# ---- create, describe, list ---------------------------------------------------------------------


def test_create_answers_201_with_the_description(api: Api, db: str) -> None:
    create(api, db, TEAMS)
    description = create(api, db, USERS)
    assert description["name"] == "users"
    assert [c["name"] for c in description["columns"]] == ["id", "email", "age", "team_id"]
    assert column(description, "id") == DOCS_USERS_ID_DESCRIPTION
    assert column(description, "email")["unique"] is True
    assert column(description, "age")["default"] == 0
    assert column(description, "team_id")["references"] == USERS["columns"][3]["references"]
    assert description["constraints"] == USERS["constraints"]
    assert description["indexes"] == [
        {"name": "users_age_idx", "columns": ["age"], "unique": False},
        {"name": "users_lower_email", "expressions": ['lower("email")'], "unique": True},
        {"name": "users_active_age", "columns": ["age"], "unique": False, "condition": '"age" > 18'},
    ]
    assert description["row_count"] == 0


def test_describe_returns_what_create_returned_with_the_row_count(api: Api, db: str) -> None:
    create(api, db, TEAMS)
    created = create(api, db, USERS)
    assert insert(api, db, "users", {"email": "ann@x.org", "age": 30}).status_code == 201
    assert describe(api, db, "users") == {**created, "row_count": 1}
    assert describe(api, db, "USERS")["name"] == "users"  # names ignore case, as in SQL


def test_tables_and_views_are_listed(api: Api, people: str) -> None:
    api.query(people, "CREATE VIEW adults AS SELECT * FROM users WHERE age >= 18")
    assert api.get(f"/databases/{people}/tables").json() == {
        "tables": [
            {"name": "adults", "type": "view"},
            {"name": "teams", "type": "table"},
            {"name": "users", "type": "table"},
        ]
    }


def test_constraints_are_enforced_on_rows(api: Api, people: str) -> None:
    assert_error(insert(api, people, "users", {"email": "ann@x.org", "age": 1}), 409, "unique_violation")
    assert_error(insert(api, people, "users", {"email": "ANN@X.ORG", "age": 1}), 409, "unique_violation")
    assert_error(insert(api, people, "users", {"email": "dee@x.org", "age": -1}), 409, "check_violation")
    assert_error(insert(api, people, "users", {"age": 5}), 409, "not_null_violation")
    created = insert(api, people, "users", {"email": "dee@x.org"}).json()
    assert api.rows(people, "SELECT id, age FROM users WHERE email = 'dee@x.org'") == [
        [created["rows"][0][0], 0]
    ]


def test_partial_unique_index_only_covers_its_condition(api: Api, db: str) -> None:
    create(
        api,
        db,
        {
            "name": "tasks",
            "columns": [
                {"name": "owner", "type": "INTEGER"},
                {"name": "done", "type": "BOOLEAN", "default": False},
            ],
            "indexes": [
                {"name": "one_open_task", "columns": ["owner"], "unique": True, "condition": '"done" = 0'}
            ],
        },
    )
    for done in (True, True, False):
        assert insert(api, db, "tasks", {"owner": 1, "done": done}).status_code == 201
    assert_error(insert(api, db, "tasks", {"owner": 1}), 409, "unique_violation")


def test_bigint_and_smallint_autoincrement_keys_created_by_sql_really_increment(api: Api, db: str) -> None:
    api.query(db, 'CREATE TABLE "big" ("id" bigint NOT NULL PRIMARY KEY AUTOINCREMENT, "v" text NOT NULL)')
    api.query(
        db, 'CREATE TABLE "small" ("id" smallint NOT NULL PRIMARY KEY AUTOINCREMENT, "v" text NOT NULL)'
    )
    for table in ("big", "small"):
        keys = [insert(api, db, table, {"v": v}).json()["rows"] for v in "abc"]
        assert keys == [[[1]], [[2]], [[3]]]
        assert column(describe(api, db, table), "id")["auto_increment"] is True


def test_json_columns_keep_the_document_1_as_text(api: Api, db: str) -> None:
    api.query(db, 'CREATE TABLE "by_sql" ("doc" json NULL)')
    create(api, db, {"name": "by_call", "columns": [{"name": "doc", "type": "JSON"}]})
    for table in ("by_sql", "by_call"):
        assert insert(api, db, table, {"doc": "1"}).status_code == 201
        assert api.rows(db, f"SELECT doc, typeof(doc) FROM {table}") == [["1", "text"]]
        assert column(describe(api, db, table), "doc")["type"] == "JSON"


def test_create_of_an_existing_table_is_table_exists(api: Api, people: str) -> None:
    message = assert_error(api.post(f"/databases/{people}/tables", json=TEAMS), 409, "table_exists")
    assert message == "Table 'teams' already exists"


def test_missing_tables_are_table_not_found(api: Api, db: str) -> None:
    path = f"/databases/{db}/tables/users/schema"
    message = assert_error(api.get(path), 404, "table_not_found")
    assert message == "Table 'users' does not exist"
    assert_error(patch(api, db, "users", {"op": "drop_column", "name": "x"}), 404, "table_not_found")
    assert_error(api.delete(path), 404, "table_not_found")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"columns": TEAMS["columns"]}, "'name'"),
        ({"name": "t", "columns": []}, "'columns'"),
        ({"name": "t", "columns": [{"name": "a", "type": "STRING"}]}, "'columns[0].type'"),
        (
            {"name": "t", "columns": [{"name": "a", "type": "TEXT", "nullable": "no"}]},
            "'columns[0].nullable'",
        ),
        ({"name": "t", "columns": [{"name": "a", "type": "TEXT", "default": [1]}]}, "'columns[0].default'"),
        ({"name": "t", "columns": [{"name": "", "type": "TEXT"}]}, "'columns[0].name'"),
        (
            {"name": "t", "columns": [{"name": "a", "type": "TEXT", "auto_increment": True}]},
            "'columns[0].auto_increment'",
        ),
        (
            {
                "name": "t",
                "columns": [{"name": "a", "type": "TEXT"}],
                "constraints": [{"name": "c", "type": "check", "check": "1); DROP TABLE t; --"}],
            },
            "'constraints[0].check'",
        ),
        (
            {"name": "t", "columns": [{"name": "a", "type": "TEXT"}], "indexes": [{"name": "i"}]},
            "'indexes[0]'",
        ),
    ],
)
def test_bad_specs_are_invalid_request_naming_the_field(
    api: Api, db: str, spec: dict[str, Any], field: str
) -> None:
    message = assert_error(api.post(f"/databases/{db}/tables", json=spec), 400, "invalid_request")
    assert field in message
    assert api.get(f"/databases/{db}/tables").json() == {"tables": []}


# ---- alter --------------------------------------------------------------------------------------


def test_add_column(api: Api, people: str) -> None:
    description = alter(
        api, people, "users", {"op": "add_column", "column": {"name": "nick", "type": "VARCHAR(40)"}}
    )
    assert column(description, "nick")["type"] == "VARCHAR(40)"
    description = alter(
        api,
        people,
        "users",
        {
            "op": "add_column",
            "column": {"name": "rank", "type": "SMALLINT", "nullable": False, "default": 1, "unique": False},
        },
    )
    assert api.rows(people, "SELECT rank FROM users") == [[1], [1], [1]]


def test_drop_column_also_drops_its_indexes_and_constraints(api: Api, people: str) -> None:
    description = alter(api, people, "users", {"op": "drop_column", "name": "age"})
    assert [c["name"] for c in description["columns"]] == ["id", "email", "team_id"]
    assert description["constraints"] == []
    assert [i["name"] for i in description["indexes"]] == ["users_lower_email"]
    assert description["row_count"] == 3


def test_rename_column(api: Api, people: str) -> None:
    description = alter(api, people, "users", {"op": "rename_column", "name": "age", "new_name": "years"})
    assert [c["name"] for c in description["columns"]] == ["id", "email", "years", "team_id"]
    assert {"name": "age_gte_0", "type": "check", "check": '"years" >= 0'} in description["constraints"]


def test_alter_column_remakes_the_table_with_rows_and_foreign_keys_intact(api: Api, people: str) -> None:
    before = api.rows(people, "SELECT * FROM users ORDER BY id")
    description = alter(
        api,
        people,
        "teams",
        {
            "op": "alter_column",
            "name": "name",
            "column": {"name": "name", "type": "TEXT", "nullable": True, "default": "unnamed"},
        },
    )
    name = column(description, "name")
    assert (name["type"], name["nullable"], name["default"], name["unique"]) == (
        "TEXT",
        True,
        "unnamed",
        False,
    )
    assert api.rows(people, "SELECT * FROM users ORDER BY id") == before
    assert api.rows(people, "PRAGMA foreign_key_check") == []
    assert_error(
        insert(api, people, "users", {"email": "z@x.org", "team_id": 99}), 409, "foreign_key_violation"
    )
    assert insert(api, people, "teams", {}).json()["rows"] == [[3]]  # the key sequence goes on
    assert api.rows(people, "SELECT name FROM teams WHERE id = 3") == [["unnamed"]]


def test_add_and_drop_constraints(api: Api, people: str) -> None:
    unique = {"name": "one_age_per_team", "type": "unique", "columns": ["team_id", "age"]}
    check = {"name": "adult", "type": "check", "check": '"age" >= 18'}
    assert_error(
        patch(api, people, "users", {"op": "add_constraint", "constraint": check}), 409, "check_violation"
    )
    description = alter(api, people, "users", {"op": "add_constraint", "constraint": unique})
    assert unique in description["constraints"]
    assert_error(
        insert(api, people, "users", {"email": "x@x.org", "age": 30, "team_id": 1}), 409, "unique_violation"
    )
    description = alter(api, people, "users", {"op": "drop_constraint", "name": "one_age_per_team"})
    assert unique not in description["constraints"]
    assert insert(api, people, "users", {"email": "x@x.org", "age": 30, "team_id": 1}).status_code == 201


def test_add_and_drop_expression_and_partial_indexes(api: Api, people: str) -> None:
    index = {"name": "teamless_by_age", "expressions": ['"age" * 2'], "condition": '"team_id" IS NULL'}
    description = alter(api, people, "users", {"op": "add_index", "index": index})
    assert {**index, "unique": False} in description["indexes"]
    description = alter(api, people, "users", {"op": "drop_index", "name": "teamless_by_age"})
    assert "teamless_by_age" not in [i["name"] for i in description["indexes"]]
    message = assert_error(
        patch(api, people, "users", {"op": "drop_index", "name": "teamless_by_age"}), 400, "invalid_request"
    )
    assert message == "Table 'users' has no index 'teamless_by_age'"


def test_rename_table(api: Api, people: str) -> None:
    description = alter(api, people, "teams", {"op": "rename_table", "new_name": "squads"})
    assert description["name"] == "squads"
    assert column(describe(api, people, "users"), "team_id")["references"]["table"] == "squads"
    assert_error(api.get(f"/databases/{people}/tables/teams/schema"), 404, "table_not_found")
    assert_error(
        patch(api, people, "squads", {"op": "rename_table", "new_name": "users"}), 409, "table_exists"
    )


def test_operations_apply_all_or_none(api: Api, people: str) -> None:
    before = describe(api, people, "users")
    response = patch(
        api,
        people,
        "users",
        {"op": "add_column", "column": {"name": "nick", "type": "TEXT"}},
        {"op": "alter_column", "name": "age", "column": {"name": "age", "type": "BIGINT", "nullable": True}},
        {"op": "drop_column", "name": "nope"},
    )
    assert assert_error(response, 400, "column_not_found") == "Column 'nope' does not exist"
    assert describe(api, people, "users") == before


def test_bad_operations_are_invalid_request_naming_the_field(api: Api, people: str) -> None:
    message = assert_error(
        patch(api, people, "users", {"op": "add_column", "column": {"name": "x"}}), 400, "invalid_request"
    )
    assert "'operations[0].column.type'" in message
    message = assert_error(patch(api, people, "users", {"op": "shrink"}), 400, "invalid_request")
    assert "'operations[0].op'" in message


def test_alter_inside_a_transaction_is_undone_by_rollback_and_kept_by_commit(api: Api, people: str) -> None:
    before = describe(api, people, "users")
    for outcome in ("rollback", "commit"):
        transaction = api.begin(people)
        response = patch(
            api,
            people,
            "users",
            {"op": "add_column", "column": {"name": "code", "type": "TEXT", "unique": True}},
            {"op": "drop_column", "name": "team_id"},
            transaction=transaction,
        )
        assert response.status_code == 200, response.text
        assert api.post(f"/transactions/{transaction}/{outcome}").status_code == 204
    after = describe(api, people, "users")
    expected = copy.deepcopy(before)
    expected["columns"] = [c for c in before["columns"] if c["name"] != "team_id"]
    expected["columns"].append(
        {
            "name": "code",
            "type": "TEXT",
            "nullable": True,
            "default": None,
            "primary_key": False,
            "auto_increment": False,
            "unique": True,
            "references": None,
        }
    )
    assert after == expected


def test_a_remake_that_would_cascade_inside_a_transaction_is_not_supported(api: Api, people: str) -> None:
    transaction = api.begin(people)
    operation = {"op": "add_column", "column": {"name": "code", "type": "TEXT", "unique": True}}
    message = assert_error(
        patch(api, people, "teams", operation, transaction=transaction), 400, "not_supported"
    )
    assert "ON DELETE CASCADE" in message and "outside a transaction" in message
    assert api.post(f"/transactions/{transaction}/rollback").status_code == 204
    assert column(alter(api, people, "teams", operation), "code")["unique"] is True  # outside: fine
    assert api.rows(people, "SELECT count(*) FROM users WHERE team_id IS NOT NULL") == [[2]]


# ---- drop ---------------------------------------------------------------------------------------


def test_drop_answers_204_and_the_table_is_gone(api: Api, people: str) -> None:
    response = api.delete(f"/databases/{people}/tables/users/schema")
    assert response.status_code == 204
    assert_error(api.get(f"/databases/{people}/tables/users/schema"), 404, "table_not_found")
    assert api.get(f"/databases/{people}/tables").json() == {"tables": [{"name": "teams", "type": "table"}]}
