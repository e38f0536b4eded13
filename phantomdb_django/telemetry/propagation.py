"""W3C trace context to PhantomDB: a ``traceparent`` header on requests made inside a span."""

from __future__ import annotations

from collections.abc import MutableMapping

from opentelemetry import propagate, trace


def inject_trace_context(headers: MutableMapping[str, str]) -> None:
    """The client's headers hook: adds nothing (so the fast path stays) outside a valid span."""
    if trace.get_current_span().get_span_context().is_valid:
        propagate.inject(headers)
