"""The transport's promises on the wire: headers, keep-alive reuse, reconnects,
retries that never repeat a write, timeouts and error mapping.

Failures a real server cannot produce on demand use the scripted FakeServer;
the restart scenario uses real PhantomDB Lite processes.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from phantomdb import (
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    PhantomDB,
    ProgrammingError,
)
from phantomdb.transport import Transport
from tests.client.fakes import FakeServer, closed_port, http_response
from tests.conftest import ServerProcess, cycles_found

MakeFake = Callable[..., FakeServer]


def always_ok(index: int, request: bytes) -> bytes:
    return http_response(b'{"status": "ok", "version": "1.0.0"}')


def never_answers(index: int, request: bytes) -> None:
    return None


def error_json(code: str, message: str, status: str) -> bytes:
    body = f'{{"error": {{"code": "{code}", "message": "{message}"}}}}'.encode()
    return http_response(body, status)


# -- connection failures ---------------------------------------------------------


def test_connection_refused_names_the_server() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with PhantomDB(url, retries=1) as client, pytest.raises(OperationalError) as raised:
        client.health_check()
    assert str(raised.value).startswith(f"Failed to connect to PhantomDB server at {url}")
    assert raised.value.code == "connection_failed"


def test_connection_failure_message_never_shows_credentials() -> None:
    port = closed_port()
    for client in (
        PhantomDB(f"http://admin:secret@127.0.0.1:{port}", retries=0),
        PhantomDB(f"http://127.0.0.1:{port}", user="admin", password="secret", retries=0),
        PhantomDB(f"http://127.0.0.1:{port}", token="t0k3n", retries=0),
    ):
        with client, pytest.raises(OperationalError) as raised:
            client.list_databases()
        assert "secret" not in str(raised.value) and "t0k3n" not in str(raised.value)
        assert "secret" not in repr(client) and "t0k3n" not in repr(client.transport)
        assert str(raised.value).startswith(f"Failed to connect to PhantomDB server at http://127.0.0.1:{port}")


def test_connection_refused_is_retried_with_backoff_then_given_up() -> None:
    transport = Transport(f"http://127.0.0.1:{closed_port()}", retries=2, backoff=0.05)
    started = time.perf_counter()
    with pytest.raises(OperationalError):
        transport.request("POST", "/databases", {"name": "x"})
    assert time.perf_counter() - started >= 0.05 + 0.1


def test_a_refused_write_is_retried_as_nothing_was_sent(fake_server: MakeFake) -> None:
    fake = fake_server(lambda index, request: http_response(b'{"rowcount": 1}', "201 Created"),
                       listen_after=0.1)
    with PhantomDB(fake.url, retries=4) as client:  # backoff 0.05 + 0.1 + 0.2 + 0.4 s
        assert client.insert("d", "t", {"a": 1}).rowcount == 1
    assert len(fake.requests) == 1


def test_connect_timeout_is_connection_failed() -> None:
    # A listener whose accept queue is full drops further SYNs: connect() hangs.
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.connect(listener.getsockname())
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        transport = Transport(url, connect_timeout=0.2, retries=0)
        with pytest.raises(OperationalError) as raised:
            transport.request("GET", "/health")
    assert raised.value.code == "connection_failed"
    assert str(raised.value) == f"Failed to connect to PhantomDB server at {url}: timed out after 0.2s"


def test_closed_client_raises_interface_error(fake_server: MakeFake) -> None:
    fake = fake_server(always_ok)
    client = PhantomDB(fake.url)
    client.close()
    with pytest.raises(InterfaceError):
        client.health_check()


# -- HTTPS -----------------------------------------------------------------------


@pytest.fixture
def https_fake(fake_server: MakeFake, certificate: tuple[Path, Path]) -> FakeServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return fake_server(always_ok, tls=context)


def test_https_verifies_the_server_against_a_ca_bundle(https_fake: FakeServer, certificate: tuple) -> None:
    with PhantomDB(https_fake.url, verify=str(certificate[0])) as client:
        assert client.health_check()["status"] == "ok"
        client.health_check()
    assert https_fake.connections == 1


def test_https_refuses_an_unknown_certificate_without_retrying(https_fake: FakeServer) -> None:
    with PhantomDB(https_fake.url, retries=3) as client, pytest.raises(OperationalError) as raised:
        client.health_check()
    assert str(raised.value).startswith(f"Failed to connect to PhantomDB server at {https_fake.url}: ")
    assert "certificate" in str(raised.value) and raised.value.code == "connection_failed"
    assert https_fake.connections == 1


def test_https_without_verification_accepts_any_certificate(https_fake: FakeServer) -> None:
    with PhantomDB(https_fake.url, verify=False) as client:
        assert client.health_check()["status"] == "ok"


def test_https_presents_a_client_certificate(fake_server: MakeFake, certificate: tuple[Path, Path]) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(certificate[0])
    fake = fake_server(always_ok, tls=context)
    cert, key = (str(path) for path in certificate)
    with PhantomDB(fake.url, verify=cert, cert=(cert, key)) as client:
        assert client.health_check()["status"] == "ok"
    with PhantomDB(fake.url, verify=cert, retries=0) as client, pytest.raises(OperationalError):
        client.health_check()


# -- retries never repeat a write ------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_a_write_whose_connection_broke_is_sent_once(fake_server: MakeFake, method: str) -> None:
    fake = fake_server(never_answers)
    transport = Transport(fake.url, retries=3)
    with pytest.raises(OperationalError) as raised:
        transport.request(method, "/databases/d/tables/t", {"data": {"a": 1}})
    assert fake.request_lines() == [f"{method} /databases/d/tables/t HTTP/1.1"]
    assert raised.value.code == "connection_lost"
    assert "may have applied" in str(raised.value)


def test_insert_whose_connection_broke_is_not_resent(fake_server: MakeFake) -> None:
    fake = fake_server(never_answers)
    with PhantomDB(fake.url, retries=5) as client, pytest.raises(OperationalError):
        client.insert("d", "users", {"email": "a@example.com"})
    assert len(fake.requests) == 1


def test_a_get_whose_connection_broke_is_retried(fake_server: MakeFake) -> None:
    fake = fake_server(lambda index, request: always_ok(index, request) if index == 1 else None)
    with PhantomDB(fake.url, retries=2) as client:
        assert client.health_check()["status"] == "ok"
    assert fake.request_lines() == ["GET /health HTTP/1.1"] * 2


def test_a_get_is_retried_a_bounded_number_of_times(fake_server: MakeFake) -> None:
    fake = fake_server(never_answers)
    with PhantomDB(fake.url, retries=2) as client, pytest.raises(OperationalError) as raised:
        client.list_databases()
    assert len(fake.requests) == 3
    assert str(raised.value).startswith(f"Failed to connect to PhantomDB server at {fake.url}")


# -- keep-alive ------------------------------------------------------------------


def test_keep_alive_reuses_one_connection(fake_server: MakeFake) -> None:
    fake = fake_server(always_ok)
    with PhantomDB(fake.url) as client:
        for _ in range(5):
            client.health_check()
    assert fake.connections == 1
    assert fake.headers(0)["connection"] == "keep-alive"


def test_one_client_serves_many_threads(server_url: str, db: str) -> None:
    with PhantomDB(server_url, pool_size=2) as client:

        def work(n: int) -> list[int]:
            return [client.execute_query(db, "SELECT ? + 1", [n * 100 + i]).rows[0][0] for i in range(30)]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(work, range(8)))
        assert results == [[n * 100 + i + 1 for i in range(30)] for n in range(8)]
        assert len(client.transport._idle) <= 2


def test_connections_set_tcp_nodelay(fake_server: MakeFake) -> None:
    fake = fake_server(always_ok)
    transport = Transport(fake.url)
    transport.request("GET", "/health")
    (conn,) = transport._idle
    assert conn.sock is not None
    assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    transport.close()


def test_pool_keeps_at_most_pool_size_idle_connections(fake_server: MakeFake) -> None:
    fake = fake_server(always_ok)
    transport = Transport(fake.url, pool_size=2)
    conns = [transport._checkout() for _ in range(4)]
    for conn in conns:
        transport._checkin(conn)
    assert transport._idle == conns[:2]
    assert transport._checkout() is conns[1]  # LIFO: the most recently returned first
    transport.close()


def test_a_keep_alive_the_server_closed_is_replaced_before_a_write(fake_server: MakeFake) -> None:
    fake = fake_server(lambda index, request: http_response(b'{"rowcount": 1}', "201 Created"),
                       close_after_response=True)
    with PhantomDB(fake.url, retries=0) as client:
        client.insert("d", "t", {"a": 1})
        assert fake.closed_idle.wait(5)
        time.sleep(0.05)  # let the FIN reach the client's socket
        client.insert("d", "t", {"a": 2})
    assert len(fake.requests) == 2 and fake.connections == 2


def test_connection_close_response_is_not_pooled(fake_server: MakeFake) -> None:
    fake = fake_server(lambda index, request: http_response(close=True))
    transport = Transport(fake.url)
    transport.request("GET", "/health")
    assert transport._idle == []
    transport.request("GET", "/health")
    assert fake.connections == 2


def test_stale_keep_alive_after_server_restart_reconnects(
    restartable_server: Callable[[], ServerProcess], database_name: str
) -> None:
    first = restartable_server()
    with PhantomDB(first.url, retries=0) as client:
        client.create_database(database_name)
        client.create_table(database_name, "t", columns=[{"name": "a", "type": "INTEGER"}])
        client.insert(database_name, "t", {"a": 1})
        second = restartable_server()  # same port, same data dir
        assert second.url == first.url
        # retries=0: only the stale-connection check can make these work.
        client.insert(database_name, "t", {"a": 2})
        assert client.select(database_name, "t", order_by='"a"').rows == ((1,), (2,))


# -- timeouts --------------------------------------------------------------------


def test_read_timeout_is_operational_error_timeout(fake_server: MakeFake) -> None:
    def slow(index: int, request: bytes) -> bytes:
        time.sleep(1.0)
        return always_ok(index, request)

    fake = fake_server(slow)
    transport = Transport(fake.url, timeout=0.2, retries=3)
    with pytest.raises(OperationalError) as raised:
        transport.request("POST", "/databases/d/query", {"query": "SELECT 1"})
    assert raised.value.code == "timeout"
    assert len(fake.requests) == 1


# -- headers ---------------------------------------------------------------------


def test_basic_auth_header_from_user_and_password(fake_server: MakeFake) -> None:
    fake = fake_server(always_ok)
    with PhantomDB(fake.url, user="admin", password="secret") as client:
        client.health_check()
    assert fake.headers(0)["authorization"] == "Basic YWRtaW46c2VjcmV0"


def test_basic_auth_header_from_url_credentials(fake_server: MakeFake) -> None:
    fake = fake_server(always_ok)
    with PhantomDB(f"http://admin:secret@127.0.0.1:{fake.port}") as client:
        client.health_check()
    assert fake.headers(0)["authorization"] == "Basic YWRtaW46c2VjcmV0"


def test_bearer_header_from_token(fake_server: MakeFake) -> None:
    fake = fake_server(always_ok)
    with PhantomDB(fake.url, token="t0k3n") as client:
        client.health_check()
    assert fake.headers(0)["authorization"] == "Bearer t0k3n"


def test_transaction_header_and_json_body(fake_server: MakeFake) -> None:
    fake = fake_server(lambda index, request: http_response(b'{"columns": [], "rows": []}'))
    with PhantomDB(fake.url) as client:
        client.execute_query("d", "SELECT 1", transaction="tx-42")
    headers = fake.headers(0)
    assert headers["phantomdb-transaction"] == "tx-42"
    assert headers["content-type"] == "application/json"
    assert fake.requests[0].endswith(b'{"query":"SELECT 1","params":[]}')


def test_headers_hook_adds_headers_to_every_request(fake_server: MakeFake) -> None:
    fake = fake_server(always_ok)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with PhantomDB(fake.url, headers_hook=lambda headers: headers.update(traceparent=traceparent)) as client:
        client.health_check()
        client.health_check()
    assert fake.headers(0)["traceparent"] == traceparent
    assert fake.headers(1)["traceparent"] == traceparent


def test_url_path_prefix_is_kept(fake_server: MakeFake) -> None:
    fake = fake_server(always_ok)
    with PhantomDB(fake.url + "/phantom/") as client:
        client.health_check()
    assert fake.request_lines() == ["GET /phantom/health HTTP/1.1"]


# -- responses -------------------------------------------------------------------


def test_chunked_response_is_read_whole(fake_server: MakeFake) -> None:
    body = b'{"columns": ["n"], "rows": [' + b",".join(b"[%d]" % i for i in range(1000)) + b"]}"
    pieces = [body[i : i + 100] for i in range(0, len(body), 100)]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunks + b"0\r\n\r\n")
    fake = fake_server(lambda index, request: response)
    with PhantomDB(fake.url) as client:
        result = client.execute_query("d", "SELECT n FROM t")
        assert result.rows == tuple((i,) for i in range(1000))
        client.execute_query("d", "SELECT n FROM t")  # the connection is still usable
    assert fake.connections == 1


def test_result_streamed_in_chunks_by_the_server_arrives_whole(tuned_server: ServerProcess) -> None:
    with PhantomDB(tuned_server.url, pool_size=1) as client:
        client.create_database("streamed")
        client.create_table("streamed", "t", columns=[{"name": "n", "type": "INTEGER"}])
        client.execute_batch("streamed", 'INSERT INTO t ("n") VALUES (?)', [[n] for n in range(500)])
        result = client.execute_query("streamed", 'SELECT "n" FROM t ORDER BY "n"')  # > --max-rows 10
        assert result.rows == tuple((n,) for n in range(500)) and result.rowcount == 500
        assert client.select("streamed", "t", order_by='"n" DESC').rows[0] == (499,)
        (conn,) = client.transport._idle  # the keep-alive survived the chunked responses
        assert client.health_check()["status"] == "ok" and client.transport._idle == [conn]


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("unique_violation", "409 Conflict", IntegrityError),
        ("table_not_found", "404 Not Found", ProgrammingError),
        ("payload_too_large", "413 Payload Too Large", DataError),
        ("database_locked", "503 Service Unavailable", OperationalError),
        ("internal_error", "500 Internal Server Error", InternalError),
    ],
)
def test_error_code_decides_the_class(fake_server: MakeFake, code: str, status: str, cls: type) -> None:
    fake = fake_server(lambda index, request: error_json(code, "what went wrong", status))
    with PhantomDB(fake.url) as client, pytest.raises(cls) as raised:
        client.list_databases()
    assert raised.value.code == code and raised.value.message == "what went wrong"
    assert raised.value.status == int(status.split()[0])


def test_unauthorized_is_always_unauthorized_access(fake_server: MakeFake) -> None:
    fake = fake_server(lambda index, request: http_response(b"go away", "401 Unauthorized",
                                                            content_type="text/plain"))
    with PhantomDB(fake.url, token="wrong") as client, pytest.raises(OperationalError) as raised:
        client.list_databases()
    assert str(raised.value) == "Unauthorized access" and raised.value.code == "unauthorized"


def test_a_success_that_is_not_json_is_internal_error(fake_server: MakeFake) -> None:
    fake = fake_server(lambda index, request: http_response(b'{"rows": [1,'))
    with PhantomDB(fake.url) as client, pytest.raises(InternalError, match="invalid JSON"):
        client.list_databases()


def test_a_proxy_error_page_is_operational_error(fake_server: MakeFake) -> None:
    fake = fake_server(lambda index, request: http_response(b"<html>Bad Gateway</html>", "502 Bad Gateway",
                                                            content_type="text/html"))
    with PhantomDB(fake.url) as client, pytest.raises(OperationalError) as raised:
        client.list_databases()
    assert raised.value.status == 502 and "Bad Gateway" in str(raised.value)


# -- values that cannot travel -----------------------------------------------------


def test_a_value_of_an_unsupported_type_is_programming_error() -> None:
    with PhantomDB(f"http://127.0.0.1:{closed_port()}") as client:
        with pytest.raises(ProgrammingError, match="cannot send a value of type object"):
            client.execute_query("d", "SELECT ?", [object()])
        with pytest.raises(ProgrammingError):
            client.insert("d", "t", {"a": {"nested": "dict"}})


def test_an_integer_beyond_64_bits_is_data_error() -> None:
    with PhantomDB(f"http://127.0.0.1:{closed_port()}") as client:
        with pytest.raises(DataError):
            client.execute_query("d", "SELECT ?", [2**64])
        with pytest.raises(DataError):
            client.select("d", "t", condition='"a" = ?', params=[-(2**70)])


def test_requests_leave_no_reference_cycles_behind(server_url: str) -> None:
    """Django's own suite checks that queries free their memory without the garbage collector."""
    with PhantomDB(server_url) as client:
        client.health_check()
        with cycles_found() as garbage:
            for _ in range(5):
                client.health_check()
            with pytest.raises(ProgrammingError):
                client.get_database("no_such_database")
        assert garbage == []
