"""The executor chain: how every Call of a connection reaches the server.

A link is a small callable wrapping the next one, like Django's
``execute_wrapper()`` and its middleware: it receives the Call, its
parameters and the transaction it runs in, does its one job before and
after, and returns what the next link returned (or answers by itself, as a
cache does on a hit). No link knows which links surround it; the order is
decided where the chain is built. The last link, ``RestCall``, turns the
Call into the client's REST request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from phantomdb import calls
from phantomdb.calls import Call
from phantomdb.client import PhantomDB, Result
from phantomdb.errors import ProgrammingError

__all__ = ["REST_ROUTES", "Execute", "Link", "RestCall", "build_chain"]

#: Parameter values of a statement (a batch: one sequence per run), never kept by a Call.
Params = Sequence[Any] | None


class Execute(Protocol):
    """Runs ``call`` with ``params`` in ``transaction`` (None: autocommit, or no transaction at all)."""

    def __call__(self, call: Call, params: Params, transaction: str | None) -> Result: ...


#: Builds a link around the next one: ``link(next_execute) -> execute``.
Link = Callable[[Execute], Execute]


def build_chain(links: Sequence[Link], last: Execute) -> Execute:
    """``links[0]`` outermost, ``last`` innermost."""
    execute = last
    for link in reversed(links):
        execute = link(execute)
    return execute


_NO_ROWS = Result(columns=())

_ROWS_ROUTE = "/databases/{db}/tables/{table}"
_TRANSACTION_ROUTE = "/transactions/{id}"
#: The REST request (method, route template) each operation makes; a select too
#: long for a URL goes as ``POST /databases/{db}/tables/{table}/select``.
REST_ROUTES: dict[str, tuple[str, str]] = {
    calls.SELECT: ("GET", _ROWS_ROUTE),
    calls.INSERT: ("POST", _ROWS_ROUTE),
    calls.UPDATE: ("PUT", _ROWS_ROUTE),
    calls.DELETE: ("DELETE", _ROWS_ROUTE),
    calls.QUERY: ("POST", "/databases/{db}/query"),
    calls.BATCH: ("POST", "/databases/{db}/query"),
    calls.BEGIN: ("POST", "/transactions"),
    calls.COMMIT: ("POST", _TRANSACTION_ROUTE + "/commit"),
    calls.ROLLBACK: ("POST", _TRANSACTION_ROUTE + "/rollback"),
    calls.SAVEPOINT: ("POST", _TRANSACTION_ROUTE + "/savepoints"),
    calls.RELEASE_SAVEPOINT: ("POST", _TRANSACTION_ROUTE + "/savepoints/{name}/release"),
    calls.ROLLBACK_TO_SAVEPOINT: ("POST", _TRANSACTION_ROUTE + "/savepoints/{name}/rollback"),
    calls.HEALTH: ("GET", "/health"),
    calls.CREATE_DATABASE: ("POST", "/databases"),
    calls.DROP_DATABASE: ("DELETE", "/databases/{db}"),
    calls.CLONE_DATABASE: ("POST", "/databases/{db}/clone"),
}


class RestCall:
    """The last link: a Call as the PhantomDB REST request it names, on one database."""

    def __init__(self, client: PhantomDB, database: str):
        self.client = client
        self.database = database
        self._senders: dict[str, Callable[[Call, Any, str | None], Result]] = {
            calls.SELECT: self._select,
            calls.INSERT: self._insert,
            calls.UPDATE: self._update,
            calls.DELETE: self._delete,
            calls.QUERY: self._query,
            calls.BATCH: self._batch,
            calls.BEGIN: self._begin,
            calls.COMMIT: self._commit,
            calls.ROLLBACK: self._rollback,
            calls.SAVEPOINT: self._savepoint,
            calls.RELEASE_SAVEPOINT: self._release_savepoint,
            calls.ROLLBACK_TO_SAVEPOINT: self._rollback_to_savepoint,
            calls.HEALTH: self._health,
            calls.CREATE_DATABASE: self._create_database,
            calls.DROP_DATABASE: self._drop_database,
            calls.CLONE_DATABASE: self._clone_database,
        }

    def __call__(self, call: Call, params: Params, transaction: str | None) -> Result:
        return self._senders[call.operation](call, params, transaction)

    def _select(self, call: Call, params: Params, transaction: str | None) -> Result:
        return self.client.select(
            self.database,
            _table(call),
            call.columns,
            call.condition,
            params,
            call.order_by,
            call.limit,
            call.offset,
            transaction,
            stream=call.stream,
        )

    def _insert(self, call: Call, params: Params, transaction: str | None) -> Result:
        # params hold the rows one after the other, in ``columns`` order.
        columns = call.columns
        width = len(columns)
        values = params or ()
        rows = [dict(zip(columns, values[i : i + width])) for i in range(0, len(values), width)]
        # One row travels as one object, as the REST API's single insert.
        body = rows[0] if len(rows) == 1 else rows
        return self.client.insert(self.database, _table(call), body, call.returning, transaction)

    def _update(self, call: Call, params: Params, transaction: str | None) -> Result:
        # params: each assignment's values in order, then the condition's.
        values = params or ()
        data: dict[str, Any] = {}
        expressions: dict[str, str] = {}
        expression_params: list[Any] = []
        position = 0
        for assignment in call.assignments:
            assigned = values[position : position + assignment.param_count]
            position += assignment.param_count
            if assignment.expression is None:
                data[assignment.column] = assigned[0]
            else:
                expressions[assignment.column] = assignment.expression
                expression_params.extend(assigned)
        rowcount = self.client.update(
            self.database,
            _table(call),
            data,
            call.condition,
            [*expression_params, *values[position:]],
            expressions,
            transaction,
        )
        return Result(columns=(), rowcount=rowcount)

    def _delete(self, call: Call, params: Params, transaction: str | None) -> Result:
        rowcount = self.client.delete(
            self.database, _table(call), call.condition, params, call.condition is None, transaction
        )
        return Result(columns=(), rowcount=rowcount)

    def _query(self, call: Call, params: Params, transaction: str | None) -> Result:
        return self.client.execute_query(
            self.database, call.query, params, transaction, stream=call.stream, decltypes=call.decltypes
        )

    def _batch(self, call: Call, params: Params, transaction: str | None) -> Result:
        return self.client.execute_batch(self.database, call.query, params or (), transaction)

    def _begin(self, call: Call, params: Params, transaction: str | None) -> Result:
        identifier = self.client.begin_transaction(self.database, foreign_keys=call.foreign_keys)
        return Result(columns=(), info={"id": identifier})

    def _commit(self, call: Call, params: Params, transaction: str | None) -> Result:
        self.client.commit_transaction(_required(transaction, call))
        return _NO_ROWS

    def _rollback(self, call: Call, params: Params, transaction: str | None) -> Result:
        self.client.rollback_transaction(_required(transaction, call))
        return _NO_ROWS

    def _savepoint(self, call: Call, params: Params, transaction: str | None) -> Result:
        self.client.savepoint(_required(transaction, call), _name(call))
        return _NO_ROWS

    def _release_savepoint(self, call: Call, params: Params, transaction: str | None) -> Result:
        self.client.release_savepoint(_required(transaction, call), _name(call))
        return _NO_ROWS

    def _rollback_to_savepoint(self, call: Call, params: Params, transaction: str | None) -> Result:
        self.client.rollback_to_savepoint(_required(transaction, call), _name(call))
        return _NO_ROWS

    def _health(self, call: Call, params: Params, transaction: str | None) -> Result:
        return Result(columns=(), info=self.client.health_check())

    def _create_database(self, call: Call, params: Params, transaction: str | None) -> Result:
        return Result(columns=(), info=self.client.create_database(_name(call)))

    def _drop_database(self, call: Call, params: Params, transaction: str | None) -> Result:
        self.client.drop_database(_name(call))
        return _NO_ROWS

    def _clone_database(self, call: Call, params: Params, transaction: str | None) -> Result:
        if call.source is None:
            raise ProgrammingError("A clone_database call must name the database it copies")
        return Result(columns=(), info=self.client.clone_database(call.source, _name(call)))


def _table(call: Call) -> str:
    if call.table is None:
        raise ProgrammingError(f"A {call.operation} call must name its table")
    return call.table


def _name(call: Call) -> str:
    if call.name is None:
        raise ProgrammingError(f"A {call.operation} call must name its savepoint or database")
    return call.name


def _required(transaction: str | None, call: Call) -> str:
    if transaction is None:
        raise ProgrammingError(f"{call.sql or call.operation} needs an open transaction")
    return transaction
