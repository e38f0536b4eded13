"""The links of a PhantomDB connection's executor chain, in the one order they run.

Outermost first: telemetry (spans and metrics around the whole call, cache
hits included), the query-result cache, the DEBUG call log (so it logs what
reaches the server), and finally the transport (``phantomdb.chain.RestCall``,
added by the connection itself). With ``CACHE_HIT_SPANS`` off, telemetry is
split: its metrics stay outermost, its spans move inside the cache, where
hits never arrive.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from phantomdb.chain import Link

from .cache.link import CacheOutcome, cache_link
from .cache.settings import parse_cache_settings, resolved_coherence
from .cache.store import store_for
from .call_log import CallLog
from .telemetry.link import telemetry_link
from .telemetry.metrics import metrics_for, serve_metrics
from .telemetry.settings import parse_telemetry_settings


def chain_links(wrapper: Any, url: str) -> list[Link]:
    """The links for a new connection of ``wrapper`` (a DatabaseWrapper) to ``url``, from its settings."""
    options = wrapper.settings_dict["OPTIONS"]
    database = wrapper.settings_dict["NAME"]
    cache = parse_cache_settings(wrapper.alias, options.get("CACHE"))
    wrapper.query_cache = (
        store_for(wrapper.alias, cache, resolved_coherence(cache)) if cache.enabled else None
    )
    outcome = CacheOutcome() if cache.enabled else None
    cache_links = [cache_link(wrapper.query_cache, database, outcome)] if outcome is not None else []
    telemetry = parse_telemetry_settings(wrapper.alias, options.get("TELEMETRY"))
    metrics = metrics_for(telemetry.metric_prefix, telemetry.buckets) if telemetry.metrics else None
    if metrics is not None and telemetry.metrics_port is not None:
        serve_metrics(telemetry.metrics_port)
    if not (telemetry.tracing or metrics):
        return [*cache_links, CallLog]
    address = urlsplit(url)
    bound = {
        "alias": wrapper.alias,
        "database": database,
        "server": (address.hostname or "", address.port),
        "settings": telemetry,
        "store": wrapper.query_cache,
        "cache_outcome": outcome,
    }
    if telemetry.cache_hit_spans or not cache.enabled:
        return [telemetry_link(**bound, metrics=metrics, spans=telemetry.tracing), *cache_links, CallLog]
    return [
        telemetry_link(**bound, metrics=metrics, spans=False),
        *cache_links,
        telemetry_link(**bound, metrics=None, spans=telemetry.tracing, inside_cache=True),
        CallLog,
    ]
