"""What the benchmarks share: Django set up on the bench models, timing, servers stopped at the end."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def median_us(function: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def interleaved_us(
    functions: Mapping[str, Callable[[], object]], repeat: int, block: int = 20
) -> dict[str, float]:
    """The median us of each function's calls, made ``block`` at a time in turn until each
    made ``repeat``: a slow spell of this shared machine falls on all of them alike, not on
    whichever ran then, while each block still runs warm, as a program's calls do. Each turn
    starts one function later, so that none always follows the same one (the first of a turn
    measured about 1.5% apart from the others)."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    order = list(functions.items())
    while len(samples[order[0][0]]) < repeat:
        for name, function in order:
            for _ in range(block):
                started = time.perf_counter()
                function()
                samples[name].append(time.perf_counter() - started)
        order.append(order.pop(0))
    return {name: statistics.median(values) * 1e6 for name, values in samples.items()}


def run_bench(
    prefix: str,
    arguments: argparse.Namespace,
    configure: Callable[[Path], list[object]],
    run: Callable[[argparse.Namespace], None],
) -> None:
    """``configure`` in a new work folder (it starts servers), ``run``, then stop the servers."""
    started = configure(Path(tempfile.mkdtemp(prefix=prefix)))
    try:
        run(arguments)
    finally:
        for process in started:
            process.stop()  # type: ignore[attr-defined]


def set_up_django(databases: dict[str, Any], **settings: Any) -> None:
    """Django with the bench models on ``databases`` (plus any other ``settings``)."""
    import django
    from django.conf import settings as django_settings

    django_settings.configure(
        DATABASES=databases,
        INSTALLED_APPS=["benchapp"],
        USE_TZ=False,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        **settings,
    )
    django.setup()
