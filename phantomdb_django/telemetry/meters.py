"""The call measurements through OpenTelemetry's Meter API too, when a MeterProvider is configured.

For users who export OTLP instead of being scraped: the semantic
conventions' ``db.client.operation.duration`` and
``db.client.response.returned_rows``, with the conventions' attributes and
``phantomdb.cache`` (never SQL or values). While no SDK set a MeterProvider
nothing is recorded, at the cost of a global's read (``phantomdb.otel``).
The ``phantomdb_*`` family stays Prometheus only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from opentelemetry.metrics import Histogram

from phantomdb.otel import configured_meter_provider

from .metrics import ROW_BUCKETS


@dataclass(frozen=True, slots=True)
class Instruments:
    duration: Histogram  # db.client.operation.duration
    returned_rows: Histogram  # db.client.response.returned_rows


_instruments: Instruments | None = None
_lock = threading.Lock()


def otel_instruments(buckets: tuple[float, ...]) -> Instruments | None:
    """The process's instruments on the configured MeterProvider; None while there is none."""
    global _instruments
    if _instruments is None and configured_meter_provider() is not None:
        with _lock:
            if _instruments is None:
                _instruments = _create(buckets)
    return _instruments


def _create(buckets: tuple[float, ...]) -> Instruments:
    provider = configured_meter_provider()
    assert provider is not None
    meter = provider.get_meter("phantomdb_django")
    return Instruments(
        meter.create_histogram(
            "db.client.operation.duration",
            unit="s",
            description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=buckets,
        ),
        meter.create_histogram(
            "db.client.response.returned_rows",
            unit="{row}",
            description="The actual number of records returned by the database operation.",
            explicit_bucket_boundaries_advisory=[float(bound) for bound in ROW_BUCKETS],
        ),
    )
