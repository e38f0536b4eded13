"""Whether an OpenTelemetry SDK is configured in this process, at the cost of a global's read.

``trace.get_tracer_provider()`` (and ``metrics.get_meter_provider()``) look in
``os.environ`` on every call until a provider is set, which is most of what
telemetry costs a call when nobody listens. A provider is set at most once
per process, so once one is seen it is kept; until then the API's own
globals are read (if a future API drops them, the getters are asked on every
call again).
"""

from __future__ import annotations

import os
from types import ModuleType

from opentelemetry import metrics, trace
from opentelemetry.environment_variables import OTEL_PYTHON_METER_PROVIDER, OTEL_PYTHON_TRACER_PROVIDER
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import ProxyTracerProvider, TracerProvider

try:
    from opentelemetry.metrics import _internal

    _metrics_globals: ModuleType = _internal
except ImportError:  # another API: the getters every time
    _metrics_globals = metrics

__all__ = ["any_provider_set", "configured_meter_provider", "configured_provider"]

#: Whether this API keeps its providers in the globals read here (else: unknown, ask the getters).
_GLOBALS_UNKNOWN = not (hasattr(trace, "_TRACER_PROVIDER") and hasattr(_metrics_globals, "_METER_PROVIDER"))
# OpenTelemetry loads a provider named in the environment at the first get_*_provider().
_TRACER_PROVIDER_IN_ENVIRONMENT = OTEL_PYTHON_TRACER_PROVIDER in os.environ
_METER_PROVIDER_IN_ENVIRONMENT = OTEL_PYTHON_METER_PROVIDER in os.environ
_PROVIDER_IN_ENVIRONMENT = _TRACER_PROVIDER_IN_ENVIRONMENT or _METER_PROVIDER_IN_ENVIRONMENT
_provider: TracerProvider | None = None
_meter_provider: MeterProvider | None = None


def any_provider_set() -> bool:
    """Whether a tracer or meter provider is set (or named in the environment, so set at the first
    get): False means nothing to trace or measure into, known from two globals on every call."""
    return (
        _GLOBALS_UNKNOWN
        or trace._TRACER_PROVIDER is not None
        or _metrics_globals._METER_PROVIDER is not None
        or _PROVIDER_IN_ENVIRONMENT
    )


def configured_provider() -> TracerProvider | None:
    """The SDK's tracer provider; None while OpenTelemetry has only its proxy (no span is made)."""
    global _provider
    if _provider is None and (
        _GLOBALS_UNKNOWN or trace._TRACER_PROVIDER is not None or _TRACER_PROVIDER_IN_ENVIRONMENT
    ):
        provider = trace.get_tracer_provider()
        _provider = None if isinstance(provider, ProxyTracerProvider) else provider
    return _provider


def configured_meter_provider() -> MeterProvider | None:
    """The SDK's meter provider; None while OpenTelemetry has only its proxy (nothing is recorded)."""
    global _meter_provider
    if _meter_provider is None and (
        _GLOBALS_UNKNOWN or _metrics_globals._METER_PROVIDER is not None or _METER_PROVIDER_IN_ENVIRONMENT
    ):
        provider = metrics.get_meter_provider()
        # The API's proxy class is private, so known by name (were it renamed, calls would record
        # into the proxy, which drops them until an SDK is set).
        _meter_provider = None if type(provider).__name__ == "_ProxyMeterProvider" else provider
    return _meter_provider
