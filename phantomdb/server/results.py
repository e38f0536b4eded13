"""SQLite result rows to JSON response bodies, whole or streamed.

orjson writes the rows; only values JSON lacks are tagged: BLOBs as
``{"$bytes": ...}`` (through orjson's ``default``) and infinite REALs as
``{"$float": ...}`` (orjson would write them as null). A result longer than the
server's ``max_rows`` goes out as one chunked response, ``fetchmany`` chunk by
chunk on a worker thread, that still parses as one JSON document. Each chunk
of rows is a line of its own (the document's head, each chunk, its tail, split
by newlines, which JSON text never holds unescaped), so that a client can
decode the rows a chunk at a time (docs/rest-api.md, "Streamed results"). A
whole (unstreamed) body is bounded by ``max_response_bytes``; so is every value.
A streamed one is bounded by ``max_stream_bytes``: past it the rest is replaced
by an error line, which leaves the document invalid, and the response ends
without its last chunk (the connection closes), so no client takes it for a
whole result.
"""

from __future__ import annotations

import base64
import contextlib
import math
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from phantomdb.server.errors import ApiError
from phantomdb.server.messages import Response, Stream, StreamCut

if TYPE_CHECKING:
    from phantomdb.server.leases import Lease

_STORAGE_CLASSES = {int: "integer", float: "real", str: "text", bytes: "blob"}
_ENCODED = {False: b',"encoded":false}', True: b',"encoded":true}'}


def _tag_float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _has_non_finite(rows: Sequence[Sequence[Any]]) -> bool:
    return any(type(value) is float and not math.isfinite(value) for row in rows for value in row)


def encode_rows(rows: Sequence[Sequence[Any]]) -> tuple[bytes, bool]:
    """The JSON list of ``rows`` and whether any value in it is a ``$`` form."""
    tagged = False

    def tag(value: Any) -> Any:
        nonlocal tagged
        if type(value) is bytes:
            tagged = True
            return {"$bytes": base64.b64encode(value).decode("ascii")}
        raise TypeError

    body = orjson.dumps(rows, default=tag)
    # An infinite REAL comes out as null. Each null is a NULL unless there are more
    # "null"s than NULLs (strings may hold the word too): only then look closer.
    if (
        b"null" in body
        and body.count(b"null") > sum(row.count(None) for row in rows)
        and _has_non_finite(rows)
    ):
        rows = [[_tag_float(value) if type(value) is float else value for value in row] for row in rows]
        body = orjson.dumps(rows, default=tag)
        tagged = True
    return body, tagged


class ColumnTypes:
    """The storage class of each column's first non-null value (``null`` if none)."""

    def __init__(self, width: int):
        self.names: list[str] = ["null"] * width
        self._pending = list(range(width))

    def update(self, rows: Sequence[Sequence[Any]]) -> None:
        pending = self._pending
        if not pending:
            return
        for row in rows:
            for index in pending:
                value = row[index]
                if value is not None:
                    self.names[index] = _STORAGE_CLASSES.get(type(value), "null")
            pending = [index for index in pending if self.names[index] == "null"]
            if not pending:
                break
        self._pending = pending


def result_body(head: dict[str, Any], rows: Sequence[Sequence[Any]], tail: dict[str, Any]) -> bytes:
    """``{**head, "rows": rows, **tail, "encoded": ...}`` without re-encoding the rows."""
    rows_json, encoded = encode_rows(rows)
    tail["encoded"] = encoded
    return b"".join((orjson.dumps(head)[:-1], b',"rows":', rows_json, b",", orjson.dumps(tail)[1:]))


def _cursor_tail(cursor: sqlite3.Cursor, query_fields: bool, inserts: bool) -> dict[str, Any]:
    if not query_fields:
        return {}
    rowcount = cursor.rowcount
    return {"rowcount": rowcount, "lastrowid": cursor.lastrowid if inserts and rowcount > 0 else None}


def result_response(
    lease: Lease,
    cursor: sqlite3.Cursor,
    rows: list[Any],
    *,
    query_fields: bool,
    inserts: bool = False,
    decltypes: list[str | None] | None = None,
) -> Response:
    """The response for a cursor with rows (its first ``max_rows + 1`` fetched as ``rows``):
    whole, or streamed when longer than max_rows.

    ``query_fields`` adds what ``POST /query`` answers besides columns and rows
    (types, rowcount, and lastrowid when the statement ``inserts``); so do
    ``decltypes``, when given. A streamed response takes the lease over and
    releases it when the last chunk is out.
    """
    settings = lease.settings
    max_rows = settings.max_rows
    columns = [description[0] for description in cursor.description]
    head: dict[str, Any] = {"columns": columns}
    if decltypes is not None:
        head["decltypes"] = decltypes
    if len(rows) <= max_rows:
        if not query_fields:  # a table select: the body is {"columns", "rows", "encoded"}
            rows_json, encoded = encode_rows(rows)
            columns_json = orjson.dumps(columns)
            body = b"".join((b'{"columns":', columns_json, b',"rows":', rows_json, _ENCODED[encoded]))
        else:
            types = ColumnTypes(len(columns))
            types.update(rows)
            head["types"] = types.names
            body = result_body(head, rows, _cursor_tail(cursor, True, inserts))
        cursor.close()
        if len(body) > settings.max_response_bytes:
            raise ApiError(
                "result_too_large",
                f"The result is larger than the server's limit of {settings.max_response_bytes} bytes"
                " (--max-response-bytes): select fewer or smaller values, or page with limit and offset",
            )
        return Response(200, body)
    lease.keep()

    def close() -> None:
        cursor.close()
        lease.release()

    chunks = _stream_rows(lease, cursor, head, rows, max_rows, query_fields, inserts)
    return Response(200, stream=Stream(_bounded(chunks, settings.max_stream_bytes), close, lease.abandon))


async def _bounded(chunks: AsyncGenerator[bytes, None], limit: int) -> AsyncIterator[bytes]:
    """``chunks`` while they add up to at most ``limit`` bytes; then an error line and ``StreamCut``."""
    sent = 0
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            sent += len(chunk)
            if sent > limit:
                error = {
                    "code": "result_too_large",
                    "message": f"The streamed result is larger than the server's limit of {limit} bytes"
                    " (--max-stream-bytes) and was cut: select fewer or smaller values, or page with"
                    " limit and offset",
                }
                yield b"\n" + orjson.dumps({"error": error}) + b"\n"
                raise StreamCut
            yield chunk


def _fetch(conn: sqlite3.Connection, cursor: sqlite3.Cursor, size: int) -> list[Any]:
    return cursor.fetchmany(size)


async def _stream_rows(
    lease: Lease,
    cursor: sqlite3.Cursor,
    head: dict[str, Any],
    first: list[Any],
    chunk_size: int,
    query_fields: bool,
    inserts: bool,
) -> AsyncGenerator[bytes, None]:
    # Types and "encoded" are only known at the end, so they follow the rows.
    types = ColumnTypes(len(head["columns"]))
    encoded = False
    yield orjson.dumps(head)[:-1] + b',"rows":[\n'
    rows = first
    separator = b""
    while rows:
        types.update(rows)
        rows_json, tagged = encode_rows(rows)
        encoded = encoded or tagged
        yield separator + rows_json[1:-1] + b"\n"
        separator = b","
        rows = await lease.run(_fetch, cursor, chunk_size)
    tail = _cursor_tail(cursor, query_fields, inserts)
    if query_fields:
        tail = {"types": types.names, **tail}
    tail["encoded"] = encoded
    yield b"]," + orjson.dumps(tail)[1:]
