"""Whether an OpenTelemetry SDK is configured in this process, at the cost of a global's read.

``trace.get_tracer_provider()`` looks in ``os.environ`` on every call until a
provider is set, which is most of what tracing costs a call when nobody
traces. A provider is set at most once per process, so once one is seen it
is kept; until then the API's own global is read first (if a future API
drops it, the check is ``get_tracer_provider()`` on every call again).
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.environment_variables import OTEL_PYTHON_TRACER_PROVIDER
from opentelemetry.trace import ProxyTracerProvider, TracerProvider

__all__ = ["configured_provider"]

# OpenTelemetry loads a provider named in the environment at the first get_tracer_provider().
_PROVIDER_IN_ENVIRONMENT = OTEL_PYTHON_TRACER_PROVIDER in os.environ
_provider: TracerProvider | None = None


def configured_provider() -> TracerProvider | None:
    """The SDK's tracer provider; None while OpenTelemetry has only its proxy (no span is made)."""
    global _provider
    if _provider is None and (
        getattr(trace, "_TRACER_PROVIDER", trace) is not None or _PROVIDER_IN_ENVIRONMENT
    ):
        provider = trace.get_tracer_provider()
        if not isinstance(provider, ProxyTracerProvider):
            _provider = provider
    return _provider
