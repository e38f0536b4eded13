"""The links of a PhantomDB connection's executor chain, in the one order they run.

Outermost first: telemetry (spans and metrics around the whole call, cache
hits included), the query-result cache, the DEBUG call log (so it logs what
reaches the server), and finally the transport (``phantomdb.chain.RestCall``,
added by the connection itself).
"""

from __future__ import annotations

from typing import Any

from phantomdb.chain import Link

from .cache.link import cache_link
from .cache.settings import parse_cache_settings, resolved_coherence
from .cache.store import store_for
from .call_log import CallLog


def chain_links(wrapper: Any) -> list[Link]:
    """The links for a new connection of ``wrapper`` (a DatabaseWrapper), from its settings."""
    links: list[Link] = []
    cache = parse_cache_settings(wrapper.alias, wrapper.settings_dict["OPTIONS"].get("CACHE"))
    wrapper.query_cache = None
    if cache.enabled:
        wrapper.query_cache = store_for(wrapper.alias, cache, resolved_coherence(cache))
        links.append(cache_link(wrapper.query_cache, wrapper.settings_dict["NAME"]))
    links.append(CallLog)
    return links
