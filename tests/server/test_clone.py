"""``POST /databases/{db}/clone``: a new database holding a copy of another's committed state."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import ServerProcess
from tests.server.conftest import TRANSACTION_HEADER, Api, assert_error


@pytest.fixture
def clone_name(api: Api, database_name: str) -> Iterator[str]:
    """The name of the clone a test makes; dropped after it."""
    name = f"{database_name}_clone"
    yield name
    api.delete(f"/databases/{name}")


def test_a_clone_has_the_tables_and_rows_of_its_source(api: Api, db: str, clone_name: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER PRIMARY KEY, label TEXT)")
    api.query(db, "CREATE INDEX t_label ON t (label)")
    api.query(db, "INSERT INTO t (label) VALUES ('a'), ('b')")
    response = api.post(f"/databases/{db}/clone", json={"name": clone_name})
    assert response.status_code == 201, response.text
    assert response.json() == {"name": clone_name}
    assert {"name": clone_name} in api.get("/databases").json()["databases"]
    assert api.rows(clone_name, "SELECT x, label FROM t ORDER BY x") == [[1, "a"], [2, "b"]]
    assert api.rows(clone_name, "SELECT name FROM sqlite_master WHERE type = 'index'") == [["t_label"]]


def test_a_clone_is_independent_of_its_source(api: Api, db: str, clone_name: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    api.post(f"/databases/{db}/clone", json={"name": clone_name})
    api.query(clone_name, "INSERT INTO t VALUES (1)")
    api.query(db, "DROP TABLE t")
    assert api.rows(clone_name, "SELECT x FROM t") == [[1]]


def test_a_clone_is_one_wal_file_and_leaves_no_scratch_file(
    api: Api, db: str, clone_name: str, server: ServerProcess
) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    api.post(f"/databases/{db}/clone", json={"name": clone_name})
    assert api.rows(clone_name, "PRAGMA journal_mode") == [["wal"]]
    assert not list(server.data_dir.glob(f"{clone_name}.sqlite3.clone-*"))
    assert (server.data_dir / f"{clone_name}.sqlite3").is_file()


def test_a_clone_holds_only_committed_data(api: Api, db: str, clone_name: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    api.query(db, "INSERT INTO t VALUES (1)")
    transaction = api.begin(db)
    api.query(db, "INSERT INTO t VALUES (2)", transaction=transaction)
    # The open transaction holds the write lock; the clone does not wait for it.
    assert api.post(f"/databases/{db}/clone", json={"name": clone_name}).status_code == 201
    api.post(f"/transactions/{transaction}/commit")
    assert api.rows(clone_name, "SELECT x FROM t") == [[1]]


def test_clones_made_while_a_writer_commits_are_each_one_committed_state(
    api: Api, db: str, server_url: str
) -> None:
    # Every write commits two rows at once: a clone taken half-way through one would hold an odd count.
    api.query(db, "CREATE TABLE t (x INTEGER)")
    stop = threading.Event()

    def write() -> None:
        with requests.Session() as session:
            writer = Api(server_url, session)
            while not stop.is_set():
                body = {"query": "INSERT INTO t VALUES (?)", "batch": [[1], [2]]}
                assert writer.post(f"/databases/{db}/query", json=body).status_code == 200

    thread = threading.Thread(target=write)
    thread.start()
    clones = [f"{db}_c{i}" for i in range(5)]
    try:
        for name in clones:
            assert api.post(f"/databases/{db}/clone", json={"name": name}).status_code == 201
    finally:
        stop.set()
        thread.join()
    try:
        counts = [api.rows(name, "SELECT count(*) FROM t")[0][0] for name in clones]
        assert all(count % 2 == 0 for count in counts), counts
        assert counts == sorted(counts)
    finally:
        for name in clones:
            api.delete(f"/databases/{name}")


def test_cloning_onto_an_existing_database_is_database_exists(api: Api, db: str, clone_name: str) -> None:
    api.post("/databases", json={"name": clone_name})
    api.query(clone_name, "CREATE TABLE kept (x INTEGER)")
    message = assert_error(
        api.post(f"/databases/{db}/clone", json={"name": clone_name}), 409, "database_exists"
    )
    assert message == f"Database '{clone_name}' already exists"
    assert api.rows(clone_name, "SELECT name FROM sqlite_master") == [["kept"]]


@pytest.mark.parametrize("body", [{}, {"name": 7}, {"name": ""}, {"name": "dot.ted"}, {"name": "../x"}])
def test_a_missing_or_invalid_target_name_is_invalid_request(api: Api, db: str, body: dict) -> None:
    assert_error(api.post(f"/databases/{db}/clone", json=body), 400, "invalid_request")


def test_cloning_an_unknown_database_is_database_not_found(api: Api, clone_name: str) -> None:
    response = api.post("/databases/no_such_db/clone", json={"name": clone_name})
    assert_error(response, 404, "database_not_found")
    assert {"name": clone_name} not in api.get("/databases").json()["databases"]


def test_a_clone_ignores_the_transaction_header(api: Api, db: str, clone_name: str) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    transaction = api.begin(db)
    api.query(db, "INSERT INTO t VALUES (1)", transaction=transaction)
    headers = {TRANSACTION_HEADER: transaction}
    assert api.post(f"/databases/{db}/clone", json={"name": clone_name}, headers=headers).status_code == 201
    api.post(f"/transactions/{transaction}/rollback")
    assert api.rows(clone_name, "SELECT count(*) FROM t") == [[0]]


def test_a_clone_file_opens_with_plain_sqlite3(
    api: Api, db: str, clone_name: str, server: ServerProcess
) -> None:
    api.query(db, "CREATE TABLE t (x INTEGER)")
    api.query(db, "INSERT INTO t VALUES (5)")
    api.post(f"/databases/{db}/clone", json={"name": clone_name})
    with sqlite3.connect(server.data_dir / f"{clone_name}.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT x FROM t").fetchall() == [(5,)]
