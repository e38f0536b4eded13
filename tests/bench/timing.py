"""How the benchmarks time a call: the median of many runs, in microseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_us(function: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6
