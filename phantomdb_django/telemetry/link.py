"""The telemetry link: an OpenTelemetry CLIENT span and Prometheus metrics for every call.

It only reads the Call (what the statement is, which tables) and what the
call returned or raised; it never sees a parameter value, and it leaves the
call's result and errors exactly as they were. Transactions become spans
that contain their calls, from BEGIN to COMMIT or ROLLBACK.

With no OpenTelemetry SDK configured, no span is made at all (the check is
one isinstance per call), so telemetry costs the metrics only. A call's span
is its requests' ``traceparent`` (``propagation.py``), so PhantomDB Lite can
continue the trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider, SpanKind, Status, StatusCode

from phantomdb import calls
from phantomdb.calls import Call
from phantomdb.chain import REST_ROUTES, Execute, Params
from phantomdb.client import Result
from phantomdb.errors import ERROR_CODES

from ..cache.link import BYPASS, HIT, cache_outcome
from .metrics import MULTIPROCESS, Metrics
from .propagation import outgoing_trace_context, trace_context_headers
from .settings import TelemetrySettings

_tracer = trace.get_tracer("phantomdb_django")

_TRANSACTION_ENDS = {calls.COMMIT: "commit", calls.ROLLBACK: "rollback"}

_OPERATION_NAMES = {
    calls.BEGIN: "BEGIN",
    calls.COMMIT: "COMMIT",
    calls.ROLLBACK: "ROLLBACK",
    calls.SAVEPOINT: "SAVEPOINT",
    calls.RELEASE_SAVEPOINT: "RELEASE SAVEPOINT",
    calls.ROLLBACK_TO_SAVEPOINT: "ROLLBACK TO SAVEPOINT",
    calls.HEALTH: "HEALTH",
    calls.CREATE_DATABASE: "CREATE DATABASE",
    calls.DROP_DATABASE: "DROP DATABASE",
    calls.CLONE_DATABASE: "CLONE DATABASE",
}


def operation_name(call: Call) -> str:
    """``db.operation.name``: the SQL keyword, ``BATCH <keyword>`` for a batch."""
    name = _OPERATION_NAMES.get(call.operation)
    if name is not None:
        return name
    if call.operation == calls.BATCH:
        return f"BATCH {call.statement}".rstrip()
    return call.statement or call.operation.upper()


def tables_of(call: Call) -> tuple[str, ...]:
    """The tables a call is about, sorted: those it writes, else those it reads (none when unknown)."""
    tables = call.tables_written if call.writes else call.tables_read
    return tuple(sorted(tables)) if tables else ()


@dataclass(frozen=True, slots=True)
class Shape:
    """What telemetry reports of one Call, worked out once per Call."""

    operation: str
    collection: str | None  # db.collection.name: set when the call is about one table
    collection_label: str  # the metrics label: the tables, comma separated
    summary: str  # db.query.summary, the span name
    attributes: dict[str, Any]
    # prometheus-client children bound to this shape's labels, by what else they need.
    bound: dict[Any, Any] = field(default_factory=dict)


@dataclass
class OpenTransaction:
    span: Any
    context: Any
    started: float


class CallTelemetry:
    def __init__(
        self,
        next_execute: Execute,
        *,
        alias: str,
        database: str,
        server: tuple[str, int | None],
        settings: TelemetrySettings,
        metrics: Metrics | None,
        spans: bool,
        inside_cache: bool = False,
        store: Any,
        shapes: dict[Call, Shape],
        transactions: dict[str, OpenTransaction],
    ):
        self.next_execute = next_execute
        self.alias = alias
        self.database = database
        self.settings = settings
        self.metrics = metrics
        self.spans = spans
        # Placed after the cache (hit spans off): the cache has already said what it did.
        self.inside_cache = inside_cache
        self.store = store
        self._shapes = shapes
        self._transactions = transactions
        self._server_attributes: dict[str, Any] = {"server.address": server[0]}
        if server[1] is not None:
            self._server_attributes["server.port"] = server[1]
        self._evictions_seen = 0
        self._shared_errors_seen = 0
        if metrics is not None:
            metrics.initialize(alias, with_cache=store is not None)

    # -- one call ----------------------------------------------------------------------

    def __call__(self, call: Call, params: Params, transaction: str | None) -> Result:
        tracing = self.spans and not isinstance(trace.get_tracer_provider(), ProxyTracerProvider)
        if call.operation == calls.BEGIN:
            return self._begin(call, params, tracing)
        open_transaction = self._transactions.get(transaction) if transaction is not None else None
        context = open_transaction.context if open_transaction is not None else None
        try:
            result = self._run(call, params, transaction, tracing, context)
        except BaseException:
            if call.operation in _TRANSACTION_ENDS:
                self._end_transaction(transaction, "error")
            raise
        if call.operation in _TRANSACTION_ENDS:
            self._end_transaction(transaction, _TRANSACTION_ENDS[call.operation])
        return result

    def _run(
        self, call: Call, params: Params, transaction: str | None, tracing: bool, context: Any
    ) -> Result:
        shape = self._shape(call)
        span = None
        if tracing:
            span = _tracer.start_span(
                shape.summary, context=context, kind=SpanKind.CLIENT, attributes=shape.attributes
            )
        outcome_token = None if self.inside_cache else cache_outcome.set(BYPASS)
        context_token = (
            None
            if span is None
            else outgoing_trace_context.set(trace_context_headers(span.get_span_context()))
        )
        started = time.perf_counter()
        try:
            result = self.next_execute(call, params, transaction)
        except BaseException as exc:
            self._finished(
                call, shape, span, time.perf_counter() - started, cache_outcome.get(), None, exc, params
            )
            raise
        finally:
            outcome = cache_outcome.get()
            if outcome_token is not None:
                cache_outcome.reset(outcome_token)
            if context_token is not None:
                outgoing_trace_context.reset(context_token)
        self._finished(call, shape, span, time.perf_counter() - started, outcome, result, None, params)
        return result

    def _finished(
        self,
        call: Call,
        shape: Shape,
        span: Any,
        duration: float,
        outcome: str,
        result: Result | None,
        error: BaseException | None,
        params: Params,
    ) -> None:
        code = getattr(error, "code", None) if error is not None else None
        error_type = "" if error is None else (code or type(error).__qualname__)
        # A streamed result's rows are not known yet when its call returns.
        rows = len(result.rows) if result is not None and result.columns and result.stream is None else None
        if span is not None:
            if span.is_recording():
                span.set_attribute("phantomdb.cache", outcome)
                if rows is not None:
                    span.set_attribute("db.response.returned_rows", rows)
                if call.operation == calls.BATCH and params is not None and len(params) >= 2:
                    span.set_attribute("db.operation.batch.size", len(params))
                if error is not None:
                    if code:
                        span.set_attribute("db.response.status_code", code)
                    span.set_attribute("error.type", error_type)
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, error_type))
            span.end()
        metrics = self.metrics
        if metrics is None:
            return
        exemplar = None
        if span is not None and not MULTIPROCESS:
            context = span.get_span_context()
            if context.trace_flags.sampled:
                exemplar = {
                    "trace_id": format(context.trace_id, "032x"),
                    "span_id": format(context.span_id, "016x"),
                }
        bound = shape.bound
        key = (outcome, error_type)
        duration_child = bound.get(key)
        if duration_child is None:
            duration_child = bound[key] = metrics.duration.labels(
                self.alias, self.database, shape.operation, shape.collection_label, outcome, error_type
            )
        duration_child.observe(duration, exemplar)
        if rows is not None:
            rows_child = bound.get("rows")
            if rows_child is None:
                rows_child = bound["rows"] = metrics.returned_rows.labels(
                    self.alias, self.database, shape.operation, shape.collection_label
                )
            rows_child.observe(rows)
        if call.reads_only:
            requests_child = bound.get(outcome)
            if requests_child is None:
                requests_child = bound[outcome] = metrics.cache_requests.labels(
                    self.alias, shape.collection_label, outcome
                )
            requests_child.inc()
            if outcome != HIT:  # a hit changes no count of the cache
                self._cache_gauges()
        if error is not None and code and ERROR_CODES.get(code, (None,))[0] == 0:
            metrics.connection_errors.labels(self.alias, code).inc()

    def _cache_gauges(self) -> None:
        store, metrics = self.store, self.metrics
        if store is None or metrics is None:
            return
        stats = store.counters()
        metrics.cache_entries.labels(self.alias).set(stats["entries"])
        if stats["evictions"] > self._evictions_seen:
            metrics.cache_evictions.labels(self.alias).inc(stats["evictions"] - self._evictions_seen)
            self._evictions_seen = stats["evictions"]
        if stats["shared_errors"] > self._shared_errors_seen:
            metrics.cache_shared_errors.labels(self.alias).inc(
                stats["shared_errors"] - self._shared_errors_seen
            )
            self._shared_errors_seen = stats["shared_errors"]

    # -- transactions --------------------------------------------------------------------

    def _begin(self, call: Call, params: Params, tracing: bool) -> Result:
        """A transaction span (when tracing) that holds the BEGIN and every later call of it."""
        span = context = None
        if tracing:
            span = _tracer.start_span(
                "transaction", kind=SpanKind.INTERNAL, attributes=self._transaction_attributes()
            )
            context = trace.set_span_in_context(span)
        opened = OpenTransaction(span, context, time.perf_counter())
        try:
            result = self._run(call, params, None, tracing, context)
        except BaseException:
            self._close(opened, "error")
            raise
        if result.info and "id" in result.info:
            self._transactions[result.info["id"]] = opened
        return result

    def _transaction_attributes(self) -> dict[str, Any]:
        return {"db.system.name": "phantomdb", "db.namespace": self.database, **self._server_attributes}

    def _end_transaction(self, transaction: str | None, outcome: str) -> None:
        opened = self._transactions.pop(transaction, None) if transaction is not None else None
        if opened is not None:
            self._close(opened, outcome)

    def _close(self, opened: OpenTransaction, outcome: str) -> None:
        """End a transaction's span and count it: ``commit``, ``rollback`` or ``error``."""
        if opened.span is not None:
            opened.span.set_attribute("phantomdb.transaction.outcome", outcome)
            if outcome == "error":
                opened.span.set_status(Status(StatusCode.ERROR, "the transaction did not end cleanly"))
            opened.span.end()
        if self.metrics is not None:
            self.metrics.transactions.labels(self.alias, outcome).inc()
            self.metrics.transaction_duration.labels(self.alias, outcome).observe(
                time.perf_counter() - opened.started
            )

    # -- shapes --------------------------------------------------------------------------

    def _shape(self, call: Call) -> Shape:
        shape = self._shapes.get(call)
        if shape is None:
            shape = self._shapes[call] = self._new_shape(call)
        return shape

    def _new_shape(self, call: Call) -> Shape:
        operation = operation_name(call)
        tables = (call.table,) if call.table else tables_of(call)
        collection = tables[0] if len(tables) == 1 else None
        summary = " ".join((operation, *tables)) if call.operation in calls.STATEMENTS else operation
        method, route = REST_ROUTES[call.operation]
        attributes: dict[str, Any] = {
            "db.system.name": "phantomdb",
            "db.namespace": call.name
            if call.operation in calls.SERVER_CALLS and call.name
            else self.database,
            "db.operation.name": operation,
            "db.query.summary": summary,
            "http.request.method": method,
            "url.template": route,
            **self._server_attributes,
        }
        if collection is not None:
            attributes["db.collection.name"] = collection
        if self.settings.query_text and call.sql and call.operation in calls.STATEMENTS:
            attributes["db.query.text"] = call.sql
        return Shape(operation, collection, ",".join(tables), summary, attributes)


def telemetry_link(**bound: Any) -> Callable[[Execute], CallTelemetry]:
    """A link factory for one connection: the shapes and open transactions outlive a rebuilt chain."""
    shapes: dict[Call, Shape] = {}
    transactions: dict[str, OpenTransaction] = {}

    def link(next_execute: Execute) -> CallTelemetry:
        return CallTelemetry(next_execute, shapes=shapes, transactions=transactions, **bound)

    return link
