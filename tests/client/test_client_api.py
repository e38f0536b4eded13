"""Every method of ``phantomdb.PhantomDB`` against a real PhantomDB Lite process."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest

from phantomdb import (
    DataError,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    PhantomDB,
    ProgrammingError,
    Result,
)
from phantomdb.client import MAX_URL_LENGTH
from tests.client.conftest import USERS_COLUMNS
from tests.conftest import ServerProcess


def add_users(client: PhantomDB, db: str, *ages: int) -> list[int]:
    rows = [{"email": f"u{i}@example.com", "name": f"user {i}", "age": age} for i, age in enumerate(ages)]
    return [row[0] for row in client.insert(db, "users", rows).rows]


# -- server and databases --------------------------------------------------------


def test_health_check_says_ok(client: PhantomDB) -> None:
    health = client.health_check()
    assert health["status"] == "ok" and isinstance(health["version"], str)


def test_create_list_get_and_drop_a_database(client: PhantomDB, database_name: str) -> None:
    assert client.create_database(database_name) == {"name": database_name}
    assert {"name": database_name} in client.list_databases()
    info = client.get_database(database_name)
    assert info["name"] == database_name and info["tables"] == 0 and info["size_bytes"] >= 0
    client.drop_database(database_name)
    assert all(entry["name"] != database_name for entry in client.list_databases())


def test_creating_an_existing_database_is_programming_error(client: PhantomDB, db: str) -> None:
    with pytest.raises(ProgrammingError) as raised:
        client.create_database(db)
    assert raised.value.code == "database_exists"


def test_ensure_database_creates_once(client: PhantomDB, database_name: str) -> None:
    client.ensure_database(database_name)
    client.ensure_database(database_name)
    assert client.get_database(database_name)["name"] == database_name
    client.drop_database(database_name)


def test_clone_database_copies_the_committed_rows(client: PhantomDB, db: str, users: str) -> None:
    add_users(client, db, 30, 40)
    copy = f"{db}_copy"
    assert client.clone_database(db, copy) == {"name": copy}
    try:
        assert client.execute_query(copy, "SELECT age FROM users ORDER BY age").rows == ((30,), (40,))
        with pytest.raises(ProgrammingError) as raised:
            client.clone_database(db, copy)
        assert raised.value.code == "database_exists"
    finally:
        client.drop_database(copy)


def test_getting_a_missing_database_is_programming_error(client: PhantomDB, database_name: str) -> None:
    with pytest.raises(ProgrammingError) as raised:
        client.get_database(database_name)
    assert raised.value.code == "database_not_found"
    assert str(raised.value).startswith(f"Database '{database_name}' does not exist: create it with")


# -- schema ----------------------------------------------------------------------


def test_create_table_from_name_and_parts_then_describe(client: PhantomDB, db: str, users: str) -> None:
    description = client.describe_table(db, users)
    assert description["name"] == "users" and description["row_count"] == 0
    columns = {column["name"]: column for column in description["columns"]}
    assert list(columns) == ["id", "email", "name", "age"]
    assert columns["id"]["primary_key"] is True
    assert columns["email"]["nullable"] is False and columns["email"]["unique"] is True
    assert columns["age"]["default"] == 0


def test_create_table_from_a_whole_spec(client: PhantomDB, db: str) -> None:
    spec = {
        "name": "teams",
        "columns": [
            {"name": "id", "type": "INTEGER", "primary_key": True, "auto_increment": True},
            {"name": "name", "type": "VARCHAR(50)", "nullable": False},
            {"name": "budget", "type": "DECIMAL(10, 2)", "default": decimal.Decimal("12.50")},
            {"name": "founded", "type": "DATE", "default": datetime.date(2026, 1, 2)},
        ],
        "constraints": [{"name": "name_not_empty", "type": "check", "check": "\"name\" <> ''"}],
        "indexes": [{"name": "teams_name_idx", "columns": ["name"], "unique": True}],
    }
    created = client.create_table(db, spec)
    assert created["name"] == "teams"
    assert [index["name"] for index in created["indexes"]] == ["teams_name_idx"]
    assert [constraint["name"] for constraint in created["constraints"]] == ["name_not_empty"]
    client.insert(db, "teams", {"name": "red"})
    row = client.select(db, "teams", columns=["budget", "founded"]).rows[0]
    assert row[1] == "2026-01-02"  # PhantomDB Lite stores dates as text


def test_creating_an_existing_table_is_programming_error(client: PhantomDB, db: str, users: str) -> None:
    with pytest.raises(ProgrammingError) as raised:
        client.create_table(db, users, columns=[{"name": "a", "type": "INTEGER"}])
    assert raised.value.code == "table_exists"


def test_list_tables_names_tables_and_views(client: PhantomDB, db: str, users: str) -> None:
    client.execute_query(db, 'CREATE VIEW adults AS SELECT * FROM users WHERE "age" >= 18')
    tables = sorted(client.list_tables(db), key=lambda entry: entry["name"])
    assert tables == [{"name": "adults", "type": "view"}, {"name": "users", "type": "table"}]


def test_alter_table_applies_all_operations(client: PhantomDB, db: str, users: str) -> None:
    joined = {"name": "joined", "type": "DATE", "default": datetime.date(2026, 1, 2)}
    description = client.alter_table(db, users, [
        {"op": "add_column", "column": joined},
        {"op": "rename_column", "name": "name", "new_name": "full_name"},
        {"op": "add_index", "index": {"name": "users_age_idx", "columns": ["age"]}},
    ])
    names = [column["name"] for column in description["columns"]]
    assert names == ["id", "email", "full_name", "age", "joined"]
    assert "users_age_idx" in [index["name"] for index in description["indexes"]]


def test_drop_table(client: PhantomDB, db: str, users: str) -> None:
    client.drop_table(db, users)
    assert client.list_tables(db) == []


# -- rows ------------------------------------------------------------------------


def test_insert_one_row_returns_its_primary_key(client: PhantomDB, db: str, users: str) -> None:
    result = client.insert(db, users, {"email": "ann@example.com", "age": 31})
    assert isinstance(result, Result)
    assert result.columns == ("id",) and result.rows == ((1,),)
    assert result.rowcount == 1 and result.lastrowid == 1


def test_insert_many_rows_returns_them_in_order(client: PhantomDB, db: str, users: str) -> None:
    rows = [{"email": f"{name}@example.com", "name": name} for name in ("ann", "bob", "cy")]
    result = client.insert(db, users, rows, returning=["id", "email"])
    assert result.columns == ("id", "email")
    assert result.rows == ((1, "ann@example.com"), (2, "bob@example.com"), (3, "cy@example.com"))
    assert result.rowcount == 3 and result.lastrowid == 3


def test_insert_duplicate_is_integrity_error(client: PhantomDB, db: str, users: str) -> None:
    client.insert(db, users, {"email": "ann@example.com"})
    with pytest.raises(IntegrityError) as raised:
        client.insert(db, users, {"email": "ann@example.com"})
    assert raised.value.code == "unique_violation" and raised.value.status == 409


def test_insert_many_is_one_transaction(client: PhantomDB, db: str, users: str) -> None:
    rows = [{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "a@example.com"}]
    with pytest.raises(IntegrityError):
        client.insert(db, users, rows)
    assert client.select(db, users).rows == ()


def test_select_with_columns_condition_order_limit_offset(client: PhantomDB, db: str, users: str) -> None:
    add_users(client, db, 10, 20, 30, 40, 50)
    result = client.select(db, users, columns=["email", "age"], condition='"age" > ?', params=[15],
                           order_by='"age" DESC', limit=2, offset=1)
    assert result.columns == ("email", "age")
    assert result.rows == (("u3@example.com", 40), ("u2@example.com", 30))
    assert result.rowcount == 2


def test_select_all_columns_by_default(client: PhantomDB, db: str, users: str) -> None:
    add_users(client, db, 7)
    result = client.select(db, users)
    assert result.columns == ("id", "email", "name", "age")
    assert result.rows == ((1, "u0@example.com", "user 0", 7),)


def test_select_too_long_for_a_url_goes_as_post(
    client: PhantomDB, db: str, users: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = add_users(client, db, 1, 2, 3)
    wanted = [*range(1000, 2000), ids[1]]
    condition = '"id" IN (' + ", ".join("?" * len(wanted)) + ")"
    sent: list[tuple[str, str]] = []
    request = client.transport.request

    def spy(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((method, path))
        return request(method, path, *args, **kwargs)

    monkeypatch.setattr(client.transport, "request", spy)
    result = client.select(db, users, columns=["age"], condition=condition, params=wanted)
    assert result.rows == ((2,),)
    assert sent == [("POST", f"/databases/{db}/tables/users/select")]
    client.select(db, users, condition='"id" = ?', params=[1])
    assert sent[-1][0] == "GET" and len(sent[-1][1]) < MAX_URL_LENGTH


def test_update_sets_data_and_expressions(client: PhantomDB, db: str, users: str) -> None:
    ids = add_users(client, db, 30, 40)
    count = client.update(db, users, {"name": "Ann"}, condition='"id" = ?', params=[5, ids[0]],
                          expressions={"age": '"age" + ?'})
    assert count == 1
    assert client.select(db, users, columns=["name", "age"], order_by='"id"').rows == (
        ("Ann", 35), ("user 1", 40)
    )


def test_update_without_condition_updates_every_row(client: PhantomDB, db: str, users: str) -> None:
    add_users(client, db, 1, 2, 3)
    assert client.update(db, users, {"age": 9}) == 3


def test_delete_with_condition_counts_rows(client: PhantomDB, db: str, users: str) -> None:
    add_users(client, db, 10, 20, 30)
    assert client.delete(db, users, condition='"age" >= ?', params=[20]) == 2
    assert client.select(db, users, columns=["age"]).rows == ((10,),)


def test_delete_without_condition_is_refused(client: PhantomDB, db: str, users: str) -> None:
    add_users(client, db, 10)
    with pytest.raises(ProgrammingError) as raised:
        client.delete(db, users)
    assert raised.value.code == "unconditional_delete"
    assert client.delete(db, users, all=True) == 1


def test_select_from_a_missing_table_is_programming_error(client: PhantomDB, db: str) -> None:
    with pytest.raises(ProgrammingError) as raised:
        client.select(db, "users")
    assert raised.value.code == "table_not_found"
    assert str(raised.value) == "Table 'users' does not exist"


def test_a_condition_reading_another_table_is_refused(client: PhantomDB, db: str, users: str) -> None:
    with pytest.raises(ProgrammingError) as raised:
        client.select(db, users, condition='"id" IN (SELECT "id" FROM sqlite_master)')
    assert raised.value.code == "condition_not_allowed"


@pytest.mark.parametrize(
    ("query", "params", "cls", "code"),
    [
        ('INSERT INTO users ("email") VALUES (?)', [None], IntegrityError, "not_null_violation"),
        ('INSERT INTO users ("email", "age") VALUES (?, ?)', ["x@example.com", -1], IntegrityError,
         "check_violation"),
        ("SELECT nosuch FROM users", [], ProgrammingError, "column_not_found"),
        ("SELECT * FROM nosuch", [], ProgrammingError, "table_not_found"),
        ("SELECT ?", [1, 2], ProgrammingError, "syntax_error"),
        ("ATTACH 'other.db' AS other", [], NotSupportedError, "not_supported"),
    ],
    ids=["not-null", "check", "column", "table", "params", "attach"],
)
def test_server_errors_map_to_pep249_classes(
    client: PhantomDB, db: str, query: str, params: list, cls: type, code: str
) -> None:
    client.create_table(db, "users", columns=USERS_COLUMNS,
                        constraints=[{"name": "age_gte_0", "type": "check", "check": '"age" >= 0'}])
    with pytest.raises(cls) as raised:
        client.execute_query(db, query, params)
    assert raised.value.code == code


# -- SQL -------------------------------------------------------------------------


def test_execute_query_returns_columns_types_and_rows(client: PhantomDB, db: str, users: str) -> None:
    add_users(client, db, 17, 42)
    result = client.execute_query(db, 'SELECT "id", "email", "age" / 2.0 AS half FROM users WHERE "age" > ?',
                                  [18])
    assert result.columns == ("id", "email", "half")
    assert result.types == ("integer", "text", "real")
    assert result.rows == ((2, "u1@example.com", 21.0),)
    assert result.rowcount == 1 and result.lastrowid is None


def test_execute_query_write_reports_rowcount_and_lastrowid(client: PhantomDB, db: str, users: str) -> None:
    result = client.execute_query(db, 'INSERT INTO users ("email") VALUES (?)', ["z@example.com"])
    assert result.columns == () and result.rows == ()
    assert result.rowcount == 1 and result.lastrowid == 1


def test_execute_query_bad_sql_is_programming_error(client: PhantomDB, db: str) -> None:
    with pytest.raises(ProgrammingError) as raised:
        client.execute_query(db, "SELEC 1")
    assert raised.value.code == "syntax_error"


def test_execute_batch_runs_the_statement_per_param_list(client: PhantomDB, db: str, users: str) -> None:
    result = client.execute_batch(db, 'INSERT INTO users ("email", "age") VALUES (?, ?)',
                                  [[f"b{i}@example.com", i] for i in range(5)])
    assert result.rowcount == 5
    assert client.execute_query(db, 'SELECT sum("age") FROM users').rows == ((10,),)


# -- transactions ----------------------------------------------------------------


def test_committed_transaction_is_visible(client: PhantomDB, db: str, users: str) -> None:
    transaction = client.begin_transaction(db)
    client.insert(db, users, {"email": "t@example.com"}, transaction=transaction)
    assert client.select(db, users, transaction=transaction).rowcount == 1
    client.commit_transaction(transaction)
    assert client.select(db, users).rowcount == 1


def test_rolled_back_transaction_leaves_nothing(client: PhantomDB, db: str, users: str) -> None:
    transaction = client.begin_transaction(db)
    client.insert(db, users, {"email": "t@example.com"}, transaction=transaction)
    client.update(db, users, {"age": 3}, transaction=transaction)
    client.execute_query(db, 'INSERT INTO users ("email") VALUES (?)', ["u@example.com"], transaction)
    client.rollback_transaction(transaction)
    assert client.select(db, users).rows == ()


def test_transaction_writes_are_invisible_until_commit(client: PhantomDB, db: str, users: str) -> None:
    transaction = client.begin_transaction(db)
    client.insert(db, users, {"email": "t@example.com"}, transaction=transaction)
    assert client.select(db, users).rows == ()
    client.commit_transaction(transaction)


def test_savepoints_roll_back_and_release(client: PhantomDB, db: str, users: str) -> None:
    transaction = client.begin_transaction(db)
    client.insert(db, users, {"email": "keep@example.com"}, transaction=transaction)
    client.savepoint(transaction, "s1")
    client.insert(db, users, {"email": "undo@example.com"}, transaction=transaction)
    client.rollback_to_savepoint(transaction, "s1")
    client.savepoint(transaction, "s2")
    client.insert(db, users, {"email": "also@example.com"}, transaction=transaction)
    client.release_savepoint(transaction, "s2")
    client.delete(db, users, condition='"email" = ?', params=["nobody"], transaction=transaction)
    client.commit_transaction(transaction)
    assert client.select(db, users, columns=["email"], order_by='"id"').rows == (
        ("keep@example.com",), ("also@example.com",)
    )


def test_unknown_transaction_is_operational_error(client: PhantomDB, db: str) -> None:
    with pytest.raises(OperationalError) as raised:
        client.commit_transaction("no-such-transaction")
    assert raised.value.code == "transaction_not_found"


def test_context_manager_closes_the_client(server_url: str) -> None:
    with PhantomDB(server_url) as client:
        client.health_check()
    assert client.transport._idle == []


# -- limits ----------------------------------------------------------------------------


def test_a_streamed_result_cut_at_the_servers_limit_raises_instead_of_returning_fewer_rows(
    tuned_server: ServerProcess, database_name: str
) -> None:
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, hex(zeroblob(500)) FROM n"
    )
    with PhantomDB(tuned_server.url) as client:
        client.create_database(database_name)
        with pytest.raises(DataError) as whole:
            client.execute_query(database_name, endless)
        assert whole.value.code == "result_too_large" and "--max-stream-bytes" in str(whole.value)
        stream = client.execute_query(database_name, endless, stream=True).stream
        assert stream is not None and len(stream.fetch(60)) == 60
        with pytest.raises(DataError) as streamed:
            stream.fetch()
        assert streamed.value.code == "result_too_large"
        assert len(client.execute_query(database_name, endless + " LIMIT 120").rows) == 120
