"""Whether an OpenTelemetry SDK is configured in this process, at the cost of a global's read.

``trace.get_tracer_provider()`` (and ``metrics.get_meter_provider()``) look in
``os.environ`` on every call until a provider is set, which is most of what
telemetry costs a call when nobody listens. A provider is set at most once
per process, so once one is seen it is kept; until then the API's own
global is read first (if a future API drops it, the check is the getter on
every call again).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.environment_variables import OTEL_PYTHON_METER_PROVIDER, OTEL_PYTHON_TRACER_PROVIDER
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import ProxyTracerProvider, TracerProvider

try:
    from opentelemetry.metrics import _internal

    _metrics_globals: ModuleType = _internal
    _proxy_meter_provider: type | tuple[()] = _internal._ProxyMeterProvider
except (ImportError, AttributeError):  # another API: the getter every time, its proxy taken as a provider
    _metrics_globals = metrics
    _proxy_meter_provider = ()

__all__ = ["configured_meter_provider", "configured_provider"]

# OpenTelemetry loads a provider named in the environment at the first get_*_provider().
_TRACER_PROVIDER_IN_ENVIRONMENT = OTEL_PYTHON_TRACER_PROVIDER in os.environ
_METER_PROVIDER_IN_ENVIRONMENT = OTEL_PYTHON_METER_PROVIDER in os.environ
_provider: TracerProvider | None = None
_meter_provider: MeterProvider | None = None


def configured_provider() -> TracerProvider | None:
    """The SDK's tracer provider; None while OpenTelemetry has only its proxy (no span is made)."""
    global _provider
    if _provider is None and (
        getattr(trace, "_TRACER_PROVIDER", trace) is not None or _TRACER_PROVIDER_IN_ENVIRONMENT
    ):
        _provider = _unless_proxy(trace.get_tracer_provider(), ProxyTracerProvider)
    return _provider


def configured_meter_provider() -> MeterProvider | None:
    """The SDK's meter provider; None while OpenTelemetry has only its proxy (nothing is recorded)."""
    global _meter_provider
    if _meter_provider is None and (
        getattr(_metrics_globals, "_METER_PROVIDER", _metrics_globals) is not None
        or _METER_PROVIDER_IN_ENVIRONMENT
    ):
        _meter_provider = _unless_proxy(metrics.get_meter_provider(), _proxy_meter_provider)
    return _meter_provider


def _unless_proxy(provider: Any, proxy: type | tuple[()]) -> Any:
    return None if isinstance(provider, proxy) else provider
