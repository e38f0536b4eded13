"""The executor chain: links wrap the transport in order, and every request of a Connection passes them.

Links are tested alone with a fake next link; ``RestCall`` (the last link)
with a fake client that records what it was asked; the Connection's traffic
against a real PhantomDB Lite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

import phantomdb
from phantomdb import Connection, PhantomDB, ProgrammingError
from phantomdb.calls import (
    BATCH,
    BEGIN,
    CLONE_DATABASE,
    COMMIT,
    CREATE_DATABASE,
    DELETE,
    DROP_DATABASE,
    HEALTH,
    INSERT,
    QUERY,
    ROLLBACK,
    SAVEPOINT,
    UPDATE,
    Assignment,
    Call,
    raw_call,
)
from phantomdb.chain import Execute, RestCall, build_chain
from phantomdb.client import Result

Seen = list[tuple[str, Call, Any, str | None]]


def recording(name: str, seen: Seen) -> Any:
    def link(next_execute: Execute) -> Execute:
        def execute(call: Call, params: Any, transaction: str | None) -> Result:
            seen.append((name, call, params, transaction))
            return next_execute(call, params, transaction)

        return execute

    return link


# -- links alone ------------------------------------------------------------------


def test_links_run_outermost_first_and_see_call_params_and_transaction() -> None:
    seen: Seen = []
    answer = Result(columns=("n",), rows=((1,),))
    chain = build_chain([recording("outer", seen), recording("inner", seen)], lambda *_: answer)
    call = raw_call("SELECT ?")
    assert chain(call, [1], "t1") is answer
    assert seen == [("outer", call, [1], "t1"), ("inner", call, [1], "t1")]


def test_a_link_can_answer_without_calling_the_next() -> None:
    stored = Result(columns=("n",), rows=((7,),))

    def answering(next_execute: Execute) -> Execute:
        return lambda call, params, transaction: stored

    def unreachable(*_: Any) -> Result:
        raise AssertionError("the transport must not be reached")

    assert build_chain([answering], unreachable)(raw_call("SELECT 7"), None, None) is stored


def test_a_result_cannot_be_changed_by_whoever_receives_it() -> None:
    result = Result(columns=("n",), rows=((1,), (2,)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.rows = ()  # type: ignore[misc]
    assert isinstance(result.rows, tuple) and isinstance(result.columns, tuple)


def test_calls_are_values_that_hold_no_parameters() -> None:
    call = raw_call("SELECT * FROM t WHERE a = ?")
    assert call == raw_call("SELECT * FROM t WHERE a = ?") and hash(call) == hash(raw_call(call.sql))
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.sql = "DROP TABLE t"  # type: ignore[misc]
    assert "params" not in {field.name for field in dataclasses.fields(Call)}


# -- RestCall: a Call as the client request it names --------------------------------


class FakeClient:
    """Records the client methods RestCall calls (the real client is tested against a server)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, method: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            self.asked.append((method, args + tuple(kwargs.values())))
            return {"update": 2, "delete": 3, "begin_transaction": "t9"}.get(method, Result(columns=()))

        return record


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


def test_a_one_row_insert_sends_one_object_and_many_rows_a_list(fake: FakeClient) -> None:
    rest = RestCall(fake, "app")  # type: ignore[arg-type]
    call = Call(INSERT, table="users", columns=("a", "b"), returning=("id",))
    rest(call, [1, 2], None)
    rest(call, [1, 2, 3, 4], "t1")
    assert fake.asked == [
        ("insert", ("app", "users", {"a": 1, "b": 2}, ("id",), None)),
        ("insert", ("app", "users", [{"a": 1, "b": 2}, {"a": 3, "b": 4}], ("id",), "t1")),
    ]


def test_an_update_sends_values_as_data_and_expressions_with_their_params_first(fake: FakeClient) -> None:
    call = Call(
        UPDATE,
        table="users",
        assignments=(Assignment("name", None, 1), Assignment("age", '"age" + ?', 1)),
        condition='"id" = ?',
    )
    result = RestCall(fake, "app")(call, ["Ann", 1, 42], None)  # type: ignore[arg-type]
    assert fake.asked == [
        ("update", ("app", "users", {"name": "Ann"}, '"id" = ?', [1, 42], {"age": '"age" + ?'}, None))
    ]
    assert result.rowcount == 2


def test_a_delete_without_a_condition_says_all_rows(fake: FakeClient) -> None:
    result = RestCall(fake, "app")(Call(DELETE, table="users"), None, None)  # type: ignore[arg-type]
    assert fake.asked == [("delete", ("app", "users", None, None, True, None))]
    assert result.rowcount == 3


def test_a_begin_answers_the_transaction_id(fake: FakeClient) -> None:
    result = RestCall(fake, "app")(Call(BEGIN, foreign_keys=False), None, None)  # type: ignore[arg-type]
    assert fake.asked == [("begin_transaction", ("app", False))]
    assert result.info == {"id": "t9"}


@pytest.mark.parametrize("operation", [COMMIT, ROLLBACK, SAVEPOINT])
def test_transaction_control_outside_a_transaction_is_refused(fake: FakeClient, operation: str) -> None:
    with pytest.raises(ProgrammingError, match="needs an open transaction"):
        RestCall(fake, "app")(Call(operation, sql=operation.upper(), name="s1"), None, None)  # type: ignore[arg-type]
    assert fake.asked == []


# -- a Connection's every request passes its chain (real server) ------------------------


@pytest.fixture
def seen() -> Seen:
    return []


@pytest.fixture
def conn(server_url: str, db: str, client: PhantomDB, seen: Seen) -> Iterator[Connection]:
    client.create_table(db, "items", columns=[{"name": "id", "type": "INTEGER", "primary_key": True}])
    connection = phantomdb.connect(server_url, db, links=[recording("probe", seen)])
    yield connection
    connection.close()


def operations(seen: Seen) -> list[str]:
    return [call.operation for _, call, _, _ in seen]


def test_a_transaction_begins_lazily_and_commits_through_the_chain(conn: Connection, seen: Seen) -> None:
    cursor = conn.cursor()
    assert seen == []
    cursor.execute("INSERT INTO items (id) VALUES (?)", [1])
    cursor.executemany("INSERT INTO items (id) VALUES (?)", [[2], [3]])
    conn.commit()
    assert operations(seen) == [BEGIN, QUERY, BATCH, COMMIT]
    transaction = seen[1][3]
    assert transaction is not None and all(entry[3] == transaction for entry in seen[1:])


def test_a_rollback_passes_the_chain(conn: Connection, seen: Seen) -> None:
    conn.cursor().execute("INSERT INTO items (id) VALUES (1)")
    conn.rollback()
    assert operations(seen) == [BEGIN, QUERY, ROLLBACK]
    conn.autocommit = True
    assert conn.cursor().execute("SELECT count(*) FROM items").fetchone() == (0,)


def test_autocommit_with_foreign_keys_off_runs_each_statement_in_its_own_transaction(
    conn: Connection, seen: Seen
) -> None:
    conn.autocommit = True
    conn.foreign_keys = False
    conn.cursor().execute("INSERT INTO items (id) VALUES (1)")
    assert operations(seen) == [BEGIN, QUERY, COMMIT]
    assert seen[0][1].foreign_keys is False


def test_health_and_databases_are_calls_of_the_chain(
    conn: Connection, seen: Seen, database_name: str
) -> None:
    assert conn.health_check()["status"] == "ok"
    conn.create_database(database_name + "_extra")
    conn.clone_database(database_name + "_extra", database_name + "_copy")
    conn.drop_database(database_name + "_copy")
    conn.drop_database(database_name + "_extra")
    assert operations(seen) == [HEALTH, CREATE_DATABASE, CLONE_DATABASE, DROP_DATABASE, DROP_DATABASE]
    assert (seen[2][1].source, seen[2][1].name) == (database_name + "_extra", database_name + "_copy")
    assert [entry[3] for entry in seen] == [None] * 5


def test_a_savepoint_in_autocommit_is_refused_before_anything_is_sent(conn: Connection, seen: Seen) -> None:
    conn.autocommit = True
    with pytest.raises(ProgrammingError, match="needs a transaction"):
        conn.execute(Call(SAVEPOINT, sql='SAVEPOINT "s1"', name="s1"))
    assert seen == []


def test_two_cursors_given_one_result_cannot_change_it_for_each_other(server_url: str, db: str) -> None:
    shared = Result(columns=("n",), rows=((1,), (2,)), rowcount=2)

    def answering(next_execute: Execute) -> Execute:
        return lambda call, params, transaction: shared

    with phantomdb.connect(server_url, db, autocommit=True, links=[answering]) as connection:
        first, second = connection.cursor(), connection.cursor()
        rows = first.execute("SELECT n").fetchall()
        rows.append((3,))
        rows[0] = (0,)
        assert second.execute("SELECT n").fetchall() == [(1,), (2,)]
        assert shared.rows == ((1,), (2,))


def test_a_call_keeps_its_hash_and_pickles_without_it() -> None:
    import pickle

    call = Call(QUERY, sql="SELECT 1", query="SELECT 1", statement="SELECT", columns=("a",))
    twin = Call(QUERY, sql="SELECT 1", query="SELECT 1", statement="SELECT", columns=("a",))
    assert hash(call) == hash(twin) and call == twin and {call: 1}[twin] == 1
    assert hash(call) != hash(dataclasses.replace(call, sql="SELECT 2"))
    copied = pickle.loads(pickle.dumps(call))
    assert copied == call and copied._hash == 0 and hash(copied) == hash(call)
