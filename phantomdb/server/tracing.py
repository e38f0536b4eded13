"""PhantomDB Lite's spans: a SERVER span per request that continues the caller's trace, and a
child span for each statement's SQLite work.

Made only when an OpenTelemetry SDK is configured in the server's process
(``opentelemetry-instrument phantomdb serve ...``, or ``--trace-file``);
otherwise one isinstance check per request is all it costs. The caller's
trace arrives in the W3C ``traceparent`` (and ``tracestate``) header.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from phantomdb.otel import configured_provider

_tracer = trace.get_tracer("phantomdb.server")


def tracing() -> bool:
    return configured_provider() is not None


@contextlib.contextmanager
def server_span(method: str, route: str, trace_headers: dict[str, str]) -> Iterator[Any]:
    """The request's SERVER span, current while the request is handled, child of the caller's span."""
    with _tracer.start_as_current_span(
        f"{method} {route}",
        context=propagate.extract(trace_headers),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "http.route": route, "db.system.name": "sqlite"},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


def finish_server_span(span: Any, status: int | None) -> None:
    """The answer's status on the span (None: the client went away before it)."""
    if status is None:
        span.set_status(Status(StatusCode.ERROR, "the client went away"))
        return
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, str(status)))


@contextlib.contextmanager
def sqlite_span() -> Iterator[None]:
    """A statement's SQLite work on its worker thread, as a child of the request's span."""
    with _tracer.start_as_current_span(
        "sqlite", kind=SpanKind.INTERNAL, attributes={"db.system.name": "sqlite"}
    ):
        yield


def export_spans_to(path: Path) -> None:
    """``--trace-file``: an SDK in this process that appends each finished span to ``path`` as a JSON line."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError:
        raise SystemExit(
            "phantomdb: --trace-file needs the OpenTelemetry SDK: pip install 'phantomdb-django[tracing]'"
        ) from None
    out = path.open("a", buffering=1)
    provider = TracerProvider(resource=Resource.create({"service.name": "phantomdb-lite"}))
    exporter = ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
