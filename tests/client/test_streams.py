"""Streamed results: rows read a chunk at a time as they arrive, in and out of transactions.

Against ``tuned_server`` (it streams every result longer than 10 rows), and a
scripted fake for the broken streams a real server does not send.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest

from phantomdb import OperationalError, PhantomDB, connect
from phantomdb.dbapi import Connection, Cursor
from tests.client.fakes import FakeServer
from tests.conftest import ServerProcess

MakeFake = Callable[..., FakeServer]
ROWS = 95  # ten chunks of the tuned server's 10 rows, the last one short


@pytest.fixture
def numbers(tuned_server: ServerProcess, database_name: str) -> Iterator[tuple[PhantomDB, str]]:
    """A database whose table ``t`` holds n = 0 .. ROWS-1, with a text and a BLOB per row."""
    with PhantomDB(tuned_server.url, pool_size=1) as client:
        client.create_database(database_name)
        client.execute_query(database_name, "CREATE TABLE t (n INTEGER PRIMARY KEY, label TEXT, data BLOB)")
        client.execute_batch(
            database_name,
            "INSERT INTO t (n, label, data) VALUES (?, ?, ?)",
            # Labels with the bytes a line-based reader could trip on: newlines, a $ form's opening.
            [[n, f'row {n}\n{{"$bytes": "x"}}', bytes([n])] for n in range(ROWS)],
        )
        yield client, database_name
        client.drop_database(database_name)


def expected(start: int = 0) -> list[tuple[object, ...]]:
    return [(n, f'row {n}\n{{"$bytes": "x"}}', bytes([n])) for n in range(start, ROWS)]


def test_a_streamed_query_is_read_chunk_by_chunk_with_every_value_decoded(numbers) -> None:
    client, db = numbers
    result = client.execute_query(db, "SELECT n, label, data FROM t ORDER BY n", stream=True)
    assert result.stream is not None and result.rows == ()
    assert result.columns == ("n", "label", "data")
    stream = result.stream
    assert stream.fetch(3) == expected()[:3]
    assert not stream.done  # the rest has not been read
    assert stream.fetch() == expected(3)
    assert stream.done and stream.rowcount == ROWS and stream.types == ("integer", "text", "blob")
    assert stream.fetch(5) == []


def test_a_streamed_table_select_is_read_as_it_arrives(numbers) -> None:
    client, db = numbers
    result = client.select(db, "t", ["n"], '"n" >= ?', [10], order_by='"n"', stream=True)
    assert result.stream is not None
    assert list(result.stream) == [(n,) for n in range(10, ROWS)]


def test_a_short_result_asked_as_a_stream_arrives_whole(numbers) -> None:
    client, db = numbers
    result = client.execute_query(db, "SELECT n FROM t WHERE n < 5 ORDER BY n", stream=True)
    assert result.stream is None and result.rows == tuple((n,) for n in range(5))


def test_non_finite_reals_in_a_stream_keep_their_values(numbers) -> None:
    client, db = numbers
    query = "SELECT CASE WHEN n % 2 THEN 1e999 ELSE -1e999 END FROM t ORDER BY n"
    result = client.execute_query(db, query, stream=True)
    assert result.stream is not None
    assert [value for value, in result.stream] == [math.inf if n % 2 else -math.inf for n in range(ROWS)]


def test_stopping_early_outside_a_transaction_closes_the_connection(numbers) -> None:
    client, db = numbers
    stream = client.execute_query(db, "SELECT n FROM t ORDER BY n", stream=True).stream
    assert stream is not None
    assert stream.fetch(2) == [(0,), (1,)]
    stream.close()
    assert stream.fetch(5) == [] and client.transport._idle == []  # the rest is never read
    assert client.execute_query(db, "SELECT count(*) FROM t").rows == ((ROWS,),)


@pytest.fixture
def conn(tuned_server: ServerProcess, numbers) -> Iterator[Connection]:
    """A PEP 249 connection (autocommit off) on the ``numbers`` database; committed at the end."""
    with connect(tuned_server.url, numbers[1]) as connection:
        yield connection


def ordered_stream(conn: Connection) -> Cursor:
    """A streaming cursor in ``conn``'s transaction, on every n in order, nothing fetched yet."""
    cursor = conn.cursor(stream=True)
    cursor.execute("SELECT n FROM t ORDER BY n")
    return cursor


def test_a_cursor_closed_early_in_a_transaction_drains_so_the_transaction_goes_on(
    conn: Connection, numbers
) -> None:
    cursor = ordered_stream(conn)
    assert cursor.fetchmany(4) == [(0,), (1,), (2,), (3,)]
    cursor.close()
    other = conn.cursor()
    other.execute("INSERT INTO t (n) VALUES (1000)")
    other.execute("SELECT count(*) FROM t")
    assert other.fetchall() == [(ROWS + 1,)]
    conn.commit()
    client, db = numbers
    assert client.execute_query(db, "SELECT n FROM t WHERE n = 1000").rows == ((1000,),)  # committed


def test_another_call_in_the_transaction_reads_the_rest_of_the_stream_first(conn: Connection) -> None:
    streamed = ordered_stream(conn)
    first = streamed.fetchmany(15)
    writer = conn.cursor()
    for n, in first:  # the pattern of iterator() with a save() per row
        writer.execute("UPDATE t SET label = 'seen' WHERE n = ?", [n])
    rest = streamed.fetchall()
    assert first + rest == [(n,) for n in range(ROWS)]
    writer.execute("SELECT count(*) FROM t WHERE label = 'seen'")
    assert writer.fetchall() == [(15,)]


def test_commit_with_a_stream_half_read_keeps_its_rows(conn: Connection) -> None:
    cursor = ordered_stream(conn)
    assert cursor.fetchone() == (0,)
    conn.commit()
    assert len(cursor.fetchall()) == ROWS - 1


def chunked(*pieces: bytes) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + body + b"0\r\n\r\n")


def test_a_stream_without_line_framing_is_decoded_whole(fake_server: MakeFake) -> None:
    document = b'{"columns": ["n"], "rows": [' + b",".join(b"[%d]" % n for n in range(300)) + b"]}"
    fake = fake_server(lambda index, request: chunked(document[:100], document[100:]))
    with PhantomDB(fake.url) as client:
        stream = client.execute_query("d", "SELECT n FROM t", stream=True).stream
        assert stream is not None and stream.columns == ("n",)
        assert stream.fetch() == [(n,) for n in range(300)]


def test_line_framing_split_anywhere_by_the_network_still_decodes(fake_server: MakeFake) -> None:
    document = b'{"columns":["n"],"rows":[\n[0],[1]\n,[2]\n],"encoded":false}'
    pieces = [document[i : i + 3] for i in range(0, len(document), 3)]
    fake = fake_server(lambda index, request: chunked(*pieces))
    with PhantomDB(fake.url) as client:
        stream = client.execute_query("d", "SELECT n FROM t", stream=True).stream
        assert stream is not None and list(stream) == [(0,), (1,), (2,)]
        assert client.health_check() is not None  # the connection went back to the pool, usable


def test_a_stream_that_ends_before_its_tail_is_an_error(fake_server: MakeFake) -> None:
    fake = fake_server(lambda index, request: chunked(b'{"columns":["n"],"rows":[\n[0],[1]\n'))
    with PhantomDB(fake.url) as client:
        stream = client.execute_query("d", "SELECT n FROM t", stream=True).stream
        assert stream is not None
        with pytest.raises(OperationalError) as raised:
            stream.fetch()
        assert raised.value.code == "result_incomplete"


def test_a_connection_lost_mid_stream_is_an_error(fake_server: MakeFake) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    first = b'{"columns":["n"],"rows":[\n[0]\n'
    fake = fake_server(lambda index, request: head + b"%x\r\n%s\r\n" % (len(first), first),
                       close_after_response=True)
    with PhantomDB(fake.url) as client:
        stream = client.execute_query("d", "SELECT n FROM t", stream=True).stream
        assert stream is not None
        assert stream.fetch(1) == [(0,)]
        with pytest.raises(OperationalError) as raised:
            stream.fetch()
        assert raised.value.code == "connection_lost"
