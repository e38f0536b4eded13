"""Telemetry benchmark: what spans and metrics cost on the uncached path and on cache hits.

    python tests/bench/bench_telemetry.py [--rounds N] [--repeat N] [--sample RATIO]

Same process, same PhantomDB Lite (its own process), the aliases' calls
interleaved (``timing.interleaved_us``), in rounds.
First with no OpenTelemetry SDK configured (telemetry on vs off), then with
the SDK and a BatchSpanProcessor whose exporter drops the spans (so the cost
is the SDK's, not an exporter's), metrics on. ``control`` has telemetry off,
like the baseline: its ratio is the noise floor of the uncached figures;
``bare_span`` and ``same_span`` are that alias's call inside one SDK span made
by hand (no attributes; the link's attributes): the SDK's own floor.
``--instructions`` counts instead of timing: callgrind's count of the
instructions this process runs per call, which this shared machine's slow
spells do not change (the server's work is not counted).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]

from django.conf import settings  # noqa: E402
from timing import interleaved_us, set_up_django  # noqa: E402

NOW = datetime.datetime(2026, 11, 28, 12, 0, 0)
OFF = {"TRACING": False, "METRICS": False}


def configure(workdir: Path) -> object:
    from phantomdb import PhantomDB
    from tests.conftest import start_server

    server = start_server(workdir / "server", "--durability", "normal")
    with PhantomDB(server.url) as client:
        client.ensure_database("bench")
    base = {"ENGINE": "phantomdb_django", "NAME": "bench", "HOST": server.url, "CONN_MAX_AGE": None}
    no_cache = {"ENABLED": False}
    set_up_django(
        {
            "default": {**base, "OPTIONS": {"CACHE": no_cache, "TELEMETRY": OFF}},
            # The same settings again: how far apart two identical aliases measure (the noise).
            "control": {**base, "OPTIONS": {"CACHE": no_cache, "TELEMETRY": OFF}},
            "telemetry": {**base, "OPTIONS": {"CACHE": no_cache}},
            "cached_off": {**base, "OPTIONS": {"CACHE": {"COHERENCE": "process"}, "TELEMETRY": OFF}},
            "cached": {**base, "OPTIONS": {"CACHE": {"COHERENCE": "process"}}},
            "cached_no_hit_spans": {
                **base,
                "OPTIONS": {"CACHE": {"COHERENCE": "process"}, "TELEMETRY": {"CACHE_HIT_SPANS": False}},
            },
        }
    )
    return server


def measure(
    aliases: list[str], rounds: int, repeat: int, **extra: Callable[[], object]
) -> dict[str, list[float]]:
    from benchapp.models import Person

    functions: dict[str, Callable[[], object]] = {
        alias: partial(Person.objects.using(alias).get, pk=7) for alias in aliases
    }
    functions.update(extra)
    results: dict[str, list[float]] = {name: [] for name in functions}
    for function in functions.values():
        function()  # a cached alias's first call fills the entry
    for _ in range(rounds):
        for name, us in interleaved_us(functions, repeat).items():
            results[name].append(us)
    return results


def with_span(tracer: Any, attributes: dict[str, Any] | None) -> Callable[[], object]:
    """A call of the telemetry-off alias plus one SDK span of its own: what any instrumentation
    that makes one span per call cannot go below (``attributes`` None: a bare span)."""
    from benchapp.models import Person
    from opentelemetry.trace import SpanKind

    def call() -> object:
        span = tracer.start_span("SELECT bench_person", kind=SpanKind.CLIENT, attributes=attributes)
        try:
            return Person.objects.using("default").get(pk=7)
        finally:
            span.end()

    return call


def report(title: str, results: dict[str, list[float]], baseline: str) -> None:
    print(title)
    for alias, values in results.items():
        if alias == baseline:
            continue
        ratios = [ours / base for ours, base in zip(values, results[baseline])]
        ours, base = statistics.median(values), statistics.median(results[baseline])
        print(
            f"  {alias:22} {ours:7.0f} us vs {base:7.0f} us:"
            f" {statistics.median(ratios):.3f}x ({min(ratios):.3f}-{max(ratios):.3f})"
        )


def populate() -> None:
    from benchapp.models import Person
    from django.db import connections

    with connections["default"].schema_editor() as editor:
        editor.create_model(Person)
    Person.objects.bulk_create(
        Person(name=f"p{i}", email=f"p{i}@example.com", age=i % 90, created_at=NOW) for i in range(100)
    )


def install_sdk(sample: float) -> Any:
    """The SDK's TracerProvider with a BatchSpanProcessor whose exporter drops the spans."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    class Dropping(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(sample)))
    provider.add_span_processor(BatchSpanProcessor(Dropping()))
    trace.set_tracer_provider(provider)
    return provider


def hand_made_spans(provider: Any) -> dict[str, Callable[[], object]]:
    from benchapp.models import Person
    from django.db import connections

    tracer = provider.get_tracer("bench")
    Person.objects.using("telemetry").get(pk=7)
    # The attributes the link gave that call's span: the same span, made by hand.
    (shape,) = connections["telemetry"].connection._chain._shapes.values()
    return {"bare_span": with_span(tracer, None), "same_span": with_span(tracer, shape.attributes)}


def wall_clock(arguments: argparse.Namespace) -> None:
    rounds, repeat = arguments.rounds, arguments.repeat
    print(f"get(pk=...), median of {rounds} rounds x {repeat} calls")
    report("no SDK, uncached:", measure(["default", "control", "telemetry"], rounds, repeat), "default")
    report("no SDK, cache hits:", measure(["cached_off", "cached"], rounds, repeat), "cached_off")
    provider = install_sdk(arguments.sample)
    sdk = f"SDK + BatchSpanProcessor, {arguments.sample:.0%} of traces sampled"
    uncached = measure(["default", "control", "telemetry"], rounds, repeat, **hand_made_spans(provider))
    report(f"{sdk}, uncached:", uncached, "default")
    hits = measure(["cached_off", "cached", "cached_no_hit_spans"], rounds, repeat)
    report(f"{sdk}, cache hits:", hits, "cached_off")
    provider.shutdown()


#: --instructions: (case, its baseline); "sdk:" cases run with the SDK installed.
COUNTED = [
    ("telemetry", "default"),
    ("cached", "cached_off"),
    ("sdk:telemetry", "sdk:default"),
    ("sdk:bare_span", "sdk:default"),
    ("sdk:same_span", "sdk:default"),
]


def count_one(arguments: argparse.Namespace) -> None:
    """The child of --instructions: ``calls`` calls of one case, after 50 to warm up."""
    from benchapp.models import Person

    case, calls = arguments.count[0], int(arguments.count[1])
    name = case.removeprefix("sdk:")
    function: Callable[[], object] = partial(Person.objects.using(name).get, pk=7)
    if case.startswith("sdk:"):
        provider = install_sdk(arguments.sample)
        function = hand_made_spans(provider).get(name, function)
    for _ in range(50):
        function()
    for _ in range(calls):
        function()


def instructions_per_call(case: str, sample: float) -> int:
    """What callgrind counts in this process (not the server's) per call of ``case``: the
    difference of a 100-call and a 1,100-call run, so that set-up cancels out."""
    counts = []
    for calls in (100, 1100):
        command = [
            "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, __file__, "--sample", str(sample), "--count", case, str(calls),
        ]  # fmt: skip
        finished = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True
        )
        counts.append(int(re.search(r"Collected : (\d+)", finished.stderr)[1]))  # type: ignore[index]
    return (counts[1] - counts[0]) // 1000


def count_instructions(arguments: argparse.Namespace) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    print("get(pk=...), instructions per call in the Django process (callgrind)")
    counted: dict[str, int] = {}
    for case, baseline in COUNTED:
        for name in (baseline, case):
            if name not in counted:
                counted[name] = instructions_per_call(name, arguments.sample)
        print(
            f"  {case:16} {counted[case]:9,d} vs {baseline:12} {counted[baseline]:9,d}:"
            f" {counted[case] / counted[baseline]:.3f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument(
        "--sample",
        type=float,
        default=1.0,
        help="the SDK's sampler: ParentBased(TraceIdRatioBased(SAMPLE)); 1 (default): every trace",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per call with callgrind instead of timing (repeatable; slow)",
    )
    parser.add_argument("--count", nargs=2, metavar=("CASE", "CALLS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.instructions:
        count_instructions(arguments)
        return
    server = configure(Path(tempfile.mkdtemp(prefix="phantomdb-bench-telemetry-")))
    try:
        populate()
        if arguments.count:
            count_one(arguments)
        else:
            wall_clock(arguments)
        from django.db import connections

        for alias in settings.DATABASES:
            connections[alias].close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
