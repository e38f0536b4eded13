"""The value encoding of the PhantomDB REST API: what JSON lacks, as ``$`` objects.

Shared by the client and PhantomDB Lite so that both sides agree on one
lossless scheme (docs/rest-api.md, "Values").
"""

from __future__ import annotations

import base64
import datetime
import decimal
import math
import uuid
from collections.abc import Callable, Sequence
from typing import Any

_PLAIN_TYPES = frozenset({type(None), bool, int, str})


def _encode_float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _encode_datetime(value: datetime.datetime) -> dict[str, str]:
    return {"$datetime": value.isoformat()}


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    float: _encode_float,
    bytes: lambda v: {"$bytes": base64.b64encode(v).decode("ascii")},
    bytearray: lambda v: {"$bytes": base64.b64encode(v).decode("ascii")},
    memoryview: lambda v: {"$bytes": base64.b64encode(v).decode("ascii")},
    decimal.Decimal: lambda v: {"$decimal": str(v)},
    datetime.datetime: _encode_datetime,
    datetime.date: lambda v: {"$date": v.isoformat()},
    datetime.time: lambda v: {"$time": v.isoformat()},
    datetime.timedelta: lambda v: {"$duration": (v.days * 86400 + v.seconds) * 1_000_000 + v.microseconds},
    uuid.UUID: lambda v: {"$uuid": v.hex},
}


def encode_value(value: Any) -> Any:
    """Return ``value`` in its JSON form; raise TypeError for unsupported types."""
    if type(value) in _PLAIN_TYPES:
        return value
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        # Subclasses of the plain types (str and int enums, Django's choices)
        # travel as their plain value.
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, int):
            return int.__int__(value)
        for base, base_encoder in _ENCODERS.items():
            if isinstance(value, base):
                encoder = base_encoder
                break
        else:
            raise TypeError(f"PhantomDB cannot send a value of type {type(value).__name__}")
    return encoder(value)


def encode_params(params: Sequence[Any] | None) -> list[Any]:
    """Encode a parameter list; plain values pass through untouched."""
    if not params:
        return []
    return [value if type(value) in _PLAIN_TYPES else encode_value(value) for value in params]


_FLOAT_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "$bytes": lambda v: base64.b64decode(v, validate=True),
    "$decimal": decimal.Decimal,
    "$date": datetime.date.fromisoformat,
    "$time": datetime.time.fromisoformat,
    "$datetime": datetime.datetime.fromisoformat,
    "$duration": lambda v: datetime.timedelta(microseconds=v),
    "$uuid": uuid.UUID,
    "$float": _FLOAT_WORDS.__getitem__,
}


def decode_value(value: Any) -> Any:
    """Return the Python value of a JSON form; raise ValueError for a bad ``$`` object."""
    if type(value) is not dict:
        return value
    if len(value) != 1:
        raise ValueError("an encoded value is an object with exactly one '$' key")
    ((tag, payload),) = value.items()
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise ValueError(f"unknown value encoding {tag!r}")
    try:
        return decoder(payload)
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError, OverflowError) as exc:
        raise ValueError(f"bad {tag} value: {payload!r}") from exc


def decode_params(params: Sequence[Any]) -> list[Any]:
    """Decode a parameter list; plain values pass through untouched."""
    return [decode_value(value) if type(value) is dict else value for value in params]


def decode_rows(rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    """Decode every ``$`` value of a result; only called when a response says ``encoded``."""
    return [tuple(decode_value(v) if type(v) is dict else v for v in row) for row in rows]
