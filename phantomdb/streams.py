"""Results read as they arrive: a streamed response decoded one chunk of rows at a time.

PhantomDB Lite sends a result longer than its ``--max-rows`` as a chunked
response that is still one JSON document, with a newline after its head and
after each chunk of rows (docs/rest-api.md, "Streamed results"). Unescaped
newlines never occur inside JSON text, so each line is decoded on its own:

    {"columns":["n"],"rows":[            <- the head
    [1],[2],...                          <- a chunk of rows
    ,[10001],[10002],...                 <- the next, led by the comma between them
    ],"types":["integer"],...}           <- the tail: what is known only at the end

Only the rows of the line being decoded and the unread part of the socket's
buffer are in memory, however long the result. A body without those
newlines (another server) is decoded whole at its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from phantomdb.encoding import decode_rows
from phantomdb.errors import InternalError, OperationalError
from phantomdb.transport import StreamedBody, cut_stream_error

__all__ = ["RowStream"]

# A $-typed value ({"$bytes": ...}) opens with these bytes; JSON text cannot hold them
# anywhere else in a list of rows, since a quote inside a string is escaped.
_TYPED_VALUE = b'{"$'


class RowStream:
    """The rows of one streamed result, decoded a line at a time as they are fetched.

    ``columns`` is known at once; ``types``, ``rowcount`` (the rows read, for
    a query) and ``lastrowid`` once the last row was read (``done``). ``close()`` before the end either
    reads the rest and discards it (``drain_on_close``: the connection and a
    transaction on it stay usable) or closes the connection.
    """

    def __init__(self, body: StreamedBody, *, drain_on_close: bool):
        self._body = body
        self._pieces = body.pieces()
        self._drain_on_close = drain_on_close
        self._partial = b""  # the start of a line whose end has not arrived
        self._rows: list[tuple[Any, ...]] = []
        self._position = 0
        self._decoded = 0  # rows decoded so far: the rowcount of a read, as for a whole result
        self.done = False
        self.types: tuple[str, ...] = ()
        self.rowcount = -1
        self.lastrowid: int | None = None
        head = self._next_line()
        if head is None:  # no newline at all: not a framed stream
            self.columns: tuple[str, ...] = ()
            self._whole(self._partial)
            return
        self.columns = tuple(self._decode(head + b"]}", "head").get("columns") or ())

    # -- reading -------------------------------------------------------------------

    def fetch(self, size: int | None = None) -> list[tuple[Any, ...]]:
        """Up to ``size`` more rows (all the rest when None); an empty list at the end."""
        rows: list[tuple[Any, ...]] = []
        while size is None or len(rows) < size:
            available = len(self._rows) - self._position
            if available:
                take = available if size is None else min(available, size - len(rows))
                rows.extend(self._rows[self._position : self._position + take])
                self._position += take
                continue
            if not self._read_rows():
                break
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while True:
            rows = self.fetch(1000)
            if not rows:
                return
            yield from rows

    def buffer(self) -> None:
        """Read every remaining row into memory now, which frees the connection."""
        if not self.done:
            self._rows = self.fetch()  # the unread rows already decoded, then every later one
            self._position = 0

    def close(self) -> None:
        """Stop reading; what is left is drained or its connection closed (see the class)."""
        if self.done:
            return
        if self._drain_on_close:
            while self._read_rows(keep=False):
                pass
        else:
            self._body.close()
            self.done = True
        self._rows, self._position = [], 0

    # -- decoding ------------------------------------------------------------------

    def _read_rows(self, *, keep: bool = True) -> bool:
        """Decode the next line of rows into ``_rows``; False when the tail was reached."""
        while not self.done:
            line = self._next_line()
            if line is None:  # the body ended: what is left is the tail
                self._tail(self._partial)
                return False
            if line[:1] == b"]":  # a tail followed by a newline (a proxy's, say)
                self._tail(line + self._rest())
                return False
            if line[:1] == b",":
                line = line[1:]
            if not line:
                continue
            if line[:1] == b"{":  # the server cut the stream and says why
                self.done = True
                self._body.close()
                raise cut_stream_error(line) or self._invalid(line)
            if keep:
                raw = self._decode(b"[" + line + b"]", "rows")
                self._rows = decode_rows(raw) if _TYPED_VALUE in line else list(map(tuple, raw))
                self._position = 0
                self._decoded += len(self._rows)
            return True
        return False

    def _next_line(self) -> bytes | None:
        """The next complete line, or None when the body ended first (``_partial`` holds the rest)."""
        end = self._partial.find(b"\n")
        if end >= 0:
            line, self._partial = self._partial[:end], self._partial[end + 1 :]
            return line
        started = [self._partial] if self._partial else []
        for piece in self._pieces:
            end = piece.find(b"\n")
            if end >= 0:
                started.append(piece[:end])
                self._partial = piece[end + 1 :]
                return b"".join(started)
            started.append(piece)
        self._partial = b"".join(started)
        return None

    def _rest(self) -> bytes:
        rest = self._partial + b"".join(self._pieces)
        self._partial = b""
        return rest

    def _tail(self, tail: bytes) -> None:
        self.done = True
        if tail[:1] != b"]":
            raise OperationalError(
                "The streamed result ended before its last row: the server stopped sending it",
                code="result_incomplete",
            )
        info = self._decode(b"{" + tail[1:].lstrip(b", \n"), "tail") if tail.strip() != b"]}" else {}
        self.types = tuple(info.get("types") or ())
        rowcount = info.get("rowcount")
        self.rowcount = self._decoded if rowcount is None or rowcount < 0 else rowcount
        self.lastrowid = info.get("lastrowid")

    def _whole(self, body: bytes) -> None:
        """A body without framing: one JSON document, decoded at once."""
        self.done = True
        data = self._decode(body, "body")
        raw = data.get("rows") or []
        self._rows = decode_rows(raw) if data.get("encoded") else list(map(tuple, raw))
        self.columns = tuple(data.get("columns") or ())
        self.types = tuple(data.get("types") or ())
        rowcount = data.get("rowcount")
        self.rowcount = len(self._rows) if rowcount is None or rowcount < 0 else rowcount
        self.lastrowid = data.get("lastrowid")

    @staticmethod
    def _invalid(line: bytes) -> InternalError:
        return InternalError(
            f"PhantomDB sent a streamed result with an unexpected line: {line[:100]!r}", code="internal_error"
        )

    @staticmethod
    def _decode(text: bytes, part: str) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InternalError(
                f"PhantomDB sent a streamed result whose {part} is not valid JSON: {exc}",
                code="internal_error",
            ) from None
