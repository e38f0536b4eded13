"""System checks of the query cache."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from .settings import PROCESS, parse_cache_settings, resolved_coherence


@checks.register(checks.Tags.caches)
def check_cache_coherence(**kwargs: Any) -> list[checks.Warning]:
    """Warn when a production configuration caches per process: other processes' writes show late."""
    if settings.DEBUG:
        return []
    warnings = []
    for alias, database in settings.DATABASES.items():
        if database.get("ENGINE") != "phantomdb_django":
            continue
        cache = parse_cache_settings(alias, (database.get("OPTIONS") or {}).get("CACHE"))
        if cache.enabled and resolved_coherence(cache) == PROCESS:
            warnings.append(
                checks.Warning(
                    f"The PhantomDB query cache of DATABASES[{alias!r}] runs in 'process' mode: a write made "
                    f"by another process (another gunicorn worker, another host) is seen here only after "
                    f"the cache TTL ({cache.ttl:g} s).",
                    hint=(
                        "With more than one process, point OPTIONS['CACHE']['SHARED_CACHE'] at a Redis or "
                        "Memcached alias of CACHES (coherence 'auto' then shares the table generations), or "
                        "set COHERENCE to 'process' only if a single process serves this database. "
                        "See docs/cache.md."
                    ),
                    id="phantomdb_django.W001",
                )
            )
    return warnings
