"""How the benchmarks time a call: the median of many runs, in microseconds."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def median_us(function: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


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
