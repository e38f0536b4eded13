"""What the benchmarks share: Django set up on the bench models, timing, servers stopped at the end."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


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
