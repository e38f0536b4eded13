"""Several processes read and write the same rows through the shared-mode cache: no stale read.

Every read that starts after a write was acknowledged in any process must
see it, also while Redis is flushed, and stopped and started again, mid-run.
"""

from __future__ import annotations

import multiprocessing
import time

from phantomdb_django import cache as query_cache
from tests.backend import soak
from tests.backend.conftest import Phantom
from tests.backend.testapp.models import User
from tests.conftest import RedisProcess

WORKERS = 4
SECONDS = 6.0


def test_processes_never_read_a_row_older_than_an_acknowledged_write(
    phantom: Phantom, redis_server: RedisProcess
) -> None:
    pks = [User.objects.create(first_name="S", last_name="S", email=f"s{n}@x.org").pk for n in range(3)]
    context = multiprocessing.get_context("spawn")
    acks = context.Array("q", len(pks))
    start = context.Event()
    results = context.Queue()
    workers = [
        context.Process(
            target=soak.run,
            args=(n, phantom.url, phantom.database, redis_server.url, pks, acks, start, SECONDS, results),
        )
        for n in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    time.sleep(3)  # every worker has set Django up and connected
    start.set()
    time.sleep(SECONDS / 3)
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    time.sleep(SECONDS / 6)
    redis_server.stop()  # no persistence: it comes back empty
    time.sleep(SECONDS / 6)
    redis_server.start()
    reports = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(30)
    totals = {
        key: sum(report[key] for report in reports) for key in ("reads", "writes", "stale", "errors", "hits")
    }
    print(f"soak: {totals}, hit ratio {totals['hits'] / max(totals['reads'], 1):.2f}")
    assert totals["errors"] == 0, [report["error"] for report in reports if report["error"]]
    assert totals["stale"] == 0
    assert totals["writes"] > 0 and totals["hits"] > 0
    with query_cache.disabled():
        ages = list(User.objects.filter(pk__in=pks).order_by("pk").values_list("age", flat=True))
    assert ages == list(acks)  # every acknowledged write applied once
