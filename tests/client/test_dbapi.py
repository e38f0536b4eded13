"""The PEP 249 surface of ``phantomdb`` against a real PhantomDB Lite process."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any

import pytest

import phantomdb
from phantomdb import Connection, PhantomDB
from tests.conftest import ServerProcess


@pytest.fixture
def table(client: PhantomDB, db: str) -> str:
    client.create_table(db, "items", columns=[
        {"name": "id", "type": "INTEGER", "primary_key": True, "auto_increment": True},
        {"name": "name", "type": "TEXT", "unique": True},
        {"name": "price", "type": "DOUBLE"},
    ])
    client.insert(db, "items", [{"name": n, "price": p} for n, p in (("a", 1.5), ("b", 2.5), ("c", 3.5))])
    return "items"


@pytest.fixture
def conn(server_url: str, db: str, table: str) -> Iterator[Connection]:
    connection = phantomdb.connect(server_url, db)
    yield connection
    connection.close()


@pytest.fixture
def other(server_url: str, db: str) -> Iterator[Connection]:
    """A second connection, autocommit: it must not wait for the first one's write lock."""
    connection = phantomdb.connect(server_url, db, autocommit=True)
    yield connection
    connection.close()


def count(connection: Connection) -> int:
    cursor = connection.cursor()
    cursor.execute("SELECT count(*) FROM items")
    return cursor.fetchone()[0]


# -- module surface --------------------------------------------------------------


def test_module_globals() -> None:
    assert phantomdb.apilevel == "2.0"
    assert phantomdb.threadsafety == 1
    assert phantomdb.paramstyle == "qmark"


def test_exception_hierarchy() -> None:
    assert phantomdb.Error is phantomdb.PhantomDBError
    assert issubclass(phantomdb.Warning, Exception)
    for name in ("InterfaceError", "DatabaseError"):
        assert issubclass(getattr(phantomdb, name), phantomdb.Error)
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):
        assert issubclass(getattr(phantomdb, name), phantomdb.DatabaseError)
        assert getattr(Connection, name) is getattr(phantomdb, name)


def test_type_objects_compare_to_type_codes() -> None:
    assert phantomdb.NUMBER == "integer" and phantomdb.NUMBER == "real"
    assert "text" == phantomdb.STRING and phantomdb.STRING == "VARCHAR(20)"  # noqa: SIM300 - str on the left
    assert phantomdb.BINARY == "blob" and phantomdb.BINARY != "text"
    assert phantomdb.DATETIME == "timestamp" and phantomdb.ROWID == "rowid"


def test_constructors() -> None:
    assert phantomdb.Date(2026, 11, 28) == datetime.date(2026, 11, 28)
    assert phantomdb.Time(13, 45) == datetime.time(13, 45)
    assert phantomdb.Timestamp(2026, 11, 28, 13, 45) == datetime.datetime(2026, 11, 28, 13, 45)
    assert phantomdb.Binary(b"\x00\x01") == b"\x00\x01"
    assert phantomdb.DateFromTicks(0) == datetime.date.fromtimestamp(0)
    assert phantomdb.TimestampFromTicks(0) == datetime.datetime.fromtimestamp(0)
    assert phantomdb.TimeFromTicks(0) == datetime.datetime.fromtimestamp(0).time()


def test_importing_phantomdb_loads_no_server() -> None:
    import subprocess
    import sys

    code = "import sys, phantomdb; print(any(m.startswith('phantomdb.server') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- connection ------------------------------------------------------------------


def test_connect_gives_client_database_and_no_transaction(conn: Connection, db: str) -> None:
    assert isinstance(conn.client, PhantomDB)
    assert conn.database == db
    assert conn.autocommit is False
    assert conn.transaction_id is None  # begins lazily, at the first statement


def test_first_statement_begins_a_transaction(conn: Connection) -> None:
    conn.cursor().execute("SELECT 1")
    assert conn.transaction_id is not None
    conn.commit()
    assert conn.transaction_id is None


def test_commit_makes_writes_visible_to_another_connection(conn: Connection, other: Connection) -> None:
    conn.cursor().execute("INSERT INTO items (name) VALUES (?)", ["d"])
    assert count(other) == 3
    conn.commit()
    assert count(other) == 4


def test_rollback_discards_writes(conn: Connection, other: Connection) -> None:
    conn.cursor().execute("DELETE FROM items")
    assert count(conn) == 0
    conn.rollback()
    assert conn.transaction_id is None
    assert count(other) == 3 and count(conn) == 3


def test_autocommit_commits_each_statement(server_url: str, db: str, table: str, other: Connection) -> None:
    with phantomdb.connect(server_url, db, autocommit=True) as connection:
        connection.cursor().execute("INSERT INTO items (name) VALUES (?)", ["d"])
        assert connection.transaction_id is None
        assert count(other) == 4


def test_turning_autocommit_on_commits_the_open_transaction(conn: Connection, other: Connection) -> None:
    conn.cursor().execute("INSERT INTO items (name) VALUES (?)", ["d"])
    conn.autocommit = True
    assert conn.transaction_id is None and count(other) == 4
    conn.autocommit = False
    conn.cursor().execute("INSERT INTO items (name) VALUES (?)", ["e"])
    assert conn.transaction_id is not None


def test_close_rolls_back_the_open_transaction(conn: Connection, other: Connection) -> None:
    conn.cursor().execute("INSERT INTO items (name) VALUES (?)", ["d"])
    conn.close()
    assert count(other) == 3


def test_context_manager_commits_on_success(server_url: str, db: str, table: str, other: Connection) -> None:
    with phantomdb.connect(server_url, db) as connection:
        connection.cursor().execute("INSERT INTO items (name) VALUES (?)", ["d"])
    assert connection.closed and count(other) == 4


def test_context_manager_rolls_back_on_error(server_url: str, db: str, table: str, other: Connection) -> None:
    with pytest.raises(ZeroDivisionError), phantomdb.connect(server_url, db) as connection:
        connection.cursor().execute("INSERT INTO items (name) VALUES (?)", ["d"])
        1 / 0  # noqa: B018
    assert count(other) == 3


def test_closed_connection_raises_interface_error(conn: Connection) -> None:
    cursor = conn.cursor()
    conn.close()
    conn.close()  # closing twice is harmless
    for use in (conn.cursor, conn.commit, conn.rollback, lambda: cursor.execute("SELECT 1")):
        with pytest.raises(phantomdb.InterfaceError):
            use()
    with pytest.raises(phantomdb.InterfaceError):
        conn.autocommit = True


def test_an_expired_transaction_fails_until_rolled_back(tuned_server: ServerProcess) -> None:
    with PhantomDB(tuned_server.url) as admin:
        admin.create_database("expiry")
    with phantomdb.connect(tuned_server.url, "expiry") as connection:
        cursor = connection.cursor().execute("CREATE TABLE t (a INTEGER)")
        time.sleep(1.0)  # past --transaction-timeout 0.5
        with pytest.raises(phantomdb.OperationalError) as raised:
            cursor.execute("SELECT * FROM t")
        assert raised.value.code == "transaction_expired"
        with pytest.raises(phantomdb.OperationalError):  # never silently a new transaction
            cursor.execute("SELECT 1")
        connection.rollback()  # the server rolled it back already: nothing to report
        assert connection.transaction_id is None
        with pytest.raises(phantomdb.ProgrammingError, match="Table 't' does not exist"):
            cursor.execute("SELECT * FROM t")
        time.sleep(1.0)
        with pytest.raises(phantomdb.OperationalError, match="idled"):
            connection.commit()
        assert connection.transaction_id is None


# -- cursor ----------------------------------------------------------------------


def test_description_names_columns_with_type_codes(conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.execute("SELECT id, name, price FROM items ORDER BY id")
    assert cursor.description is not None
    assert [column[0] for column in cursor.description] == ["id", "name", "price"]
    assert all(len(column) == 7 for column in cursor.description)
    type_codes = [column[1] for column in cursor.description]
    assert type_codes == ["integer", "text", "real"]
    assert type_codes[0] == phantomdb.NUMBER and type_codes[1] == phantomdb.STRING


def test_description_is_none_for_a_statement_without_rows(conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.execute("UPDATE items SET price = price + 1")
    assert cursor.description is None
    assert cursor.rowcount == 3


def test_rowcount_and_lastrowid_of_an_insert(conn: Connection) -> None:
    cursor = conn.cursor()
    assert cursor.rowcount == -1 and cursor.lastrowid is None
    cursor.execute("INSERT INTO items (name, price) VALUES (?, ?)", ["d", 4.5])
    assert cursor.rowcount == 1 and cursor.lastrowid == 4


def test_fetches_return_rows_in_order(conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.execute("SELECT name FROM items ORDER BY id")
    assert cursor.fetchone() == ("a",)
    assert cursor.fetchmany() == [("b",)]  # arraysize 1
    assert cursor.fetchall() == [("c",)]
    assert cursor.fetchone() is None and cursor.fetchall() == [] and cursor.fetchmany(5) == []


def test_fetchmany_takes_size_or_arraysize(conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.arraysize = 2
    cursor.execute("SELECT name FROM items ORDER BY id")
    assert cursor.fetchmany() == [("a",), ("b",)]
    assert cursor.fetchmany(5) == [("c",)]


def test_cursor_iterates_rows(conn: Connection) -> None:
    cursor = conn.cursor().execute("SELECT name, price FROM items WHERE price > ? ORDER BY id", [2])
    assert list(cursor) == [("b", 2.5), ("c", 3.5)]


def test_fetch_without_a_result_is_programming_error(conn: Connection) -> None:
    cursor = conn.cursor()
    with pytest.raises(phantomdb.ProgrammingError):
        cursor.fetchone()
    cursor.execute("DELETE FROM items WHERE name = ?", ["a"])
    with pytest.raises(phantomdb.ProgrammingError):
        cursor.fetchall()


def test_executemany_is_one_batch_call(conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    conn.cursor().execute("SELECT 1")  # the transaction is open
    calls: list[tuple[str, str, Any]] = []
    request = conn.client.transport.request

    def spy(method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        calls.append((method, path, body))
        return request(method, path, body, **kwargs)

    monkeypatch.setattr(conn.client.transport, "request", spy)
    cursor = conn.cursor()
    cursor.executemany("INSERT INTO items (name, price) VALUES (?, ?)", [(f"n{i}", i) for i in range(10)])
    assert len(calls) == 1
    method, path, body = calls[0]
    assert (method, path) == ("POST", f"/databases/{conn.database}/query")
    assert body["batch"] == [[f"n{i}", i] for i in range(10)]
    assert cursor.rowcount == 10 and cursor.description is None


def test_executemany_accepts_a_generator(conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.executemany("UPDATE items SET price = ? WHERE name = ?", ((9, name) for name in "ab"))
    assert cursor.rowcount == 2


def test_named_parameters_are_refused(conn: Connection) -> None:
    with pytest.raises(phantomdb.ProgrammingError):
        conn.cursor().execute("SELECT :a", {"a": 1})


def test_server_errors_surface_as_pep249_classes(conn: Connection) -> None:
    cursor = conn.cursor()
    with pytest.raises(phantomdb.IntegrityError):
        cursor.execute("INSERT INTO items (name) VALUES (?)", ["a"])
    with pytest.raises(phantomdb.ProgrammingError, match="Table 'users' does not exist"):
        cursor.execute("SELECT * FROM users")
    cursor.execute("SELECT count(*) FROM items")  # the transaction survives statement errors
    assert cursor.fetchone() == (3,)


def test_closed_cursor_raises_interface_error(conn: Connection) -> None:
    cursor = conn.cursor()
    cursor.execute("SELECT 1")
    cursor.close()
    for use in (cursor.fetchone, cursor.fetchall, lambda: cursor.execute("SELECT 1"),
                lambda: cursor.executemany("SELECT ?", [[1]])):
        with pytest.raises(phantomdb.InterfaceError):
            use()


def test_cursor_knows_its_connection_and_ignores_sizes(conn: Connection) -> None:
    with conn.cursor() as cursor:
        assert cursor.connection is conn
        cursor.setinputsizes([10])
        cursor.setoutputsize(10, 0)
        cursor.execute("SELECT ?", [b"\x00\xff"])
        assert cursor.fetchone() == (b"\x00\xff",)
        assert cursor.description[0][1] == phantomdb.BINARY
