"""A scripted fake TCP server, only for transport failures (a connection closed
mid-request, a server that never answers) that a real server cannot be made to
produce on demand; everything else is tested against PhantomDB Lite."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# What a fake answers to one request: the bytes to send, or None to close the
# connection without an answer. It may also ask to close after answering.
Respond = Callable[[int, bytes], "bytes | None"]


def http_response(body: bytes = b'{"status": "ok"}', status: str = "200 OK", *,
                  close: bool = False, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


class FakeServer:
    """A loopback TCP server that records every request and answers by script.

    ``respond(n, request)`` is called for the n-th request overall (from 0).
    With ``close_after_response``, every connection is closed by the server
    right after its first answer (a server that drops idle keep-alives); with
    ``tls``, it speaks HTTPS; with ``listen_after``, it refuses connections
    for that many seconds first (a server still starting).
    """

    def __init__(
        self,
        respond: Respond,
        *,
        close_after_response: bool = False,
        tls: ssl.SSLContext | None = None,
        listen_after: float = 0.0,
    ):
        self.respond = respond
        self.listen_after = listen_after
        self.tls = tls
        self.close_after_response = close_after_response
        self.requests: list[bytes] = []
        self.connections = 0
        self.closed_idle = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        if not listen_after:
            self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        if self.listen_after:  # until then, connecting is refused
            time.sleep(self.listen_after)
            self._listener.listen(16)
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    @staticmethod
    def _read_request(sock: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                return None, buffer
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return None, b""
            rest += chunk
        return head + b"\r\n\r\n" + rest[:length], rest[length:]

    def _handle(self, sock: socket.socket) -> None:
        buffer = b""
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except OSError:  # the client refused the certificate
                sock.close()
                return
        with sock:
            while True:
                try:
                    request, buffer = self._read_request(sock, buffer)
                except OSError:
                    return
                if request is None:
                    return
                with self._lock:
                    index = len(self.requests)
                    self.requests.append(request)
                answer = self.respond(index, request)
                if answer is None:
                    return
                sock.sendall(answer)
                if self.close_after_response:
                    sock.shutdown(socket.SHUT_RDWR)
                    self.closed_idle.set()
                    return

    def request_lines(self) -> list[str]:
        return [request.split(b"\r\n", 1)[0].decode() for request in self.requests]

    def headers(self, index: int) -> dict[str, str]:
        head = self.requests[index].split(b"\r\n\r\n", 1)[0].decode()
        pairs = (line.split(":", 1) for line in head.split("\r\n")[1:])
        return {name.strip().lower(): value.strip() for name, value in pairs}

    def close(self) -> None:
        self._listener.close()
