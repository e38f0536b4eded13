"""The links of a PhantomDB connection's executor chain, in the one order they run.

Outermost first: telemetry (spans and metrics around the whole call, cache
hits included), the query-result cache, the DEBUG call log, and finally the
transport (``phantomdb.chain.RestCall``, added by the connection itself).
"""

from __future__ import annotations

from typing import Any

from phantomdb.chain import Link

from .call_log import CallLog


def chain_links(wrapper: Any) -> list[Link]:
    """The links for a new connection of ``wrapper`` (a DatabaseWrapper), from its settings."""
    return [CallLog]
