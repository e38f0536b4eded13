"""Database calls: create, list, describe, drop, and names that cannot escape the data directory."""

from __future__ import annotations

import pytest

from tests.conftest import ServerProcess
from tests.server.conftest import Api, assert_error


def test_create_answers_201_with_the_name(api: Api, database_name: str) -> None:
    response = api.post("/databases", json={"name": database_name})
    assert response.status_code == 201
    assert response.json() == {"name": database_name}
    api.delete(f"/databases/{database_name}")


def test_a_created_database_is_listed_and_stored_as_one_file(
    api: Api, db: str, server: ServerProcess
) -> None:
    listed = api.get("/databases").json()["databases"]
    assert {"name": db} in listed
    assert (server.data_dir / f"{db}.sqlite3").is_file()


def test_describe_counts_tables_and_views_and_reports_the_size(api: Api, db: str) -> None:
    assert api.get(f"/databases/{db}").json() == {"name": db, "tables": 0, "size_bytes": 4096}
    api.query(db, "CREATE TABLE a (x INTEGER)")
    api.query(db, "CREATE TABLE b (y INTEGER)")
    api.query(db, "CREATE VIEW v AS SELECT x FROM a")
    api.query(db, "CREATE INDEX a_x ON a (x)")
    description = api.get(f"/databases/{db}").json()
    assert description["tables"] == 3
    assert description["size_bytes"] >= 4 * 4096


def test_creating_an_existing_database_is_database_exists(api: Api, db: str) -> None:
    assert_error(api.post("/databases", json={"name": db}), 409, "database_exists")


@pytest.mark.parametrize(
    "name", ["", "-leading-dash", "a" * 64, "has space", "dot.ted", "../../etc/passwd", "ü"]
)
def test_an_invalid_name_is_invalid_request(api: Api, name: str) -> None:
    assert_error(api.post("/databases", json={"name": name}), 400, "invalid_request")


def test_the_longest_valid_name_works(api: Api) -> None:
    name = "z" + "_-9" * 20 + "zz"
    assert len(name) == 63
    assert api.post("/databases", json={"name": name}).status_code == 201
    assert api.delete(f"/databases/{name}").status_code == 204


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_unknown_database_is_database_not_found(api: Api, method: str) -> None:
    message = assert_error(api.call(method, "/databases/no_such_db"), 404, "database_not_found")
    assert message == (
        "Database 'no_such_db' does not exist: "
        "create it with `phantomdb create-database no_such_db --url <this server's URL>`"
    )


@pytest.mark.parametrize("name", ["..", "%2E%2E", "..%2F..%2Fetc", "-x"])
def test_names_outside_the_pattern_are_never_opened(api: Api, name: str) -> None:
    response = api.get(f"/databases/{name}/tables/passwd")
    assert response.status_code == 404
    assert response.json()["error"]["code"] in ("database_not_found", "route_not_found")


def test_every_call_on_an_unknown_database_is_database_not_found(api: Api) -> None:
    path = "/databases/no_such_db"
    assert_error(api.post(f"{path}/query", json={"query": "SELECT 1"}), 404, "database_not_found")
    assert_error(api.get(f"{path}/tables/t"), 404, "database_not_found")
    assert_error(api.get(f"{path}/tables"), 404, "database_not_found")
    assert_error(api.post("/transactions", json={"database": "no_such_db"}), 404, "database_not_found")


def test_drop_deletes_the_files_and_the_database(api: Api, database_name: str, server: ServerProcess) -> None:
    api.post("/databases", json={"name": database_name})
    api.query(database_name, "CREATE TABLE t (x INTEGER)")
    api.query(database_name, "INSERT INTO t VALUES (1)")
    response = api.delete(f"/databases/{database_name}")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers and "content-type" not in response.headers
    assert not list(server.data_dir.glob(f"{database_name}.sqlite3*"))
    assert_error(api.get(f"/databases/{database_name}"), 404, "database_not_found")
    assert {"name": database_name} not in api.get("/databases").json()["databases"]


def test_a_dropped_database_can_be_created_again_empty(api: Api, database_name: str) -> None:
    api.post("/databases", json={"name": database_name})
    api.query(database_name, "CREATE TABLE t (x INTEGER)")
    api.delete(f"/databases/{database_name}")
    api.post("/databases", json={"name": database_name})
    assert api.get(f"/databases/{database_name}").json()["tables"] == 0
    api.delete(f"/databases/{database_name}")


def test_dropping_a_database_rolls_back_its_open_transactions(api: Api, database_name: str) -> None:
    api.post("/databases", json={"name": database_name})
    transaction = api.begin(database_name)
    assert api.delete(f"/databases/{database_name}").status_code == 204
    assert_error(api.post(f"/transactions/{transaction}/commit"), 404, "transaction_not_found")


def test_tables_lists_tables_and_views(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    api.query(db, "CREATE VIEW v AS SELECT x FROM t")
    tables = api.get(f"/databases/{db}/tables").json()["tables"]
    assert {"name": "t", "type": "table"} in tables
    assert {"name": "v", "type": "view"} in tables


def test_table_schema_calls_reach_the_schema_module(api: Api, db: str) -> None:
    spec = {"name": "teams", "columns": [{"name": "id", "type": "BIGINT", "primary_key": True}]}
    created = api.post(f"/databases/{db}/tables", json=spec)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "teams"
    assert api.get(f"/databases/{db}/tables/teams/schema").json()["row_count"] == 0
    altered = api.call(
        "PATCH",
        f"/databases/{db}/tables/teams/schema",
        json={"operations": [{"op": "add_column", "column": {"name": "name", "type": "TEXT"}}]},
    )
    assert altered.status_code == 200, altered.text
    assert [c["name"] for c in altered.json()["columns"]] == ["id", "name"]
    assert api.delete(f"/databases/{db}/tables/teams/schema").status_code == 204
    assert_error(api.get(f"/databases/{db}/tables/teams/schema"), 404, "table_not_found")


def test_alter_needs_a_list_of_operations(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    response = api.call("PATCH", f"/databases/{db}/tables/t/schema", json={"operations": "drop everything"})
    assert_error(response, 400, "invalid_request")
