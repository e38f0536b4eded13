"""The Prometheus metrics of the backend: names and labels are the contract the dashboards use.

Labels are low-cardinality only: alias, database, operation, table, cache
result, error type; never SQL, ids or values. ``db_client_*`` follow the
OpenTelemetry database semantic conventions in Prometheus form; the
``phantomdb_*`` family takes the ``METRIC_PREFIX`` setting.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
import weakref
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from prometheus_client.samples import Exemplar
from prometheus_client.values import MutexValue

from phantomdb.errors import ERROR_CODES

from ..cache.store import post_invalidation

ROW_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000)
TRANSACTION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0)

#: prometheus-client's multiprocess mode (gunicorn) writes files and cannot carry exemplars.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class OperationMetrics:
    """The ``db_client_*`` histograms: one pair per process, whatever the prefix."""

    def __init__(self, buckets: tuple[float, ...]):
        self.buckets = buckets
        operation = ["alias", "db_namespace", "db_operation_name", "db_collection_name"]
        self.duration = Histogram(
            "db_client_operation_duration_seconds",
            "Duration of PhantomDB calls, cache hits included (OpenTelemetry db.client.operation.duration).",
            [*operation, "cache", "error_type"],
            buckets=buckets,
        )
        self.returned_rows = Histogram(
            "db_client_response_returned_rows",
            "Rows returned by PhantomDB calls (OpenTelemetry db.client.response.returned_rows).",
            operation,
            buckets=ROW_BUCKETS,
        )


class Metrics:
    """The metric families of one prefix, registered in prometheus-client's default registry."""

    def __init__(self, prefix: str, operations: OperationMetrics):
        self.prefix = prefix
        self.duration = operations.duration
        self.returned_rows = operations.returned_rows
        self.cache_requests = Counter(
            f"{prefix}_cache_requests",
            "Reads the query cache answered (hit), ran (miss) or passed by (bypass).",
            ["alias", "table", "result"],
        )
        self.cache_invalidations = Counter(
            f"{prefix}_cache_invalidations",
            "Tables whose cached reads were invalidated, by reason.",
            ["alias", "table", "reason"],
        )
        self.cache_entries = Gauge(
            f"{prefix}_cache_entries", "Entries in the query cache.", ["alias"], multiprocess_mode="livesum"
        )
        self.cache_evictions = Counter(
            f"{prefix}_cache_evictions", "Entries evicted to stay within MAXSIZE.", ["alias"]
        )
        self.cache_shared_errors = Counter(
            f"{prefix}_cache_shared_errors", "Failed calls to the shared generation store.", ["alias"]
        )
        self.transactions = Counter(
            f"{prefix}_transactions", "Transactions by outcome.", ["alias", "outcome"]
        )
        self.transaction_duration = Histogram(
            f"{prefix}_transaction_duration_seconds",
            "Transactions from BEGIN to COMMIT or ROLLBACK.",
            ["alias", "outcome"],
            buckets=TRANSACTION_BUCKETS,
        )
        self.connections_created = Counter(f"{prefix}_connections_created", "Connections opened.", ["alias"])
        self.connection_errors = Counter(
            f"{prefix}_connection_errors",
            "Calls that could not reach the server or lost it.",
            ["alias", "error_type"],
        )
        # Per query cache store (one per alias and process): its series, shared by every connection.
        self._cache_series: dict[Any, CacheSeries] = {}
        post_invalidation.connect(self._invalidated, weak=False)

    def initialize(self, alias: str, *, with_cache: bool) -> None:
        """Create the series of an alias at 0, so that dashboards and alerts see "none yet"."""
        for outcome in ("commit", "rollback", "error"):
            self.transactions.labels(alias, outcome)
        for code, (status, _) in ERROR_CODES.items():
            if status == 0:  # raised by the client: the server was not reached, or lost
                self.connection_errors.labels(alias, code)
        if with_cache:
            self.cache_evictions.labels(alias)
            self.cache_shared_errors.labels(alias)
            self.cache_entries.labels(alias)

    def cache_series(self, alias: str, store: Any) -> CacheSeries:
        """The cache series of ``store`` (the query cache of ``alias``), one per store and process."""
        with _lock:
            series = self._cache_series.get(store)
            if series is None:
                series = self._cache_series[store] = CacheSeries(self, alias, store)
            return series

    def _invalidated(
        self, sender: Any, alias: str, tables: tuple[str, ...] | None, reason: str, **kwargs: Any
    ) -> None:
        for table in tables or ("*",):
            self.cache_invalidations.labels(alias, table, reason).inc()


class CacheSeries:
    """``phantomdb_cache_entries``, ``_evictions_total`` and ``_shared_errors_total`` of one store.

    The store counts; these follow its counts, once per store however many
    connections update them (each connection counting the store's evictions
    since it opened would count them again). The entries gauge is read from
    the store when scraped; multiprocess mode, where another process reads
    the values, sets it at each update.
    """

    def __init__(self, metrics: Metrics, alias: str, store: Any):
        self.store = store
        self.entries = metrics.cache_entries.labels(alias)
        self.evictions = metrics.cache_evictions.labels(alias)
        self.shared_errors = metrics.cache_shared_errors.labels(alias)
        self._evictions_seen = self._shared_errors_seen = 0
        self._lock = threading.Lock()
        if not MULTIPROCESS:
            self.entries.set_function(lambda: store.counters()["entries"])

    def update(self) -> None:
        """Follow the store's counts (after a call that may have filled or evicted an entry)."""
        counts = self.store.counters()
        with self._lock:
            if MULTIPROCESS:
                self.entries.set(counts["entries"])
            if counts["evictions"] > self._evictions_seen:
                self.evictions.inc(counts["evictions"] - self._evictions_seen)
                self._evictions_seen = counts["evictions"]
            if counts["shared_errors"] > self._shared_errors_seen:
                self.shared_errors.inc(counts["shared_errors"] - self._shared_errors_seen)
                self._shared_errors_seen = counts["shared_errors"]


#: Records one call: its duration in seconds, the rows it returned (None: not known) and the
#: W3C ``traceparent`` of its sampled span (the duration's exemplar), or None.
Record = Callable[[float, "int | None", "str | None"], None]

#: Seconds between two exemplars of one bucket. Prometheus shows a
#: bucket's latest exemplar at each scrape (15 s or more apart), so one a second
#: loses nothing a dashboard could show, and spares most calls the exemplar's cost.
EXEMPLAR_INTERVAL = 1.0
#: When each bucket of a histogram child took its last exemplar (time.monotonic()).
_last_exemplars: weakref.WeakKeyDictionary[Any, list[float]] = weakref.WeakKeyDictionary()
#: Row counts below this find their bucket in a table, not by bisection (most calls return a few).
_SMALL_ROW_COUNTS = 128
#: Guards every value a recorder adds to (one lock a call, where prometheus-client takes five).
_values_lock = threading.Lock()


def exemplar_labels(traceparent: str) -> dict[str, str]:
    """An exemplar's labels: the trace and span ids a ``traceparent`` carries."""
    return {"trace_id": traceparent[3:35], "span_id": traceparent[36:52]}


def recorder(duration: Any, rows: Any | None, requests: Any | None) -> Record:
    """One call's measurements, for bound children: the ``duration`` and ``rows`` histograms'
    and the ``requests`` counter's (either None: not recorded).

    Every call records them, cache hits included, and prometheus-client's
    own ``observe`` and ``inc`` (five Python calls, five locks, checks of the
    child and the exemplar, a walk over the buckets) were most of what
    telemetry cost a call with no SDK. A bound child's storage is its
    ``_sum``, ``_buckets`` and ``_upper_bounds`` (a counter's: ``_value``),
    each a ``MutexValue`` in a single process: a float behind a lock of its
    own. These children are the telemetry link's alone, so a recorder adds
    to the floats under one lock for the whole call (a scrape reads a float,
    which needs none). An exemplar is always a trace_id and a span_id, well
    within OpenMetrics' limit, and taken at most once per bucket each
    ``EXEMPLAR_INTERVAL`` (shared by every recorder of the child:
    connections and threads alike). Multiprocess values (files) or another
    layout take prometheus-client's public methods, which keep every exemplar.
    """
    try:
        total, buckets, bounds = _storage(duration)
        row_total, row_buckets, row_bounds = _storage(rows) if rows is not None else (None, (), ())
        request_count = _single_process(requests._value)[0] if requests is not None else None
    except (AttributeError, TypeError):
        return functools.partial(_record_publicly, duration, rows, requests)
    with _lock:
        last_exemplar = _last_exemplars.setdefault(duration, [-math.inf] * len(buckets))
    small_row_counts = tuple(bisect_left(row_bounds, count) for count in range(_SMALL_ROW_COUNTS))
    acquire, release = _values_lock.acquire, _values_lock.release

    def record(seconds: float, returned: int | None, traceparent: str | None) -> None:
        index = bisect_left(bounds, seconds)  # the first bucket whose bound is >= seconds
        acquire()  # and release(), where ``with`` costs three times as much a call
        try:
            total._value += seconds
            buckets[index]._value += 1
            if returned is not None and row_total is not None:
                row_total._value += returned
                row_index = (
                    small_row_counts[returned]
                    if returned < _SMALL_ROW_COUNTS
                    else bisect_left(row_bounds, returned)
                )
                row_buckets[row_index]._value += 1
            if request_count is not None:
                request_count._value += 1
        finally:
            release()
        if traceparent is not None:
            now = time.monotonic()
            if now - last_exemplar[index] >= EXEMPLAR_INTERVAL:
                last_exemplar[index] = now
                buckets[index].set_exemplar(Exemplar(exemplar_labels(traceparent), seconds, time.time()))

    return record


def _storage(histogram: Any) -> tuple[MutexValue, tuple[MutexValue, ...], tuple[float, ...]]:
    """A bound histogram child's sum, buckets and bounds; TypeError unless all are MutexValues."""
    total, *buckets = _single_process(histogram._sum, *histogram._buckets)
    return total, tuple(buckets), tuple(histogram._upper_bounds)


def _single_process(*values: Any) -> tuple[MutexValue, ...]:
    if not all(type(value) is MutexValue for value in values):
        raise TypeError("not prometheus-client's single-process values")
    return values


def _record_publicly(
    duration: Any,
    rows: Any | None,
    requests: Any | None,
    seconds: float,
    returned: int | None,
    traceparent: str | None,
) -> None:
    duration.observe(seconds, exemplar_labels(traceparent) if traceparent is not None else None)
    if returned is not None and rows is not None:
        rows.observe(returned)
    if requests is not None:
        requests.inc()


_operations: list[OperationMetrics] = []
_metrics: dict[str, Metrics] = {}
_lock = threading.Lock()


def metrics_for(prefix: str, buckets: tuple[float, ...]) -> Metrics:
    """The process's metric families; each created once (a metric name is registered only once)."""
    with _lock:
        if not _operations:
            _operations.append(OperationMetrics(buckets))
        if _operations[0].buckets != buckets:
            raise ImproperlyConfigured(
                "OPTIONS['TELEMETRY']['BUCKETS'] must be the same for every database alias of a process: "
                "they share the db_client_operation_duration_seconds histogram."
            )
        metrics = _metrics.get(prefix)
        if metrics is None:
            metrics = _metrics[prefix] = Metrics(prefix, _operations[0])
        return metrics


def count_connection(wrapper: Any) -> None:
    """``phantomdb_connections_created_total`` of a new connection of ``wrapper`` (when metrics are on)."""
    from .settings import parse_telemetry_settings

    telemetry = parse_telemetry_settings(wrapper.alias, wrapper.settings_dict["OPTIONS"].get("TELEMETRY"))
    if telemetry.metrics:
        metrics_for(telemetry.metric_prefix, telemetry.buckets).connections_created.labels(
            wrapper.alias
        ).inc()


_serving: set[int] = set()


def serve_metrics(port: int) -> None:
    """Serve the default registry on ``port`` (``METRICS_PORT``), once per process."""
    with _lock:
        if port not in _serving:
            start_http_server(port)
            _serving.add(port)
