"""Handlers of the row calls: select, insert, update and delete on one table.

SQL is built here with quoted identifiers; values travel only as parameters.
Client fragments (condition, order_by, update expressions) go through
``fragments``: a select runs under a ``FragmentGuard``; an update or delete
first prepares the same fragments as a ``SELECT ... LIMIT 0`` probe under the
guard, then runs unguarded, because SQLite's foreign key actions and triggers
legitimately touch other tables.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from typing import Any

from phantomdb.server.errors import ApiError
from phantomdb.server.fragments import FragmentGuard, check_fragment, quote
from phantomdb.server.leases import Lease
from phantomdb.server.messages import (
    Request,
    Response,
    count_field,
    invalid,
    json_list,
    json_response,
    list_field,
    object_field,
    query_text,
    string_list,
    text_field,
)
from phantomdb.server.results import result_body, result_response
from phantomdb.server.storage import Pool
from phantomdb.server.values import bind_params, bind_values


def _where(condition: str | None) -> str:
    # Newlines end any -- comment inside the condition before our own SQL resumes.
    return "" if condition is None else f" WHERE (\n{check_fragment(condition, 'condition')}\n)"


# Select ---------------------------------------------------------------------


@dataclass
class Selection:
    """What a select asks for, from the query string (GET) or a JSON body (POST .../select)."""

    columns: list[str]
    condition: str | None
    params: list[Any]
    order_by: str | None
    limit: int | None
    offset: int | None

    def sql(self, table: str) -> tuple[str, list[Any]]:
        paging = self.paging()
        try:
            sql = _select_sql(table, tuple(self.columns), self.condition, self.order_by, bool(paging))
        except ApiError:
            return self._build(table)  # raises what the checks find, in their order
        params = bind_params(self.params)
        params += paging
        return sql, params

    def paging(self) -> list[int]:
        """The values of the statement's ``LIMIT ? OFFSET ?``, none without limit and offset."""
        if self.limit is None and self.offset is None:
            return []
        return [-1 if self.limit is None else self.limit, self.offset or 0]

    def _build(self, table: str) -> tuple[str, list[Any]]:
        columns = ", ".join(map(quote, self.columns)) if self.columns else "*"
        sql = f"SELECT {columns} FROM {quote(table)}{_where(self.condition)}"
        params = bind_params(self.params)
        if self.order_by is not None:
            sql += f" ORDER BY \n{check_fragment(self.order_by, 'ordering')}\n"
        if self.limit is not None or self.offset is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [-1 if self.limit is None else self.limit, self.offset or 0]
        return sql, params


@functools.lru_cache(maxsize=1024)
def _select_sql(
    table: str, columns: tuple[str, ...], condition: str | None, order_by: str | None, paged: bool
) -> str:
    """The SQL of a select; the same for every run of one statement, so cached."""
    names = ", ".join(map(quote, columns)) if columns else "*"
    sql = f"SELECT {names} FROM {quote(table)}{_where(condition)}"
    if order_by is not None:
        sql += f" ORDER BY \n{check_fragment(order_by, 'ordering')}\n"
    if paged:
        sql += " LIMIT ? OFFSET ?"
    return sql


# (table, query string before its last params) -> (SQL, paging values) of selects
# that ran before. A client sends the same query string but for the params on
# every run of one statement: the SQL is already built and its fragments checked.
_PLANS: dict[tuple[str, bytes], tuple[str, list[int]]] = {}
_PLANS_LIMIT = 1024
_LAST_PARAMS = b"&params="


async def select_rows(request: Request) -> Response:
    table = request.params["table"]
    head, found, tail = request.query_string.rpartition(_LAST_PARAMS)
    key = (table, head) if found and b"&" not in tail else None
    plan = _PLANS.get(key) if key is not None else None  # type: ignore[arg-type]
    if plan is not None:  # only the params are new; they are checked as below
        sql, paging = plan
        params = bind_params(json_list("params", query_text(tail)) or [])
        params += paging
        return await _select(request, table, sql, params)
    selection = Selection(
        columns=request.query.get("columns", []),
        condition=request.query_value("condition"),
        params=request.query_json_list("params") or [],
        order_by=request.query_value("order_by"),
        limit=request.query_int("limit"),
        offset=request.query_int("offset"),
    )
    sql, params = selection.sql(table)
    if key is not None:
        if len(_PLANS) >= _PLANS_LIMIT:
            _PLANS.clear()
        _PLANS[key] = (sql, selection.paging())
    return await _select(request, table, sql, params)


async def select_rows_from_body(request: Request) -> Response:
    body = request.json_object()
    selection = Selection(
        columns=string_list(list_field(body, "columns"), "columns"),
        condition=text_field(body, "condition"),
        params=list_field(body, "params") or [],
        order_by=text_field(body, "order_by"),
        limit=count_field(body, "limit"),
        offset=count_field(body, "offset"),
    )
    table = request.params["table"]
    sql, params = selection.sql(table)
    return await _select(request, table, sql, params)


def _guarded_select(
    conn: sqlite3.Connection, guard: FragmentGuard, sql: str, params: list[Any], max_rows: int
) -> tuple[sqlite3.Cursor, list[Any]]:
    cursor = guard.execute(conn, sql, params)
    return cursor, cursor.fetchmany(max_rows + 1)


async def _select(request: Request, table: str, sql: str, params: list[Any]) -> Response:
    guard = FragmentGuard(table, "condition or ordering")
    async with Lease(request) as lease:
        cursor, rows = await lease.read(sql, _guarded_select, guard, sql, params, lease.settings.max_rows)
        return result_response(lease, cursor, rows, query_fields=False)


# Insert ---------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _insert_statement(
    table: str, columns: tuple[str, ...], returning: tuple[str, ...], count: int = 1
) -> str:
    """An INSERT of ``count`` rows of ``columns`` (multi-row VALUES: one statement, one step)."""
    if columns:
        names = ", ".join(map(quote, columns))
        row = f"({', '.join('?' * len(columns))})"
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES {', '.join([row] * count)}"
    else:
        sql = f"INSERT INTO {quote(table)} DEFAULT VALUES"
    if returning:
        sql += " RETURNING " + ", ".join(map(quote, returning))
    return sql


def _insert(
    conn: sqlite3.Connection,
    pool: Pool,
    table: str,
    returning: list[str] | None,
    rows: list[dict[str, Any]],
    values: list[Any],
) -> tuple[list[Any], int, Any, list[str]]:
    """Run the inserts in order; return the returned rows, the rowcount, the last rowid and the
    returned columns (the primary key unless the call named them).

    ``values`` are the rows' values one row after the other, bound already.
    Consecutive rows with the same columns (a bulk insert's) go as multi-row
    INSERTs, as many rows each as SQLite's limit on ``?`` allows; RETURNING
    gives their rows in insertion order, as Django's sqlite3 backend relies on.
    No object per row outlives its statement (ten thousand of them would wake
    the garbage collector's full passes).
    """
    if returning is None:
        returning = pool.primary_key(conn, table)
    returned_columns = tuple(returning)
    most_values = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    returned: list[Any] = []
    rowcount = 0
    lastrowid = None
    start = offset = 0
    while start < len(rows):
        columns = tuple(rows[start])
        end = start + 1
        if columns:
            most = start + max(1, most_values // len(columns))
            while end < len(rows) and end < most and tuple(rows[end]) == columns:
                end += 1
        count = (end - start) * len(columns)
        statement = _insert_statement(table, columns, returned_columns, end - start)
        cursor = conn.execute(statement, values[offset : offset + count])
        offset += count
        returned += cursor.fetchall()
        rowcount += cursor.rowcount
        lastrowid = cursor.lastrowid
        start = end
    return returned, rowcount, lastrowid, returning


async def insert_rows(request: Request) -> Response:
    body = request.json()
    rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list) or not rows or not all(isinstance(row, dict) for row in rows):
        raise invalid("The body must be a row (an object of column -> value) or a non-empty list of rows")
    table = request.params["table"]
    # Every value checked before anything is written, into one list (not one per row).
    values = bind_values(value for row in rows for value in row.values())
    async with Lease(request) as lease:
        run = lease.run if len(rows) == 1 else lease.atomic
        returned, rowcount, lastrowid, returning = await run(
            _insert, lease.pool, table, request.query.get("returning"), rows, values
        )
    body_bytes = result_body({"rowcount": rowcount, "columns": returning}, returned, {"lastrowid": lastrowid})
    return Response(201, body_bytes)


# Update and delete ------------------------------------------------------------


def _probe_and_run(
    conn: sqlite3.Connection,
    guard: FragmentGuard,
    probe: str | None,
    probe_params: list[Any],
    sql: str,
    params: list[Any],
) -> int:
    if probe is not None:
        guard.execute(conn, probe, probe_params).close()
    cursor = conn.execute(sql, params)
    rowcount = cursor.rowcount
    cursor.close()
    return rowcount


@functools.lru_cache(maxsize=1024)
def _update_statements(
    table: str, columns: tuple[str, ...], expressions: tuple[tuple[str, str], ...], condition: str | None
) -> tuple[str, str | None]:
    """The UPDATE and the probe that checks its fragments; the same on every run of one statement."""
    where = _where(condition)
    sets = [f"{quote(column)} = ?" for column in columns]
    sets += [f"{quote(column)} = (\n{check_fragment(sql, 'expression')}\n)" for column, sql in expressions]
    sql = f"UPDATE {quote(table)} SET {', '.join(sets)}{where}"
    probe = None
    if expressions or where:
        probed = ", ".join(f"(\n{expression}\n)" for _, expression in expressions) or "1"
        probe = f"SELECT {probed} FROM {quote(table)}{where} LIMIT 0"
    return sql, probe


async def update_rows(request: Request) -> Response:
    body = request.json_object()
    data = object_field(body, "data") or {}
    expressions = object_field(body, "expressions") or {}
    condition = text_field(body, "condition")
    params = bind_params(body.get("params"))
    if not data and not expressions:
        raise invalid("An update needs 'data' or 'expressions'")
    if both := data.keys() & expressions.keys():
        raise invalid(f"Column '{sorted(both)[0]}' is in both 'data' and 'expressions'")
    if not all(isinstance(expression, str) for expression in expressions.values()):
        raise invalid("'expressions' must map columns to SQL expressions (strings)")
    table = request.params["table"]
    sql, probe = _update_statements(table, tuple(data), tuple(expressions.items()), condition)
    guard = FragmentGuard(table, "condition or expression")
    async with Lease(request) as lease:
        rowcount = await lease.run(
            _probe_and_run, guard, probe, params, sql, bind_values(data.values()) + params
        )
    return json_response({"rowcount": rowcount})


async def delete_rows(request: Request) -> Response:
    condition = request.query_value("condition")
    delete_all = request.query_bool("all")
    params = request.query_json_list("params") or []
    if condition is None and not delete_all:
        raise ApiError(
            "unconditional_delete",
            "A delete without a condition would empty the table: pass all=true to mean that",
        )
    table = request.params["table"]
    where = _where(condition)
    probe = f"SELECT 1 FROM {quote(table)}{where} LIMIT 0" if where else None
    params = bind_params(params)
    guard = FragmentGuard(table, "condition")
    async with Lease(request) as lease:
        rowcount = await lease.run(
            _probe_and_run, guard, probe, params, f"DELETE FROM {quote(table)}{where}", params
        )
    return json_response({"rowcount": rowcount})
