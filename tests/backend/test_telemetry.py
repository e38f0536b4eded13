"""Telemetry: one CLIENT span per call, transaction spans around their calls, Prometheus metrics.

Spans are read from the OpenTelemetry SDK's in-memory exporter; metrics from
the ``/metrics`` view, scraped through Django's test client, in both formats.
A sentinel parameter value must appear in no span, log line or metric.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.values import MutexValue

from phantomdb_django import cache
from phantomdb_django.telemetry.propagation import inject_trace_context
from tests.backend.conftest import Phantom, extra_database, recorded_calls
from tests.backend.testapp.models import Tag, User

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def sdk() -> None:
    """An SDK with an in-memory exporter; OpenTelemetry allows one provider per process, set once."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)


@pytest.fixture
def spans() -> Iterator[list[ReadableSpan]]:
    connection.ensure_connection()
    cache.clear()
    EXPORTER.clear()
    finished: list[ReadableSpan] = []
    yield finished


def finished_spans() -> list[ReadableSpan]:
    return list(EXPORTER.get_finished_spans())


def client_spans() -> list[ReadableSpan]:
    return [span for span in finished_spans() if span.kind is SpanKind.CLIENT]


def make_user(n: int, **fields: Any) -> User:
    values = {"first_name": "F", "last_name": "L", "email": f"u{n}@example.com", "age": n, **fields}
    return User.objects.create(**values)


def test_a_read_is_one_client_span_named_after_its_summary(phantom: Phantom, spans) -> None:
    make_user(1)
    EXPORTER.clear()
    list(User.objects.filter(age__gt=0))
    (span,) = client_spans()
    host, port = phantom.url.removeprefix("http://").split(":")
    assert span.name == "SELECT users"
    assert span.attributes == {
        "db.system.name": "phantomdb",
        "db.namespace": phantom.database,
        "db.operation.name": "SELECT",
        "db.collection.name": "users",
        "db.query.summary": "SELECT users",
        "db.query.text": span.attributes["db.query.text"],
        "http.request.method": "GET",
        "url.template": "/databases/{db}/tables/{table}",
        "server.address": host,
        "server.port": int(port),
        "phantomdb.cache": "miss",
        "db.response.returned_rows": 1,
    }
    assert span.attributes["db.query.text"].endswith('WHERE "users"."age" > %s')


def test_a_cache_hit_is_a_span_too_and_says_so(spans) -> None:
    make_user(1)
    list(User.objects.all())
    EXPORTER.clear()
    with recorded_calls() as reached:
        list(User.objects.all())
    (span,) = client_spans()
    assert reached == [] and span.attributes["phantomdb.cache"] == "hit"


def test_a_join_is_named_after_its_tables(spans) -> None:
    list(Tag.objects.filter(articles__title="x"))
    (span,) = client_spans()
    assert span.name == "SELECT articles articles_tags tags"
    assert "db.collection.name" not in span.attributes


def test_writes_are_spans_that_bypass_the_cache(spans) -> None:
    make_user(1)
    User.objects.filter(age=1).update(age=2)
    insert, update = client_spans()
    assert (insert.name, update.name) == ("INSERT users", "UPDATE users")
    assert insert.attributes["phantomdb.cache"] == update.attributes["phantomdb.cache"] == "bypass"
    assert (insert.attributes["http.request.method"], update.attributes["http.request.method"]) == (
        "POST",
        "PUT",
    )


def test_a_batch_says_its_size(spans) -> None:
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO tags (name) VALUES (%s)", [("a",), ("b",), ("c",)])
    (span,) = client_spans()
    assert span.name == "BATCH INSERT" and span.attributes["db.operation.batch.size"] == 3


def test_a_transaction_is_a_span_holding_its_calls(spans) -> None:
    with transaction.atomic():
        make_user(1)
        with transaction.atomic():
            list(User.objects.all())
    spans_by_name = {span.name: span for span in finished_spans()}
    outer = spans_by_name["transaction"]
    assert outer.kind is SpanKind.INTERNAL and outer.attributes["phantomdb.transaction.outcome"] == "commit"
    names = [
        span.name for span in finished_spans() if span.parent and span.parent.span_id == outer.context.span_id
    ]
    assert names == ["BEGIN", "INSERT users", "SAVEPOINT", "SELECT users", "RELEASE SAVEPOINT", "COMMIT"]


def test_a_rolled_back_transaction_says_so(spans) -> None:
    with contextlib.suppress(ZeroDivisionError), transaction.atomic():
        make_user(1)
        raise ZeroDivisionError
    (outer,) = [span for span in finished_spans() if span.name == "transaction"]
    assert outer.attributes["phantomdb.transaction.outcome"] == "rollback"
    assert [span.name for span in client_spans()] == ["BEGIN", "INSERT users", "ROLLBACK"]


def test_a_failed_call_records_its_error(spans) -> None:
    make_user(1)
    EXPORTER.clear()
    with pytest.raises(IntegrityError):
        make_user(2, email="u1@example.com")
    (span,) = client_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["db.response.status_code"] == "unique_violation"
    assert span.attributes["error.type"] == "unique_violation"
    assert [event.name for event in span.events] == ["exception"]


def test_spans_nest_under_the_callers_span(spans) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("view") as view:
        list(User.objects.all())
    (span,) = client_spans()
    assert span.parent is not None and span.parent.span_id == view.get_span_context().span_id
    assert span.context.trace_id == view.get_span_context().trace_id


def test_the_requests_of_a_traced_call_carry_its_traceparent(spans) -> None:
    sent: list[dict[str, str]] = []

    def probe(next_execute):
        def execute(call, params, transaction):
            headers: dict[str, str] = {}
            inject_trace_context(headers)  # what the client's headers hook adds to this request
            sent.append(headers)
            return next_execute(call, params, transaction)

        return execute

    database = connection.connection
    links = database.links
    database.links = (*links, probe)
    try:
        list(User.objects.all())
    finally:
        database.links = links
    outside: dict[str, str] = {}
    inject_trace_context(outside)
    (span,) = client_spans()
    context = span.get_span_context()
    flags = int(context.trace_flags)
    assert flags & 1  # sampled
    assert sent == [{"traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"}]
    assert outside == {}


def test_a_sentinel_value_appears_in_no_span_log_or_metric(spans, caplog: pytest.LogCaptureFixture) -> None:
    sentinel = "S3NT1NEL-4f1d9c"
    with caplog.at_level(logging.DEBUG):
        make_user(1, first_name=sentinel)
        list(User.objects.filter(first_name=sentinel))
        with pytest.raises(IntegrityError):
            make_user(2, email="u1@example.com", last_name=sentinel)
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s", [sentinel])
    scraped = Client().get("/metrics").content.decode()
    assert client_spans()
    for span in finished_spans():
        assert sentinel not in repr(dict(span.attributes or {}))
        assert all(sentinel not in repr(dict(event.attributes or {})) for event in span.events)
        assert sentinel not in span.name
    assert all(sentinel not in record.getMessage() for record in caplog.records)
    assert sentinel not in scraped


# -- settings -------------------------------------------------------------------------


@contextlib.contextmanager
def telemetry_alias(phantom: Phantom, **telemetry: Any) -> Iterator[str]:
    with extra_database(
        "observed", HOST=phantom.url, NAME=phantom.database, OPTIONS={"TELEMETRY": telemetry}
    ):
        yield "observed"


def test_query_text_can_be_turned_off(phantom: Phantom, spans) -> None:
    with telemetry_alias(phantom, QUERY_TEXT=False) as alias:
        list(User.objects.using(alias).all())
    (span,) = client_spans()
    assert "db.query.text" not in span.attributes


def test_hit_spans_can_be_turned_off_while_metrics_still_count_hits(phantom: Phantom, spans) -> None:
    with telemetry_alias(phantom, CACHE_HIT_SPANS=False) as alias:
        before = hits(alias)
        list(User.objects.using(alias).all())
        list(User.objects.using(alias).all())
        assert [span.attributes["phantomdb.cache"] for span in client_spans()] == ["miss"]
        assert hits(alias) - before == 1


def test_tracing_can_be_turned_off(phantom: Phantom, spans) -> None:
    with telemetry_alias(phantom, TRACING=False) as alias:
        list(User.objects.using(alias).all())
    assert finished_spans() == []


def test_a_wrong_telemetry_setting_names_the_key(phantom: Phantom) -> None:
    from django.core.exceptions import ImproperlyConfigured

    with (
        telemetry_alias(phantom, BUCKETS=[1, 0.5]) as alias,
        pytest.raises(ImproperlyConfigured, match="BUCKETS"),
    ):
        connection_of(alias).ensure_connection()


def connection_of(alias: str) -> Any:
    from django.db import connections

    return connections[alias]


# -- metrics ----------------------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)(?: # (?P<exemplar>.*))?$", re.M)


def samples(text: str, name: str, **labels: str) -> list[tuple[float, str | None]]:
    found = []
    for match in _SAMPLE.finditer(text):
        have = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if match["name"] == name and all(have.get(key) == value for key, value in labels.items()):
            found.append((float(match["value"]), match["exemplar"]))
    return found


def total(text: str, name: str, **labels: str) -> float:
    return sum(value for value, _ in samples(text, name, **labels))


def scrape(openmetrics: bool = False) -> str:
    accept = "application/openmetrics-text; version=1.0.0" if openmetrics else "text/plain"
    response = Client().get("/metrics", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    return response.content.decode()


def hits(alias: str) -> float:
    return total(scrape(), "phantomdb_cache_requests_total", alias=alias, table="users", result="hit")


def test_metrics_count_a_known_workload(spans) -> None:
    before = scrape()
    make_user(1)
    list(User.objects.all()), list(User.objects.all())
    with contextlib.suppress(ZeroDivisionError), transaction.atomic():
        make_user(2)
        raise ZeroDivisionError
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    select = {"alias": "default", "db_operation_name": "SELECT", "db_collection_name": "users"}
    assert delta("db_client_operation_duration_seconds_count", **select, cache="miss") == 1
    assert delta("db_client_operation_duration_seconds_count", **select, cache="hit") == 1
    assert (
        delta("db_client_operation_duration_seconds_count", db_operation_name="INSERT", cache="bypass") == 2
    )
    assert delta("phantomdb_cache_requests_total", alias="default", table="users", result="hit") == 1
    assert delta("phantomdb_transactions_total", alias="default", outcome="rollback") == 1
    assert delta("phantomdb_cache_invalidations_total", alias="default", table="users", reason="write") == 1
    assert delta("db_client_response_returned_rows_count", **select) == 2


def test_the_cache_series_follow_the_store_once_however_many_connections_saw_it(phantom: Phantom) -> None:
    from django.db import connections

    def read(alias: str, ages: range) -> None:
        for age in ages:
            list(User.objects.using(alias).filter(age=age))
        connections[alias].close()  # the next reads are a new connection's (CONN_MAX_AGE 0)

    with extra_database(
        "small_cache", HOST=phantom.url, NAME=phantom.database, OPTIONS={"CACHE": {"MAXSIZE": 2}}
    ) as wrapper:
        alias = wrapper.alias
        read(alias, range(1000, 1003))
        store = cache._store(alias)
        evicted = store.counters()["evictions"]
        scraped = total(scrape(), "phantomdb_cache_evictions_total", alias=alias)
        another_thread = threading.Thread(target=read, args=(alias, range(2000, 2003)))
        another_thread.start()
        another_thread.join()
        read(alias, range(3000, 3003))
        text = scrape()
        assert store.counters()["evictions"] - evicted == 6  # every read past the first two evicted one
        assert total(text, "phantomdb_cache_evictions_total", alias=alias) - scraped == 6
        assert total(text, "phantomdb_cache_entries", alias=alias) == 2
        cache.clear(using=alias)
        assert total(scrape(), "phantomdb_cache_entries", alias=alias) == 0  # read when scraped


def test_openmetrics_carries_the_trace_id_of_a_finished_span_as_an_exemplar(
    spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phantomdb_django.telemetry import metrics

    # Another test's read may have taken this second's exemplar of the bucket.
    monkeypatch.setattr(metrics, "EXEMPLAR_INTERVAL", 0.0)
    list(User.objects.filter(age=12345))
    (span,) = client_spans()
    text = scrape(openmetrics=True)
    exemplars = [
        exemplar
        for _, exemplar in samples(
            text, "db_client_operation_duration_seconds_bucket", db_operation_name="SELECT"
        )
        if exemplar
    ]
    assert any(f'trace_id="{format(span.context.trace_id, "032x")}"' in exemplar for exemplar in exemplars)
    assert text.rstrip().endswith("# EOF")


def test_connection_errors_are_counted(phantom: Phantom) -> None:
    from django.db import OperationalError

    from tests.backend.conftest import closed_port_url

    with extra_database("nowhere", HOST=closed_port_url(), OPTIONS={"retries": 0}) as nowhere:
        before = total(scrape(), "phantomdb_connection_errors_total", alias="nowhere")
        with pytest.raises(OperationalError):
            nowhere.ensure_connection()
            list(User.objects.using("nowhere").all())
        assert total(scrape(), "phantomdb_connection_errors_total", alias="nowhere") - before == 1


def test_the_django_instrumentation_and_its_sqlcommenter_change_nothing(spans) -> None:
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    make_user(1)
    DjangoInstrumentor().instrument(is_sql_commentor_enabled=True)
    try:
        EXPORTER.clear()
        with recorded_calls() as reached:
            response = Client().get("/users/emails")
    finally:
        DjangoInstrumentor().uninstrument()
    assert response.json() == {"emails": ["u1@example.com"], "same": True}
    assert [entry.operation for entry in reached] == ["select"]  # a table call, and the second read a hit
    (request,) = [span for span in finished_spans() if span.kind is SpanKind.SERVER]
    reads = client_spans()
    assert [span.attributes["phantomdb.cache"] for span in reads] == ["miss", "hit"]
    assert all(span.parent.span_id == request.context.span_id for span in reads)


def test_metrics_can_be_served_on_a_port_of_their_own(phantom: Phantom) -> None:
    import requests

    from tests.conftest import free_port

    port = free_port()
    with telemetry_alias(phantom, METRICS_PORT=port) as alias:
        list(User.objects.using(alias).all())
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert (
        total(text, "db_client_operation_duration_seconds_count", alias=alias, db_operation_name="SELECT")
        >= 1
    )


def test_one_trace_runs_from_the_django_call_through_phantomdb_lite_to_sqlite(tmp_path, spans) -> None:
    import json

    from tests.conftest import start_server

    trace_file = tmp_path / "server-spans.jsonl"
    server = start_server(tmp_path / "data", "--durability", "off", "--trace-file", str(trace_file))
    try:
        with phantomdb_client(server.url) as client:
            client.create_database("traced")
        with extra_database("traced", HOST=server.url, NAME="traced") as traced, traced.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        server.stop()
    (call,) = [
        span
        for span in client_spans()
        if span.attributes["db.namespace"] == "traced" and span.attributes["db.operation.name"] == "SELECT"
    ]
    server_spans = [json.loads(line) for line in trace_file.read_text().splitlines()]
    trace_id = f"0x{call.context.trace_id:032x}"
    (request,) = [
        span
        for span in server_spans
        if span["context"]["trace_id"] == trace_id and span["kind"] == "SpanKind.SERVER"
    ]
    assert request["name"] == "POST /databases/{db}/query"
    assert request["parent_id"] == f"0x{call.context.span_id:016x}"
    assert request["attributes"]["http.response.status_code"] == 200
    sqlite = [span for span in server_spans if span["parent_id"] == request["context"]["span_id"]]
    assert [span["name"] for span in sqlite] == ["sqlite"]
    assert sqlite[0]["context"]["trace_id"] == trace_id


def phantomdb_client(url: str) -> Any:
    import phantomdb

    return phantomdb.PhantomDB(url)


def test_a_recorder_records_exactly_what_prometheus_client_records() -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.openmetrics.exposition import generate_latest

    from phantomdb_django.telemetry.metrics import recorder

    def exposition(fast: bool) -> list[str]:
        registry = CollectorRegistry()
        duration = Histogram("h_seconds", "h", ["a"], buckets=(0.001, 0.01), registry=registry).labels("x")
        rows = Histogram("r", "r", ["a"], buckets=(0, 1, 5), registry=registry).labels("x")
        requests = Counter("c", "c", ["a"], registry=registry).labels("x")
        record = recorder(duration, rows, requests)
        # Bounds themselves included; None: rows not known; 500 rows: past the recorder's table.
        calls = ((0, 0), (0.0005, 1), (0.001, None), (0.0011, 3), (0.01, 5), (7, 9), (0.003, 500))
        for seconds, returned in calls:
            if fast:
                record(seconds, returned, None)
            else:
                duration.observe(seconds)
                if returned is not None:
                    rows.observe(returned)
                requests.inc()
        trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
        if fast:
            record(0.002, None, f"00-{trace_id}-{span_id}-01")
        else:
            duration.observe(0.002, {"trace_id": trace_id, "span_id": span_id})
            requests.inc()
        text = generate_latest(registry).decode()
        # An exemplar ends with the time it was recorded.
        lines = [re.sub(r"( # \{.*\} \S+) \S+$", r"\1", line) for line in text.splitlines()]
        return [line for line in lines if "_created" not in line]

    fast = exposition(fast=True)
    assert 'h_seconds_bucket{a="x",le="0.01"} 7.0 # {span_id="b7ad6b7169203331"' in "\n".join(fast)
    assert fast == exposition(fast=False)


def test_a_recorder_of_other_values_takes_the_public_methods() -> None:
    from prometheus_client import CollectorRegistry, Histogram
    from prometheus_client.openmetrics.exposition import generate_latest

    from phantomdb_django.telemetry import metrics

    class FileValue(MutexValue):
        """Not prometheus-client's single-process value, as multiprocess values are not."""

    registry = CollectorRegistry()
    histogram = Histogram("h_seconds", "h", buckets=(0.001, 0.01), registry=registry)
    histogram._sum = FileValue("histogram", "h_seconds", "h_seconds_sum", (), (), "h")
    record = metrics.recorder(histogram, None, None)
    assert isinstance(record, functools.partial)
    for seconds in (0.0005, 0.002, 0.003):
        record(seconds, None, f"00-{'1' * 32}-b7ad6b7169203331-01")
    text = generate_latest(registry).decode()
    assert "h_seconds_count 3.0" in text and "h_seconds_sum 0.0055" in text
    assert 'h_seconds_bucket{le="0.01"} 3.0 # {span_id="b7ad6b7169203331"' in text


def test_a_bucket_takes_one_exemplar_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import CollectorRegistry, Histogram
    from prometheus_client.openmetrics.exposition import generate_latest

    from phantomdb_django.telemetry import metrics

    def trace_ids(observations: list[tuple[float, str]]) -> list[str]:
        registry = CollectorRegistry()
        histogram = Histogram("h_seconds", "h", buckets=(0.001, 0.01), registry=registry)
        # Two recorders of one child (two connections, say) share its limit.
        recorders = [metrics.recorder(histogram, None, None), metrics.recorder(histogram, None, None)]
        for turn, (amount, trace_id) in enumerate(observations):
            recorders[turn % 2](amount, None, f"00-{trace_id}-b7ad6b7169203331-01")
        return re.findall(r'trace_id="(\w+)"', generate_latest(registry).decode())

    first, second, third = ("1" * 32, "2" * 32, "3" * 32)
    # The second call in the first bucket, within the second: no new exemplar; another bucket takes one.
    assert trace_ids([(0.0005, first), (0.0006, second), (0.005, third)]) == [first, third]
    monkeypatch.setattr(metrics, "EXEMPLAR_INTERVAL", 0.0)
    assert trace_ids([(0.0005, first), (0.0006, second), (0.005, third)]) == [second, third]


def test_without_a_cache_every_span_is_a_bypass(phantom: Phantom, spans) -> None:
    silent = {"TRACING": False, "METRICS": False}
    with (
        extra_database(
            "uncached", HOST=phantom.url, NAME=phantom.database, OPTIONS={"CACHE": {"ENABLED": False}}
        ),
        extra_database("silent", HOST=phantom.url, NAME=phantom.database, OPTIONS={"TELEMETRY": silent}),
    ):
        list(User.objects.using("silent").all())  # a cache miss that no telemetry link clears after it
        list(User.objects.using("uncached").all())
        User.objects.using("uncached").create(first_name="F", last_name="L", email="u3@example.com", age=3)
    assert [span.attributes["phantomdb.cache"] for span in client_spans()] == ["bypass", "bypass"]


# -- the Meter API --------------------------------------------------------------------------

METRIC_READER = InMemoryMetricReader()


@pytest.fixture(scope="module")
def meter_provider() -> None:
    """An SDK MeterProvider read in memory (one per process, as for spans)."""
    if not isinstance(metrics.get_meter_provider(), MeterProvider):
        metrics.set_meter_provider(MeterProvider(metric_readers=[METRIC_READER]))


def data_points(name: str) -> list[Any]:
    """The data points of ``name`` now (a collection: the SDK hands each exemplar out once)."""
    data = METRIC_READER.get_metrics_data()
    return [
        point
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def count(points: list[Any], **attributes: Any) -> int:
    """The measurements of ``points`` whose attributes include ``attributes``."""
    return sum(point.count for point in points if attributes.items() <= dict(point.attributes).items())


def test_the_meter_api_gets_the_measurements_too(phantom: Phantom, spans, meter_provider) -> None:
    select = {"db.system.name": "phantomdb", "db.operation.name": "SELECT", "db.collection.name": "users"}
    miss, hit, error = (
        {"phantomdb.cache": "miss"},
        {"phantomdb.cache": "hit"},
        {"error.type": "unique_violation", "db.response.status_code": "unique_violation"},
    )
    durations, rows = (
        data_points("db.client.operation.duration"),
        data_points("db.client.response.returned_rows"),
    )
    make_user(1)
    list(User.objects.filter(age=54321))
    list(User.objects.filter(age=54321))
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user(1)
    durations_after = data_points("db.client.operation.duration")
    rows_after = data_points("db.client.response.returned_rows")
    assert count(durations_after, **select, **miss) == count(durations, **select, **miss) + 1
    assert count(durations_after, **select, **hit) == count(durations, **select, **hit) + 1
    assert count(durations_after, **error) == count(durations, **error) + 1
    assert count(rows_after, **select) == count(rows, **select) + 2
    # The SDK's exemplars link a measurement to its span.
    (miss_span, _hit_span) = [span for span in client_spans() if span.name == "SELECT users"]
    exemplars = [
        exemplar
        for point in durations_after
        if dict(point.attributes).get("phantomdb.cache") == "miss"
        for exemplar in point.exemplars
    ]
    assert miss_span.context.trace_id in {exemplar.trace_id for exemplar in exemplars}


def test_the_meter_api_can_be_left_out(phantom: Phantom, spans, meter_provider) -> None:
    def measured() -> int:
        return count(data_points("db.client.operation.duration"), **{"db.namespace": phantom.database})

    with telemetry_alias(phantom, OTEL_METRICS=False) as alias:
        before = measured()
        list(User.objects.using(alias).filter(age=1))
        assert measured() == before
