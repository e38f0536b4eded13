"""Request values to what SQLite stores, as the table of docs/rest-api.md ("Values") says.

A decoded ``$`` value becomes the storage form every reader of the database
agrees on: dates and times as ISO text (a space between date and time),
decimals as their text, durations as integer microseconds, UUIDs as 32 hex
digits, booleans as 1 / 0.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from phantomdb.encoding import decode_params
from phantomdb.server.errors import ApiError
from phantomdb.server.messages import invalid

_STORED_AS_IS = frozenset({type(None), int, float, str, bytes})


def _microseconds(value: datetime.timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


_TO_STORAGE: dict[type, Callable[[Any], Any]] = {
    bool: int,
    decimal.Decimal: str,
    datetime.datetime: lambda value: value.isoformat(" "),
    datetime.date: datetime.date.isoformat,
    datetime.time: datetime.time.isoformat,
    datetime.timedelta: _microseconds,
    uuid.UUID: lambda value: value.hex,
}


def _to_storage(value: Any) -> Any:
    convert = _TO_STORAGE.get(type(value))
    if convert is None:
        raise invalid(f"A value must be a JSON scalar or a '$' object, not {type(value).__name__}")
    return convert(value)


def bind_values(values: Iterable[Any]) -> list[Any]:
    """Decode request values and convert them to SQLite's storage forms."""
    try:
        decoded = decode_params(list(values))
    except (ValueError, TypeError, AttributeError) as exc:
        # decode_value raises ValueError; a payload of the wrong JSON type ({"$uuid": {}})
        # can still slip through as TypeError or AttributeError: the value is bad either way.
        raise ApiError("data_error", f"Bad value: {exc}") from None
    except RecursionError:  # describing a payload nested a thousand deep
        raise ApiError("data_error", "Bad value: a '$' payload is nested too deeply") from None
    return [value if type(value) in _STORED_AS_IS else _to_storage(value) for value in decoded]


def bind_params(params: Any, name: str = "params") -> list[Any]:
    """``bind_values`` for a ``params`` field, which must be a list when given."""
    if params is None:
        return []
    if not isinstance(params, list):
        raise invalid(f"'{name}' must be a list")
    return bind_values(params)
