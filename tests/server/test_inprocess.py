"""The embedded server's in-process transport: every answer as over HTTP, without the socket.

One embedded PhantomDB Lite in the test process; each scenario runs once
through ``Transport`` (HTTP to its URL) and once through ``in_process``, on
databases of its own, and the two transcripts must be the same.
"""

from __future__ import annotations

import datetime
import decimal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from phantomdb import PhantomDB
from phantomdb.errors import InterfaceError, OperationalError, PhantomDBError
from phantomdb.server.embedded import EmbeddedServer, start_embedded
from phantomdb.server.inprocess import InProcessTransport
from tests.conftest import cycles_found

MAX_ROWS = 10
# Never ends by itself: only the time limit or an interrupt stops it.
TYPED_READ = 'SELECT "price", "seen" FROM "items" WHERE "id" < 3'
RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with start_embedded(
        tmp_path_factory.mktemp("phantomdb-inprocess"),
        max_rows=MAX_ROWS,
        transaction_timeout=0.5,
        statement_timeout=5.0,
        log_level="warning",
    ) as server:
        yield server


@pytest.fixture
def in_process(embedded: EmbeddedServer) -> Iterator[PhantomDB]:
    with PhantomDB(embedded.url, transport=embedded.in_process) as client:
        yield client


def _outcome(step: Callable[[], Any], *names: str) -> Any:
    """What a step answered, or which error it raised (with ``names``, a database's or a
    transaction's, left out of its message): comparable across transports."""
    try:
        answer = step()
    except PhantomDBError as exc:
        message = str(exc)
        for name in names:
            message = message.replace(name, "<name>")
        return (type(exc).__name__, exc.code, message)
    if hasattr(answer, "stream") and answer.stream is not None:
        stream = answer.stream
        return ("stream", answer.columns, list(stream), stream.rowcount, stream.types)
    return answer


def _scenario(client: PhantomDB, db: str) -> list[Any]:
    """Calls of every kind, each answer recorded; the database's name never shows in them."""
    steps: list[Callable[[], Any]] = [
        lambda: client.create_database(db)["name"] == db,
        lambda: client.create_table(
            db,
            "items",
            columns=[
                {"name": "id", "type": "BIGINT", "primary_key": True, "auto_increment": True},
                {"name": "name", "type": "TEXT", "nullable": False, "unique": True},
                {"name": "price", "type": "DECIMAL(10,2)"},
                {"name": "seen", "type": "TIMESTAMP"},
                {"name": "blob", "type": "BLOB"},
            ],
        )["name"],
        lambda: client.insert(db, "items", {"name": "first", "price": decimal.Decimal("1.50")}),
        lambda: client.insert(
            db,
            "items",
            [
                {"name": f"n{i}", "seen": datetime.datetime(2026, 12, 2, 12, i), "blob": bytes([i, 0, 255])}
                for i in range(25)
            ],
        ),
        lambda: client.insert(db, "items", {"name": "first"}),  # unique: IntegrityError
        lambda: client.select(db, "items", ["id", "name"], '"id" = ?', [1]),
        lambda: client.select(db, "items", None, None, None, '"id"', 5, 3),
        lambda: client.select(db, "items", ["name", "seen", "blob"]),  # longer than max_rows: streamed
        lambda: client.select(db, "items", ["name"], None, None, '"id"', stream=True),
        lambda: client.select(db, "nope"),
        lambda: client.select(db, "items", None, "nonsense ((", []),
        lambda: client.update(db, "items", {"price": 2}, '"name" LIKE ?', ["n1%"]),
        lambda: client.delete(db, "items", '"id" > ?', [20]),
        lambda: client.delete(db, "items"),  # unconditional: refused
        lambda: client.execute_query(db, 'SELECT count(*), sum("price") FROM "items"'),
        lambda: client.execute_query(db, 'SELECT "name" FROM "items" ORDER BY "id"', stream=True),
        lambda: client.execute_query(db, TYPED_READ, decltypes=True),
        lambda: client.execute_query(db, "SELEC 1"),
        lambda: client.execute_query(db, "BEGIN"),
        lambda: client.execute_batch(db, 'UPDATE "items" SET "price" = ? WHERE "id" = ?', [[5, 1], [6, 2]]),
        lambda: client.describe_table(db, "items")["columns"],
    ]
    outcomes = [_outcome(step, db) for step in steps]
    transaction = client.begin_transaction(db)
    outcomes += [
        _outcome(lambda: client.insert(db, "items", {"name": "in tx"}, transaction=transaction).rowcount),
        _outcome(lambda: client.savepoint(transaction, "s1")),
        _outcome(lambda: client.delete(db, "items", '"name" = ?', ["first"], transaction=transaction)),
        _outcome(lambda: client.rollback_to_savepoint(transaction, "s1")),
        _outcome(lambda: client.release_savepoint(transaction, "nope")),
        _outcome(
            lambda: client.select(db, "items", ["name"], "id <= 3", transaction=transaction, stream=True)
        ),
        _outcome(lambda: client.commit_transaction(transaction)),
        _outcome(lambda: client.commit_transaction(transaction), transaction),  # gone
        _outcome(lambda: client.execute_query(db, 'SELECT count(*) FROM "items"').rows),
        _outcome(lambda: client.drop_database(db)),
        _outcome(lambda: client.get_database(db), db),
    ]
    return outcomes


def test_every_call_answers_as_over_http(embedded: EmbeddedServer, in_process: PhantomDB) -> None:
    with PhantomDB(embedded.url) as over_http:
        expected = _scenario(over_http, "same_http")
    assert _scenario(in_process, "same_in_process") == expected
    assert isinstance(in_process.transport, InProcessTransport)


def test_health_and_credentials_as_over_http(tmp_path: Path) -> None:
    with start_embedded(tmp_path, users={"ann": "pw"}, log_level="warning") as server:
        with PhantomDB(server.url, transport=server.in_process) as anonymous:
            assert anonymous.health_check()["status"] == "ok"  # public
            with pytest.raises(PhantomDBError) as refused:
                anonymous.list_databases()
            assert refused.value.code == "unauthorized"
        with PhantomDB(server.url, user="ann", password="pw", transport=server.in_process) as ann:
            assert ann.list_databases() == []
            assert "pw" not in repr(ann.transport)


def test_a_stream_closed_early_lets_the_server_go_on(in_process: PhantomDB, database_name: str) -> None:
    db = database_name
    in_process.create_database(db)
    in_process.execute_query(db, "CREATE TABLE t (x INTEGER)")
    in_process.execute_batch(db, "INSERT INTO t VALUES (?)", [[i] for i in range(5000)])
    result = in_process.select(db, "t", stream=True)
    assert result.stream is not None
    assert result.stream.fetch(3) == [(0,), (1,), (2,)]
    result.stream.close()  # autocommit: the rest is never read
    assert in_process.execute_query(db, "SELECT count(*) FROM t").rows == ((5000,),)


def test_a_reader_that_stops_is_abandoned_after_the_idle_timeout(
    in_process: PhantomDB, database_name: str
) -> None:
    """The application's send stalls while the reader is away (as a full socket would), and
    gives up at the transaction idle timeout (0.5 s here): the reader then learns it was cut."""
    db = database_name
    in_process.create_database(db)
    in_process.execute_query(db, "CREATE TABLE t (x TEXT)")
    in_process.execute_batch(db, "INSERT INTO t VALUES (?)", [["x" * 100] for _ in range(2000)])
    result = in_process.select(db, "t", stream=True)
    assert result.stream is not None
    assert len(result.stream.fetch(1)) == 1
    time.sleep(1.5)
    with pytest.raises(OperationalError) as lost:
        list(result.stream)
    assert lost.value.code in ("connection_lost", "result_incomplete")
    assert in_process.health_check()["status"] == "ok"


def test_a_call_that_outlasts_the_client_timeout_is_interrupted(
    embedded: EmbeddedServer, database_name: str
) -> None:
    with PhantomDB(embedded.url, timeout=0.3, transport=embedded.in_process) as impatient:
        impatient.create_database(database_name)
        started = time.monotonic()
        with pytest.raises(OperationalError) as waited:
            impatient.execute_query(database_name, RUNAWAY)
        assert waited.value.code == "timeout" and "did not answer POST" in str(waited.value)
        assert time.monotonic() - started < 2.0
        # The server saw the caller go and interrupted the statement: the next call is answered at once.
        started = time.monotonic()
        assert impatient.execute_query(database_name, "SELECT 1").rows == ((1,),)
        assert time.monotonic() - started < 1.0


def test_many_threads_share_one_in_process_client(in_process: PhantomDB, database_name: str) -> None:
    db = database_name
    in_process.create_database(db)
    in_process.execute_query(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, who INTEGER)")
    errors: list[BaseException] = []

    def work(who: int) -> None:
        try:
            for _ in range(50):
                in_process.insert(db, "t", {"who": who})
                assert in_process.select(db, "t", ["who"], '"who" = ?', [who], limit=1).rows == ((who,),)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(who,)) for who in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert in_process.execute_query(db, "SELECT count(*) FROM t").rows == ((200,),)


def test_headers_that_could_split_a_request_are_refused(embedded: EmbeddedServer) -> None:
    def bad_hook(headers: dict[str, str]) -> None:
        headers["traceparent"] = "00-abc\r\nX-Injected: 1"

    with (
        PhantomDB(embedded.url, headers_hook=bad_hook, transport=embedded.in_process) as client,
        pytest.raises(InterfaceError, match="Invalid HTTP header"),
    ):
        client.health_check()


def test_calls_after_the_server_stopped_fail_as_a_connection_would(tmp_path: Path) -> None:
    server = start_embedded(tmp_path, log_level="warning")
    client = PhantomDB(server.url, transport=server.in_process)
    assert client.health_check()["status"] == "ok"
    server.stop()
    with pytest.raises(OperationalError) as failed:
        client.health_check()
    assert failed.value.code == "connection_failed" and "has stopped" in str(failed.value)
    client.close()
    with pytest.raises(InterfaceError, match="closed"):
        client.health_check()


def test_calls_leave_no_reference_cycles_behind(in_process: PhantomDB, database_name: str) -> None:
    """Django's own suite checks that queries free their memory without the garbage collector;
    in process, the server's request handling runs in the same process as those checks."""
    db = database_name
    in_process.create_database(db)
    in_process.execute_query(db, "CREATE TABLE t (x INTEGER)")
    in_process.execute_batch(db, "INSERT INTO t VALUES (?)", [[i] for i in range(50)])
    with cycles_found() as garbage:
        in_process.health_check()
        in_process.insert(db, "t", {"x": 1})
        assert len(in_process.select(db, "t").rows) == 51
        result = in_process.select(db, "t", stream=True)  # longer than max_rows: streamed
        assert result.stream is not None and len(list(result.stream)) == 51
        with pytest.raises(PhantomDBError):
            in_process.get_database("no_such_database")
        time.sleep(0.1)  # the server's side of the last call ends after its answer
    assert garbage == []


def test_a_forked_process_is_told_to_use_the_url(embedded: EmbeddedServer) -> None:
    """The server's thread is not in a forked child: its calls would wait for nobody."""
    transport = embedded.in_process(embedded.url)
    transport._process = -1  # as seen from a child process
    with pytest.raises(OperationalError) as failed:
        transport.request("GET", "/health")
    assert failed.value.code == "connection_failed" and "connect to its URL" in str(failed.value)
