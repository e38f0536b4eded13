"""PhantomDB Lite's own Prometheus metrics, in a registry of their own.

The registry is not prometheus-client's global one: when the server runs
embedded, the Django backend registers its metrics in the same process, and
two servers in one process must not collide either. Label children are bound
once and reused: binding costs more than the increment itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Point calls take a few hundred microseconds; streamed results take seconds.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The text format every Prometheus reads (newer prometheus-client would announce 1.0.0
# for the same bytes, since these metric names need no escaping).
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Request counts and durations by route template, open transactions, lock waits."""

    def __init__(self, routes: Iterable[str]):
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "phantomdb_http_requests",
            "HTTP requests served by PhantomDB Lite, by route template, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self._duration = Histogram(
            "phantomdb_http_request_duration_seconds",
            "Time PhantomDB Lite took to answer an HTTP request, by route template.",
            ("route",),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.open_transactions = Gauge(
            "phantomdb_open_transactions",
            "Transactions begun and not yet committed, rolled back or expired.",
            registry=self.registry,
        )
        self.lock_waits = Counter(
            "phantomdb_lock_waits",
            "Writes that found their database's write lock taken and waited for it.",
            registry=self.registry,
        )
        self.lock_wait_seconds = Histogram(
            "phantomdb_lock_wait_seconds",
            "How long a write waited for its database's write lock (until it got it or gave up).",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._durations = {route: self._duration.labels(route) for route in routes}
        self._counters: dict[tuple[str, str, int], Counter] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request; ``route`` is a template or ``unmatched``."""
        key = (route, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self._requests.labels(route, method, str(status))
        counter.inc()
        duration = self._durations.get(route)
        if duration is None:
            duration = self._durations[route] = self._duration.labels(route)
        duration.observe(seconds)

    def waited_for_lock(self, seconds: float) -> None:
        self.lock_waits.inc()
        self.lock_wait_seconds.observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric above."""
        return generate_latest(self.registry)
