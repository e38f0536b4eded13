"""PhantomDBCursor: runs each Call as its REST call.

A statement the compiler translated arrives as ``TranslatedSQL`` carrying its
Call; anything else (raw SQL, DDL, ``connection.cursor()``) is a query call.
The cursor turns the Call and the statement's parameters into one client
request and keeps the result for Django's fetches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from phantomdb.client import Result
from phantomdb.dbapi import Cursor

from .calls import DELETE, INSERT, SELECT, UPDATE, Call, bind, query_call, to_qmark

logger = logging.getLogger("phantomdb_django")


class PhantomDBCursor(Cursor):
    """A PEP 249 cursor that speaks Django's ``%s`` paramstyle and table calls."""

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> PhantomDBCursor:
        self._check_open()
        self._reset()
        call = getattr(sql, "call", None) or query_call(sql)
        self._store(self._run(call, partial(self.send, call, params)))
        return self

    def executemany(self, sql: str, param_list: Iterable[Sequence[Any]]) -> PhantomDBCursor:
        self._check_open()
        self._reset()
        batch = [bind(sql, params) for params in param_list]
        query = batch[0][0] if batch else to_qmark(sql)
        connection = self.connection
        send = partial(
            connection.client.execute_batch, connection.database, query, [values for _, values in batch]
        )
        result = self._run(query_call(sql), send)
        self.rowcount = result.rowcount
        self.lastrowid = result.lastrowid
        return self

    def _run(self, call: Call, send: Callable[[str | None], Result]) -> Result:
        """Send one call in the transaction it belongs to; log its shape, never its values."""
        if not logger.isEnabledFor(logging.DEBUG):
            return self.connection.run(send)
        started = time.perf_counter()
        try:
            return self.connection.run(send)
        finally:
            logger.debug(
                "%s %s in %.2f ms: %s",
                call.operation,
                call.table or call.statement,
                (time.perf_counter() - started) * 1000,
                call.sql,
            )

    def send(
        self, call: Call, params: Sequence[Any] | Mapping[str, Any] | None, transaction: str | None
    ) -> Result:
        """Make the REST call a Call names, or send its SQL as a query."""
        connection = self.connection
        client = connection.client
        database = connection.database
        operation = call.operation
        if operation == SELECT:
            return client.select(
                database,
                call.table,
                call.columns,
                call.condition,
                params,
                call.order_by,
                call.limit,
                call.offset,
                transaction,
            )
        if operation == INSERT:
            width = len(call.columns)
            columns = call.columns
            rows = [dict(zip(columns, params[i : i + width])) for i in range(0, len(params), width)]
            # One row travels as one object, as the REST API's single insert.
            body = rows[0] if len(rows) == 1 else rows
            return client.insert(database, call.table, body, call.returning, transaction)
        if operation == UPDATE:
            data, expressions, expression_params, position = {}, {}, [], 0
            for assignment in call.assignments:
                values = params[position : position + assignment.param_count]
                position += assignment.param_count
                if assignment.expression is None:
                    data[assignment.column] = values[0]
                else:
                    expressions[assignment.column] = assignment.expression
                    expression_params.extend(values)
            rowcount = client.update(
                database,
                call.table,
                data,
                call.condition,
                [*expression_params, *params[position:]],
                expressions,
                transaction,
            )
            return Result(columns=[], types=[], rows=[], rowcount=rowcount, lastrowid=None)
        if operation == DELETE:
            rowcount = client.delete(
                database, call.table, call.condition, params, call.condition is None, transaction
            )
            return Result(columns=[], types=[], rows=[], rowcount=rowcount, lastrowid=None)
        sql, values = bind(call.sql, params)
        return client.execute_query(database, sql, values, transaction)
