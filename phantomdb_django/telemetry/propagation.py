"""W3C trace context to PhantomDB: a ``traceparent`` header on the requests of a traced call.

The telemetry link puts its span's context here for the duration of the call
(cheaper than making the span current in OpenTelemetry's context, which
nothing inside the chain needs), and the client's headers hook reads it.
"""

from __future__ import annotations

import contextvars
from collections.abc import MutableMapping

from opentelemetry.trace import SpanContext

#: The trace context of the call being sent, as W3C headers; None outside a traced call.
outgoing_trace_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "phantomdb_outgoing_trace_context", default=None
)


def trace_context_headers(context: SpanContext) -> dict[str, str]:
    """``traceparent`` (and ``tracestate`` when there is one) of ``context``."""
    # %-formatting: half the cost of an f-string with format specs, on every traced call.
    headers = {
        "traceparent": "00-%032x-%016x-%02x" % (context.trace_id, context.span_id, context.trace_flags)
    }
    if context.trace_state:
        headers["tracestate"] = context.trace_state.to_header()
    return headers


def inject_trace_context(headers: MutableMapping[str, str]) -> None:
    """The client's headers hook: adds nothing outside a traced call."""
    context = outgoing_trace_context.get()
    if context is not None:
        headers.update(context)
