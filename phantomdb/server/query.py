"""``POST /databases/{db}/query``: one statement of the PhantomDB dialect, or one statement in a batch.

Statements pass through ``dialect.translate_ddl`` (PhantomDB type names in
CREATE/ALTER TABLE). Transaction control is refused: transactions are
``POST /transactions``, and a ``BEGIN`` on a pooled connection would leak into
the next caller's calls. A PRAGMA that may change connection settings retires
its pooled connection.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from typing import Any

from phantomdb.server.decltypes import VIEWABLE, DeclaredTypes
from phantomdb.server.dialect import translate_ddl
from phantomdb.server.errors import ApiError
from phantomdb.server.leases import Lease
from phantomdb.server.messages import Request, Response, bool_field, invalid, json_response, text_field
from phantomdb.server.results import result_response
from phantomdb.server.storage import StorageConnection
from phantomdb.server.values import bind_params

# The first keyword, after any whitespace and comments, and a TO of ROLLBACK [TRANSACTION] TO.
_FIRST_WORD = re.compile(
    r"(?:\s+|--[^\n]*|/\*.*?\*/)*([A-Za-z]+)(?:\s+(?:TRANSACTION\s+)?(TO)\b)?", re.DOTALL | re.I
)
_PRAGMA_NAME = re.compile(r"\s*(?:\w+\s*\.\s*)?(\w+)\s*(=|\()?", re.I)
# PRAGMAs that only read, also when given an argument.
_READING_PRAGMAS = frozenset(
    {
        "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check", "database_list",
        "collation_list", "function_list", "module_list", "pragma_list", "compile_options",
        "page_count", "freelist_count", "data_version",
    }
)  # fmt: skip


def _first_keyword(sql: str, in_transaction: bool) -> tuple[str, int]:
    """The statement's first keyword, upper-cased, and where it ends; refuses transaction control."""
    match = _FIRST_WORD.match(sql)
    if match is None:
        return "", 0
    word = match.group(1).upper()
    if word in ("BEGIN", "COMMIT", "END") or (word == "ROLLBACK" and match.group(2) is None):
        raise ApiError(
            "not_supported",
            f"{word} is not run through /query: use POST /transactions and its commit and rollback calls",
        )
    if word in ("SAVEPOINT", "RELEASE", "ROLLBACK") and not in_transaction:
        raise ApiError("not_supported", f"{word} needs a transaction: POST /transactions first")
    return word, match.end(1)


def _may_change_settings(sql: str, after_pragma: int) -> bool:
    """Whether a PRAGMA statement may change the connection (anything but a known reading one)."""
    pragma = _PRAGMA_NAME.match(sql, after_pragma)
    return pragma is None or pragma.group(2) == "=" or pragma.group(1).lower() not in _READING_PRAGMAS


def _execute_batch(
    conn: sqlite3.Connection, sql: str, batch: list[list[Any]], inserts: bool
) -> tuple[int, Any]:
    """``executemany``, with the last parameter list run alone: after ``execute`` the cursor
    tells the rowid of the batch's last insert (``executemany`` does not), and clients may not
    call ``last_insert_rowid()``, so neither does the server."""
    cursor = conn.cursor()
    try:
        cursor.executemany(sql, batch[:-1])  # also refuses a statement that is not DML, as before
        rowcount = cursor.rowcount
        if batch:
            cursor.execute(sql, batch[-1])
            if cursor.description is not None:  # INSERT ... RETURNING: run it to the end
                cursor.fetchall()
            rowcount += cursor.rowcount
        # A pooled connection's last insert rowid may be another caller's: only inserts report it.
        return rowcount, cursor.lastrowid if inserts and rowcount > 0 else None
    finally:
        cursor.close()


def _execute(
    conn: StorageConnection, sql: str, params: list[Any], max_rows: int, declared: DeclaredTypes | None
) -> tuple[sqlite3.Cursor, Any, list[str | None] | None]:
    """Run the statement; return its cursor, its first ``max_rows + 1`` rows (None: no rows)
    and, when ``declared`` is given, its result columns' declared types."""
    cursor = conn.execute(sql, params)
    if cursor.description is None:
        return cursor, None, None
    rows = cursor.fetchmany(max_rows + 1)
    types = declared.of(conn, sql, len(cursor.description)) if declared is not None else None
    return cursor, rows, types


def _no_rows(rowcount: int, lastrowid: int | None) -> Response:
    return json_response(
        {"columns": [], "types": [], "rows": [], "rowcount": rowcount, "lastrowid": lastrowid}
    )


async def run_query(request: Request) -> Response:
    body = request.json_object()
    sql = text_field(body, "query", required=True)
    if not sql.strip():
        raise invalid("'query' is empty")
    if "params" in body and "batch" in body:
        raise invalid("Give 'params' or 'batch', not both")
    batch = body.get("batch")
    if batch is not None:
        if not isinstance(batch, list):
            raise invalid("'batch' must be a list of parameter lists")
        batch = [bind_params(params, "batch") for params in batch]
    sql = translate_ddl(sql)
    async with Lease(request) as lease:
        conn = lease.conn
        keyword, end = _first_keyword(sql, lease.transaction is not None)
        if keyword == "ATTACH":  # ATTACH '' (a scratch database) passes the authorizer, like VACUUM's
            raise ApiError("not_supported", "PhantomDB Lite does not attach databases (ATTACH)")
        if keyword == "PRAGMA" and _may_change_settings(sql, end):
            conn.dirty = True
        inserts = keyword in ("INSERT", "REPLACE")
        if batch is not None:
            rowcount, lastrowid = await lease.atomic(_execute_batch, sql, batch, inserts)
            return _no_rows(rowcount, lastrowid)
        asked = bool_field(body, "decltypes", False)
        declared = lease.pool.declared_types if asked and keyword in VIEWABLE else None
        # A SELECT changes nothing, so it may run twice (inline, then on a worker); the
        # declared types' temporary view would have to be undone.
        run = functools.partial(lease.read, sql) if keyword == "SELECT" and declared is None else lease.run
        cursor, rows, decltypes = await run(
            _execute, sql, bind_params(body.get("params")), lease.settings.max_rows, declared
        )
        if lease.transaction is None and conn.in_transaction:  # a BEGIN our check missed
            cursor.close()
            raise ApiError("not_supported", "Transactions begin with POST /transactions, not through /query")
        if rows is not None:
            if asked and decltypes is None:  # PRAGMA, RETURNING: SQLite's own answer for them is not read
                decltypes = [None] * len(cursor.description)
            return result_response(
                lease, cursor, rows, query_fields=True, inserts=inserts, decltypes=decltypes
            )
        rowcount = cursor.rowcount
        cursor.close()
    return _no_rows(rowcount, cursor.lastrowid if inserts and rowcount > 0 else None)
