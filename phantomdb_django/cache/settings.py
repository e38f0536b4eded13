"""``DATABASES[alias]["OPTIONS"]["CACHE"]``: the query cache's settings, checked once.

Every key is documented in docs/settings.md; an unknown key or a value of the
wrong type is an ImproperlyConfigured that names it, so a typo never leaves
the cache silently on its defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..options import checked_flag, checked_options

AUTO, PROCESS, SHARED = "auto", "process", "shared"
COHERENCE_MODES = (AUTO, PROCESS, SHARED)

DEFAULT_EXCLUDED_TABLES = frozenset({"django_migrations", "django_session"})
KNOWN = frozenset(
    {
        "ENABLED",
        "MAXSIZE",
        "TTL",
        "MAX_ROWS",
        "ONLY_TABLES",
        "EXCLUDE_TABLES",
        "TABLES",
        "COHERENCE",
        "SHARED_CACHE",
    }
)

# Django cache backends whose entries every process of every host sees.
CROSS_PROCESS_BACKENDS = (
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
    "django.core.cache.backends.db.DatabaseCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)


@dataclass(frozen=True)
class CacheSettings:
    enabled: bool = True
    maxsize: int = 10_000
    ttl: float = 300.0
    max_rows: int = 1_000
    only_tables: frozenset[str] | None = None
    exclude_tables: frozenset[str] = DEFAULT_EXCLUDED_TABLES
    table_ttls: Mapping[str, float] = field(default_factory=dict)
    coherence: str = AUTO
    shared_cache: str = "default"

    def ttl_of(self, tables: frozenset[str]) -> float:
        """The shortest TTL of the tables a read depends on."""
        return min((self.table_ttls.get(table, self.ttl) for table in tables), default=self.ttl)


def _number(where: str, value: Any, *, integer: bool, minimum: float) -> Any:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ImproperlyConfigured(f"{where} must be {kind} >= {minimum}, not {value!r}.")
    return value


def _tables(where: str, value: Any) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ImproperlyConfigured(f"{where} must be a list of table names, not {value!r}.")
    if not all(isinstance(table, str) for table in value):
        raise ImproperlyConfigured(f"{where} must hold table names (strings), not {value!r}.")
    return frozenset(value)


def parse_cache_settings(alias: str, options: Mapping[str, Any] | None) -> CacheSettings:
    """The CacheSettings of ``DATABASES[alias]["OPTIONS"]["CACHE"]`` (None: the defaults)."""
    where, options = checked_options(alias, "CACHE", options, KNOWN)
    values: dict[str, Any] = {}
    if "ENABLED" in options:
        values["enabled"] = checked_flag(f"{where}['ENABLED']", options["ENABLED"])
    if "MAXSIZE" in options:
        values["maxsize"] = _number(f"{where}['MAXSIZE']", options["MAXSIZE"], integer=True, minimum=1)
    if "TTL" in options:
        values["ttl"] = float(_number(f"{where}['TTL']", options["TTL"], integer=False, minimum=0))
    if "MAX_ROWS" in options:
        values["max_rows"] = _number(f"{where}['MAX_ROWS']", options["MAX_ROWS"], integer=True, minimum=0)
    if options.get("ONLY_TABLES") is not None:
        values["only_tables"] = _tables(f"{where}['ONLY_TABLES']", options["ONLY_TABLES"])
    if "EXCLUDE_TABLES" in options:
        values["exclude_tables"] = _tables(f"{where}['EXCLUDE_TABLES']", options["EXCLUDE_TABLES"])
    if "TABLES" in options:
        values["table_ttls"] = _table_ttls(f"{where}['TABLES']", options["TABLES"])
    if "COHERENCE" in options:
        if options["COHERENCE"] not in COHERENCE_MODES:
            raise ImproperlyConfigured(
                f"{where}['COHERENCE'] must be one of {list(COHERENCE_MODES)}, not {options['COHERENCE']!r}."
            )
        values["coherence"] = options["COHERENCE"]
    if "SHARED_CACHE" in options:
        if not isinstance(options["SHARED_CACHE"], str):
            raise ImproperlyConfigured(
                f"{where}['SHARED_CACHE'] must name a CACHES alias, not {options['SHARED_CACHE']!r}."
            )
        values["shared_cache"] = options["SHARED_CACHE"]
    return CacheSettings(**values)


def _table_ttls(where: str, value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{where} must map table names to {{'TTL': seconds}}, not {value!r}.")
    ttls = {}
    for table, table_options in value.items():
        if not isinstance(table_options, Mapping) or set(table_options) - {"TTL"}:
            raise ImproperlyConfigured(f"{where}[{table!r}] takes only a 'TTL' key, not {table_options!r}.")
        if "TTL" in table_options:
            ttls[table] = float(
                _number(f"{where}[{table!r}]['TTL']", table_options["TTL"], integer=False, minimum=0)
            )
    return ttls


def resolved_coherence(settings: CacheSettings) -> str:
    """``process`` or ``shared``: ``auto`` is shared when SHARED_CACHE is a cross-process backend."""
    if settings.coherence != AUTO:
        return settings.coherence
    from django.conf import settings as django_settings

    backend = django_settings.CACHES.get(settings.shared_cache, {}).get("BACKEND", "")
    return SHARED if backend in CROSS_PROCESS_BACKENDS else PROCESS
