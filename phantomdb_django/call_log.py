"""The call log link: a DEBUG line per call with its shape and duration, never its values."""

from __future__ import annotations

import logging
import time

from phantomdb.calls import Call
from phantomdb.chain import Execute, Params
from phantomdb.client import Result

logger = logging.getLogger("phantomdb_django")


class CallLog:
    """Logs ``operation subject in N ms: sql`` at DEBUG on the ``phantomdb_django`` logger.

    The level is checked per call, so turning DEBUG on takes effect at once.
    """

    def __init__(self, next_execute: Execute):
        self.next_execute = next_execute

    def __call__(self, call: Call, params: Params, transaction: str | None) -> Result:
        if not logger.isEnabledFor(logging.DEBUG):
            return self.next_execute(call, params, transaction)
        started = time.perf_counter()
        try:
            return self.next_execute(call, params, transaction)
        finally:
            logger.debug(
                "%s %s in %.2f ms: %s",
                call.operation,
                call.table or call.name or call.statement,
                (time.perf_counter() - started) * 1000,
                call.sql,
            )
