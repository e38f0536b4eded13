"""The telemetry link: an OpenTelemetry CLIENT span and Prometheus metrics for every call.

It only reads the Call (what the statement is, which tables) and what the
call returned or raised; it never sees a parameter value, and it leaves the
call's result and errors exactly as they were. Transactions become spans
that contain their calls, from BEGIN to COMMIT or ROLLBACK.

With no OpenTelemetry SDK configured, no span is made at all (the check is
a read of the API's global, ``phantomdb.otel``), so telemetry costs the metrics
only: each call records into prometheus-client children bound once per call
shape and cache outcome (``metrics.recorder``), and into the Meter API's
instruments when a MeterProvider is configured (``meters.py``). A call's span is its
requests' ``traceparent`` (``propagation.py``), so PhantomDB Lite can
continue the trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, NamedTuple

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from phantomdb import calls
from phantomdb.calls import Call
from phantomdb.chain import REST_ROUTES, Execute, Params
from phantomdb.client import Result
from phantomdb.errors import ERROR_CODES
from phantomdb.otel import any_provider_set, configured_provider

from ..cache.link import BYPASS, HIT, CacheOutcome
from .meters import Instruments, otel_instruments
from .metrics import MULTIPROCESS, CacheSeries, Metrics, Record, recorder
from .propagation import outgoing_trace_context, trace_context_headers
from .settings import TelemetrySettings

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


@dataclass(slots=True)
class Series:
    """The metric children one Shape records into for one cache outcome and error type, bound once.

    Binding a child (``labels(...)``) costs more than the observation itself,
    so each is bound at the first call that needs it and reused after.
    """

    # db_client_operation_duration_seconds, db_client_response_returned_rows and, for a read,
    # phantomdb_cache_requests_total.
    record: Record
    # Whether ``record`` counts rows: a series is bound (again) by the first call that returned rows.
    with_rows: bool
    attributes: dict[str, Any]  # of the Meter API's measurements (meters.py)


@dataclass(slots=True)
class Shape:
    """What telemetry reports of one Call, worked out once per Call."""

    operation: str
    collection: str | None  # db.collection.name: set when the call is about one table
    collection_label: str  # the metrics label: the tables, comma separated
    summary: str  # db.query.summary, the span name
    attributes: dict[str, Any]
    reads_only: bool
    series: dict[tuple[str, str], Series] = field(default_factory=dict)


class Sdk(NamedTuple):
    """What the configured OpenTelemetry SDK takes from a call: spans, measurements (None: not these)."""

    tracer: Tracer | None
    instruments: Instruments | None


NO_SDK = Sdk(None, None)


@dataclass
class OpenTransaction:
    span: Any
    context: Any
    started: float


_sdk_tracer: Tracer | None = None


def sdk_tracer() -> Tracer | None:
    """The tracer of the configured SDK; None while OpenTelemetry has only its proxy (no span is made).

    Once there is one, spans start on it directly, not through the proxy.
    """
    global _sdk_tracer
    if _sdk_tracer is None:
        provider = configured_provider()
        if provider is not None:
            _sdk_tracer = provider.get_tracer("phantomdb_django")
    return _sdk_tracer


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
        cache_outcome: CacheOutcome | None,
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
        # What the cache did with the call (None: no cache, every call is a bypass).
        self.cache_outcome = cache_outcome
        # The outcome this link starts afresh for each call (a link inside the cache reads what
        # the cache said).
        self._resets_outcome = None if inside_cache else cache_outcome
        self._shapes = shapes
        self._transactions = transactions
        self._server_attributes: dict[str, Any] = {"server.address": server[0]}
        if server[1] is not None:
            self._server_attributes["server.port"] = server[1]
        self._cache_series: CacheSeries | None = None
        if metrics is not None:
            metrics.initialize(alias, with_cache=store is not None)
            if store is not None:
                self._cache_series = metrics.cache_series(alias, store)

    # -- one call ----------------------------------------------------------------------

    def __call__(self, call: Call, params: Params, transaction: str | None) -> Result:
        sdk = self._sdk() if any_provider_set() else NO_SDK
        if call.operation in calls.TRANSACTION_CONTROL:
            return self._transaction_control(call, params, transaction, sdk)
        context = None
        if sdk.tracer is not None and transaction is not None:
            open_transaction = self._transactions.get(transaction)
            context = open_transaction.context if open_transaction is not None else None
        return self._run(call, params, transaction, sdk, context)

    def _sdk(self) -> Sdk:
        return Sdk(
            sdk_tracer() if self.spans else None,
            otel_instruments(self.settings.buckets) if self.settings.otel_metrics else None,
        )

    def _run(self, call: Call, params: Params, transaction: str | None, sdk: Sdk, context: Any) -> Result:
        """The call, measured and, when tracing, in its span: the whole of it in one frame, since
        with no SDK the metrics are all telemetry costs a call."""
        shape = self._shapes.get(call) or self._shape(call)
        span = context_token = traceparent = None
        if sdk.tracer is not None:
            span, context_token, traceparent = self._start_span(sdk.tracer, shape, call, params, context)
        if (fresh_outcome := self._resets_outcome) is not None:
            fresh_outcome.value = BYPASS
        error: BaseException | None = None
        started = perf_counter()
        try:
            result = self.next_execute(call, params, transaction)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            duration = perf_counter() - started
            outcome = BYPASS if self.cache_outcome is None else self.cache_outcome.value
            if context_token is not None:
                outgoing_trace_context.reset(context_token)
            rows = error_type = None
            if error is not None:
                error_type = self._failed(span, outcome, error)
            elif result.columns and result.stream is None:  # a streamed result's rows come later
                rows = len(result.rows)
            if span is not None and error is None:
                self._end_span(span, outcome, rows)
            if self.metrics is not None:
                series = shape.series.get((outcome, error_type or ""))
                if series is None or (rows is not None and not series.with_rows):
                    series = self._bind(shape, outcome, error_type or "", with_rows=rows is not None)
                series.record(duration, rows, traceparent)
                if sdk.instruments is not None:
                    self._measure_otel(sdk.instruments, series, span, duration, rows)
                if self._cache_series is not None and shape.reads_only and outcome != HIT:
                    self._cache_series.update()  # a hit changes no count

    def _start_span(
        self, tracer: Tracer, shape: Shape, call: Call, params: Params, context: Any
    ) -> tuple[Any, Any, str | None]:
        """The call's span, its trace context set for the requests; the traceparent of its exemplar."""
        attributes = shape.attributes
        if call.operation == calls.BATCH and params is not None and len(params) >= 2:
            attributes = {**attributes, "db.operation.batch.size": len(params)}
        span = tracer.start_span(shape.summary, context=context, kind=SpanKind.CLIENT, attributes=attributes)
        span_context = span.get_span_context()
        headers = trace_context_headers(span_context)
        context_token = outgoing_trace_context.set(headers)
        traceparent = None
        if span_context.trace_flags.sampled and not MULTIPROCESS:
            traceparent = headers["traceparent"]  # the exemplar of this call's measurements
        return span, context_token, traceparent

    def _failed(self, span: Any, outcome: str, error: BaseException) -> str:
        """End the span of a call that raised ``error``, count a lost connection; the error's type."""
        code = getattr(error, "code", None)
        error_type = code or type(error).__qualname__
        if span is not None:
            if span.is_recording():
                if code:
                    span.set_attribute("db.response.status_code", code)
                span.set_attribute("error.type", error_type)
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, error_type))
            self._end_span(span, outcome, None)
        if self.metrics is not None and code and ERROR_CODES.get(code, (None,))[0] == 0:
            self.metrics.connection_errors.labels(self.alias, code).inc()
        return error_type

    def _end_span(self, span: Any, outcome: str, rows: int | None) -> None:
        """What is known once the call returned: an attribute set now costs the SDK about 10,000
        instructions, three times one given at the start."""
        if span.is_recording():
            if self.store is not None:  # without a cache every call is a bypass, said at the start
                span.set_attribute("phantomdb.cache", outcome)
            if rows is not None:
                span.set_attribute("db.response.returned_rows", rows)
        span.end()

    def _measure_otel(
        self, instruments: Instruments, series: Series, span: Any, duration: float, rows: int | None
    ) -> None:
        """The call through the Meter API too, the span as the measurements' context (the SDK's
        exemplars link to it)."""
        context = trace.set_span_in_context(span) if span is not None else None
        instruments.duration.record(duration, series.attributes, context)
        if rows is not None:
            instruments.returned_rows.record(rows, series.attributes, context)

    def _bind(self, shape: Shape, outcome: str, error_type: str, *, with_rows: bool) -> Series:
        metrics = self.metrics
        assert metrics is not None
        labels = (self.alias, self.database, shape.operation, shape.collection_label)
        record = recorder(
            metrics.duration.labels(*labels, outcome, error_type),
            metrics.returned_rows.labels(*labels) if with_rows else None,
            metrics.cache_requests.labels(self.alias, shape.collection_label, outcome)
            if shape.reads_only
            else None,
        )
        attributes = {
            "db.system.name": "phantomdb",
            "db.namespace": shape.attributes["db.namespace"],
            "db.operation.name": shape.operation,
            "db.query.summary": shape.summary,
            **self._server_attributes,
            "phantomdb.cache": outcome,
        }
        if shape.collection is not None:
            attributes["db.collection.name"] = shape.collection
        if error_type:
            attributes["error.type"] = error_type
            if error_type in ERROR_CODES:  # PhantomDB's own code, as on the span
                attributes["db.response.status_code"] = error_type
        series = shape.series[outcome, error_type] = Series(record, with_rows, attributes)
        return series

    # -- transactions --------------------------------------------------------------------

    def _transaction_control(self, call: Call, params: Params, transaction: str | None, sdk: Sdk) -> Result:
        """BEGIN opens a transaction span; COMMIT and ROLLBACK end it, with their outcome."""
        if call.operation == calls.BEGIN:
            return self._begin(call, params, sdk)
        open_transaction = self._transactions.get(transaction) if transaction is not None else None
        context = open_transaction.context if open_transaction is not None else None
        try:
            result = self._run(call, params, transaction, sdk, context)
        except BaseException:
            self._end_transaction(transaction, "error")
            raise
        self._end_transaction(transaction, _TRANSACTION_ENDS[call.operation])
        return result

    def _begin(self, call: Call, params: Params, sdk: Sdk) -> Result:
        """A transaction span (when tracing) that holds the BEGIN and every later call of it."""
        span = context = None
        if sdk.tracer is not None:
            span = sdk.tracer.start_span(
                "transaction", kind=SpanKind.INTERNAL, attributes=self._transaction_attributes()
            )
            context = trace.set_span_in_context(span)
        opened = OpenTransaction(span, context, perf_counter())
        try:
            result = self._run(call, params, None, sdk, context)
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
                perf_counter() - opened.started
            )

    # -- shapes --------------------------------------------------------------------------

    def _shape(self, call: Call) -> Shape:
        """The Shape of a Call met for the first time, kept for the next ones."""
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
        if self.store is None:
            attributes["phantomdb.cache"] = BYPASS
        return Shape(operation, collection, ",".join(tables), summary, attributes, call.reads_only)


def telemetry_link(**bound: Any) -> Callable[[Execute], CallTelemetry]:
    """A link factory for one connection: the shapes and open transactions outlive a rebuilt chain."""
    shapes: dict[Call, Shape] = {}
    transactions: dict[str, OpenTransaction] = {}

    def link(next_execute: Execute) -> CallTelemetry:
        return CallTelemetry(next_execute, shapes=shapes, transactions=transactions, **bound)

    return link
