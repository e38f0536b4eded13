"""``DATABASES[alias]["OPTIONS"]["TELEMETRY"]``: what the backend traces and measures, checked once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..options import checked_flag, checked_options

# OpenTelemetry's advice for db.client.operation.duration, with finer buckets
# below 1 ms so that cache hits show in the histogram.
DEFAULT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)


@dataclass(frozen=True)
class TelemetrySettings:
    tracing: bool = True
    metrics: bool = True
    otel_metrics: bool = True
    query_text: bool = True
    cache_hit_spans: bool = True
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    metric_prefix: str = "phantomdb"
    metrics_port: int | None = None


_FLAGS = {
    "TRACING": "tracing",
    "METRICS": "metrics",
    "OTEL_METRICS": "otel_metrics",
    "QUERY_TEXT": "query_text",
    "CACHE_HIT_SPANS": "cache_hit_spans",
}
KNOWN = frozenset({*_FLAGS, "BUCKETS", "METRIC_PREFIX", "METRICS_PORT"})


def parse_telemetry_settings(alias: str, options: Mapping[str, Any] | None) -> TelemetrySettings:
    """The TelemetrySettings of ``DATABASES[alias]["OPTIONS"]["TELEMETRY"]`` (None: the defaults)."""
    where, options = checked_options(alias, "TELEMETRY", options, KNOWN)
    values: dict[str, Any] = {}
    for key, name in _FLAGS.items():
        if key in options:
            values[name] = checked_flag(f"{where}[{key!r}]", options[key])
    if "BUCKETS" in options:
        buckets = options["BUCKETS"]
        if (
            isinstance(buckets, str)
            or not isinstance(buckets, list | tuple)
            or not buckets
            or not all(isinstance(b, int | float) and not isinstance(b, bool) and b > 0 for b in buckets)
            or list(buckets) != sorted(set(buckets))
        ):
            raise ImproperlyConfigured(
                f"{where}['BUCKETS'] must be increasing positive numbers of seconds, not {buckets!r}."
            )
        values["buckets"] = tuple(float(b) for b in buckets)
    if "METRIC_PREFIX" in options:
        prefix = options["METRIC_PREFIX"]
        if not isinstance(prefix, str) or not prefix.isidentifier():
            raise ImproperlyConfigured(
                f"{where}['METRIC_PREFIX'] must be a metric name prefix, not {prefix!r}."
            )
        values["metric_prefix"] = prefix
    if options.get("METRICS_PORT") is not None:
        port = options["METRICS_PORT"]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ImproperlyConfigured(f"{where}['METRICS_PORT'] must be a TCP port, not {port!r}.")
        values["metrics_port"] = port
    return TelemetrySettings(**values)
