"""A worker process of the cache soak test: ORM reads and writes through a shared-mode cache.

Each worker is its own Django process (spawned, so nothing is inherited but
the arguments). Writers increment a row's counter, then count the write as
acknowledged; a reader notes how many writes of its row were acknowledged
before its read started, and the row it reads must show at least that many.
"""

from __future__ import annotations

import random
import time
import traceback
from typing import Any


def configure(server_url: str, database: str, redis_url: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="phantomdb-soak",
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "tests.backend.testapp"],
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
            }
        },
        DATABASES={"default": {"ENGINE": "phantomdb_django", "NAME": database, "HOST": server_url}},
    )
    django.setup()


def run(
    number: int,
    server_url: str,
    database: str,
    redis_url: str,
    pks: list[int],
    acks: Any,
    start: Any,
    seconds: float,
    results: Any,
) -> None:
    configure(server_url, database, redis_url)
    from django.db.models import F

    from phantomdb_django import cache
    from tests.backend.testapp.models import User

    rng = random.Random(number)
    counts = {"reads": 0, "writes": 0, "stale": 0, "errors": 0}
    first_error = None
    User.objects.filter(pk=pks[0]).exists()  # connect before the clock starts
    start.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = rng.randrange(len(pks))
        try:
            if rng.random() < 0.1:
                User.objects.filter(pk=pks[row]).update(age=F("age") + 1)
                with acks.get_lock():
                    acks[row] += 1
                counts["writes"] += 1
            else:
                with acks.get_lock():
                    acknowledged = acks[row]
                if User.objects.get(pk=pks[row]).age < acknowledged:
                    counts["stale"] += 1
                counts["reads"] += 1
        except Exception:
            counts["errors"] += 1
            first_error = first_error or traceback.format_exc()
    stats = cache.stats()
    results.put({**counts, "hits": stats["hits"], "misses": stats["misses"], "error": first_error})
