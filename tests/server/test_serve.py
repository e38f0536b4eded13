"""One TCP send per response: ``HeldHeadTransport`` joins uvicorn's head and body writes."""

from __future__ import annotations

import asyncio
import http.client
from urllib.parse import urlsplit

from phantomdb.server.serve import HeldHeadTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class RecordingTransport:
    """Records what reaches the socket, one entry per send."""

    def __init__(self) -> None:
        self.sends: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sends.append(bytes(data))

    def writelines(self, chunks: tuple[bytes, ...]) -> None:
        self.sends.append(b"".join(chunks))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_a_head_and_its_body_leave_in_one_send() -> None:
    loop = asyncio.new_event_loop()
    try:
        inner = RecordingTransport()
        transport = HeldHeadTransport(inner, loop)  # type: ignore[arg-type]
        transport.write(HEAD)
        assert inner.sends == []
        transport.write(b"{}")
        assert inner.sends == [HEAD + b"{}"]
        loop.run_until_complete(asyncio.sleep(0))  # the scheduled flush finds nothing left
        assert inner.sends == [HEAD + b"{}"]
    finally:
        loop.close()


def test_a_head_without_body_is_flushed_on_the_next_loop_turn() -> None:
    loop = asyncio.new_event_loop()
    try:
        inner = RecordingTransport()
        transport = HeldHeadTransport(inner, loop)  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        loop.run_until_complete(asyncio.sleep(0))
        assert inner.sends == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    finally:
        loop.close()


def test_close_flushes_a_held_head_first_and_other_calls_pass_through() -> None:
    loop = asyncio.new_event_loop()
    try:
        inner = RecordingTransport()
        transport = HeldHeadTransport(inner, loop)  # type: ignore[arg-type]
        transport.write(HEAD)
        transport.close()
        assert inner.sends == [HEAD] and inner.closed
        assert transport.get_extra_info("peername") == "info:peername"
        transport.write(b"body only")
        assert inner.sends[-1] == b"body only"
    finally:
        loop.close()


def test_responses_arrive_whole_in_one_read(server_url: str) -> None:
    # On loopback one send arrives as one segment: the first read holds head and body.
    parts = urlsplit(server_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.connect()
    for _ in range(5):
        conn.sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = conn.sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 200 OK")
        assert data.endswith(b'{"status":"ok","version":"1.0.0"}')
    conn.close()
