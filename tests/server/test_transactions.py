"""Transactions: isolation, commit, rollback, savepoints, idle expiry and waiting for the write lock.

The shared server runs with ``--transaction-timeout 3``; ``limited_server`` with ``--busy-timeout 1``.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from tests.server.conftest import TRANSACTION_HEADER, Api, assert_error


def in_transaction(transaction: str) -> dict[str, str]:
    return {TRANSACTION_HEADER: transaction}


def names(api: Api, db: str, transaction: str | None = None) -> list[str]:
    headers = in_transaction(transaction) if transaction else {}
    response = api.get(
        f"/databases/{db}/tables/users", params={"columns": ["name"], "order_by": "id"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return [row[0] for row in response.json()["rows"]]


def add(api: Api, db: str, name: str, transaction: str | None = None) -> requests.Response:
    headers = in_transaction(transaction) if transaction else {}
    return api.post(f"/databases/{db}/tables/users", json={"name": name}, headers=headers)


def test_begin_answers_id_database_and_timeout(api: Api, db: str) -> None:
    response = api.post("/transactions", json={"database": db})
    assert response.status_code == 201
    body = response.json()
    assert body["database"] == db
    assert body["timeout"] == 3
    assert len(body["id"]) >= 24
    api.post(f"/transactions/{body['id']}/rollback")


def test_begin_needs_an_existing_database(api: Api) -> None:
    assert_error(api.post("/transactions", json={"database": "no_such_db"}), 404, "database_not_found")
    assert_error(api.post("/transactions", json={}), 400, "invalid_request")
    assert_error(api.post("/transactions", data=b"{"), 400, "invalid_json")


def test_uncommitted_writes_are_seen_only_inside_the_transaction(api: Api, users: str) -> None:
    transaction = api.begin(users)
    assert add(api, users, "ann", transaction).status_code == 201
    assert names(api, users, transaction) == ["ann"]
    assert names(api, users) == []  # autocommit reads see the last commit
    assert api.post(f"/transactions/{transaction}/commit").status_code == 204
    assert names(api, users) == ["ann"]


def test_rollback_discards_the_writes(api: Api, users: str) -> None:
    transaction = api.begin(users)
    add(api, users, "ann", transaction)
    api.query(users, "UPDATE users SET name = 'x'", transaction=transaction)
    response = api.post(f"/transactions/{transaction}/rollback")
    assert response.status_code == 204 and response.content == b""
    assert names(api, users) == []


def test_every_call_kind_runs_inside_the_transaction(api: Api, users: str) -> None:
    transaction = api.begin(users)
    headers = in_transaction(transaction)
    api.query(users, "CREATE TABLE extra (x INTEGER)", transaction=transaction)
    add(api, users, "ann", transaction)
    api.put(f"/databases/{users}/tables/users", json={"data": {"age": 5}}, headers=headers)
    tables = api.get(f"/databases/{users}/tables", headers=headers).json()["tables"]
    assert {"name": "extra", "type": "table"} in tables
    api.post(f"/transactions/{transaction}/rollback")
    assert {"name": "extra", "type": "table"} not in api.get(f"/databases/{users}/tables").json()["tables"]


def test_a_finished_transaction_is_not_found(api: Api, users: str) -> None:
    transaction = api.begin(users)
    api.post(f"/transactions/{transaction}/commit")
    assert_error(api.post(f"/transactions/{transaction}/commit"), 404, "transaction_not_found")
    assert_error(api.post(f"/transactions/{transaction}/rollback"), 404, "transaction_not_found")
    assert_error(add(api, users, "x", transaction), 404, "transaction_not_found")


def test_an_unknown_transaction_is_not_found(api: Api, users: str) -> None:
    message = assert_error(api.post("/transactions/nope/commit"), 404, "transaction_not_found")
    assert "nope" in message
    assert_error(add(api, users, "x", "nope"), 404, "transaction_not_found")
    assert_error(api.post("/transactions/nope/savepoints", json={"name": "s1"}), 404, "transaction_not_found")


def test_a_transaction_of_another_database_is_invalid_request(
    api: Api, users: str, database_name: str
) -> None:
    other = database_name + "_other"
    api.post("/databases", json={"name": other})
    try:
        transaction = api.begin(other)
        assert_error(add(api, users, "x", transaction), 400, "invalid_request")
        api.post(f"/transactions/{transaction}/rollback")
    finally:
        api.delete(f"/databases/{other}")


def test_savepoints_roll_back_part_of_a_transaction(api: Api, users: str) -> None:
    transaction = api.begin(users)
    add(api, users, "ann", transaction)
    response = api.post(f"/transactions/{transaction}/savepoints", json={"name": "s1"})
    assert response.status_code == 201 and response.json() == {"name": "s1"}
    add(api, users, "bob", transaction)
    assert api.post(f"/transactions/{transaction}/savepoints/s1/rollback").status_code == 204
    add(api, users, "cy", transaction)
    assert api.post(f"/transactions/{transaction}/savepoints/s1/release").status_code == 204
    api.post(f"/transactions/{transaction}/commit")
    assert names(api, users) == ["ann", "cy"]


def test_a_savepoint_rollback_keeps_the_savepoint(api: Api, users: str) -> None:
    transaction = api.begin(users)
    api.post(f"/transactions/{transaction}/savepoints", json={"name": "s1"})
    for name in ("a", "b"):
        add(api, users, name, transaction)
        assert api.post(f"/transactions/{transaction}/savepoints/s1/rollback").status_code == 204
    assert names(api, users, transaction) == []
    api.post(f"/transactions/{transaction}/rollback")


@pytest.mark.parametrize("name", ["1abc", "s-1", 's"; DROP TABLE users; --', "", "x" * 129])
def test_a_savepoint_name_must_be_an_identifier(api: Api, users: str, name: str) -> None:
    transaction = api.begin(users)
    assert_error(
        api.post(f"/transactions/{transaction}/savepoints", json={"name": name}), 400, "invalid_request"
    )
    api.post(f"/transactions/{transaction}/rollback")


def test_an_unknown_savepoint_is_invalid_request(api: Api, users: str) -> None:
    transaction = api.begin(users)
    assert_error(api.post(f"/transactions/{transaction}/savepoints/nope/release"), 400, "invalid_request")
    assert_error(api.post(f"/transactions/{transaction}/savepoints/nope/rollback"), 400, "invalid_request")
    api.post(f"/transactions/{transaction}/rollback")


def test_a_failed_insert_of_many_rows_keeps_the_earlier_writes(api: Api, users: str) -> None:
    transaction = api.begin(users)
    add(api, users, "ann", transaction)
    rows = [{"name": "bob", "email": "same@x"}, {"name": "cy", "email": "same@x"}]
    response = api.post(f"/databases/{users}/tables/users", json=rows, headers=in_transaction(transaction))
    assert_error(response, 409, "unique_violation")
    assert names(api, users, transaction) == ["ann"]
    api.post(f"/transactions/{transaction}/commit")
    assert names(api, users) == ["ann"]


def test_a_commit_refused_by_a_deferred_constraint_rolls_back(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE teams (id INTEGER PRIMARY KEY)")
    api.query(
        db,
        "CREATE TABLE players (id INTEGER PRIMARY KEY,"
        " team_id INTEGER REFERENCES teams (id) DEFERRABLE INITIALLY DEFERRED)",
    )
    transaction = api.begin(db)
    api.query(db, "INSERT INTO players (team_id) VALUES (7)", transaction=transaction)
    assert_error(api.post(f"/transactions/{transaction}/commit"), 409, "foreign_key_violation")
    assert_error(api.post(f"/transactions/{transaction}/commit"), 404, "transaction_not_found")
    assert api.rows(db, "SELECT count(*) FROM players") == [[0]]
    again = api.begin(db)  # the write lock is free again
    api.post(f"/transactions/{again}/rollback")


def test_an_idle_transaction_expires_and_is_rolled_back(api: Api, users: str) -> None:
    transaction = api.begin(users)
    add(api, users, "ann", transaction)
    time.sleep(4.5)  # timeout 3 s, checked at least every 0.75 s
    message = assert_error(add(api, users, "bob", transaction), 410, "transaction_expired")
    assert "rolled back" in message
    assert_error(api.post(f"/transactions/{transaction}/commit"), 410, "transaction_expired")
    assert names(api, users) == []
    other = api.begin(users)  # the write lock was released
    api.post(f"/transactions/{other}/rollback")


def test_a_busy_transaction_does_not_expire(api: Api, users: str) -> None:
    transaction = api.begin(users)
    for _ in range(5):  # 5 s of use, never 3 s idle
        time.sleep(1)
        assert add(api, users, "x", transaction).status_code == 201
    assert api.post(f"/transactions/{transaction}/commit").status_code == 204


def test_a_writer_waits_for_the_transaction_and_proceeds_after_commit(api: Api, users: str) -> None:
    transaction = api.begin(users)
    add(api, users, "first", transaction)
    results: list[requests.Response] = []
    writer = threading.Thread(target=lambda: results.append(add(Api(api.url), users, "second")))
    writer.start()
    writer.join(0.7)
    assert writer.is_alive(), "the autocommit write should wait for the transaction's lock"
    assert api.post(f"/transactions/{transaction}/commit").status_code == 204
    writer.join(5)
    assert not writer.is_alive()
    assert results[0].status_code == 201, results[0].text
    assert names(api, users) == ["first", "second"]


def test_a_second_transaction_waits_for_the_first_and_sees_its_commit(api: Api, users: str) -> None:
    first = api.begin(users)
    add(api, users, "ann", first)
    second: list[str] = []
    waiter = threading.Thread(target=lambda: second.append(Api(api.url).begin(users)))
    waiter.start()
    waiter.join(0.7)
    assert waiter.is_alive(), "BEGIN IMMEDIATE should wait for the first transaction's lock"
    api.post(f"/transactions/{first}/commit")
    waiter.join(5)
    assert names(api, users, second[0]) == ["ann"]
    api.post(f"/transactions/{second[0]}/rollback")


def test_reads_do_not_wait_for_a_transaction(api: Api, users: str) -> None:
    api.query(users, "INSERT INTO users (name) VALUES ('ann')")
    transaction = api.begin(users)
    add(api, users, "bob", transaction)
    started = time.monotonic()
    assert names(api, users) == ["ann"]
    assert time.monotonic() - started < 0.5
    api.post(f"/transactions/{transaction}/rollback")


def test_a_writer_gives_up_after_the_busy_timeout(limited_api: Api, limited_db: str) -> None:
    limited_api.query(limited_db, "CREATE TABLE t (x INTEGER)")
    transaction = limited_api.begin(limited_db)
    started = time.monotonic()
    response = limited_api.post(f"/databases/{limited_db}/query", json={"query": "INSERT INTO t VALUES (1)"})
    waited = time.monotonic() - started
    assert_error(response, 503, "database_locked")
    assert 0.9 < waited < 3
    assert_error(limited_api.post("/transactions", json={"database": limited_db}), 503, "database_locked")
    limited_api.post(f"/transactions/{transaction}/rollback")
    assert limited_api.query(limited_db, "INSERT INTO t VALUES (1)")["rowcount"] == 1


def test_the_open_transactions_gauge_follows_begin_and_commit(api: Api, users: str) -> None:
    def gauge() -> float:
        match = re.search(r"^phantomdb_open_transactions (\S+)$", api.get("/metrics").text, re.MULTILINE)
        assert match is not None
        return float(match.group(1))

    before = gauge()
    transaction = api.begin(users)
    assert gauge() == before + 1
    api.post(f"/transactions/{transaction}/commit")
    assert gauge() == before


def test_foreign_keys_false_suspends_enforcement_for_that_transaction_only(api: Api, db: str) -> None:
    api.query(db, "CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    api.query(db, "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id))")
    orphan = "INSERT INTO child (parent_id) VALUES (42)"

    relaxed = api.post("/transactions", json={"database": db, "foreign_keys": False}).json()["id"]
    response = api.post(f"/databases/{db}/query", json={"query": orphan}, headers=in_transaction(relaxed))
    assert response.status_code == 200, response.text
    assert api.post(f"/transactions/{relaxed}/rollback").status_code == 204

    strict = api.begin(db)
    response = api.post(f"/databases/{db}/query", json={"query": orphan}, headers=in_transaction(strict))
    assert_error(response, 409, "foreign_key_violation")
    api.post(f"/transactions/{strict}/rollback")
    assert_error(api.post(f"/databases/{db}/query", json={"query": orphan}), 409, "foreign_key_violation")


def test_foreign_keys_must_be_a_boolean(api: Api, db: str) -> None:
    response = api.post("/transactions", json={"database": db, "foreign_keys": "no"})
    assert_error(response, 400, "invalid_request")
