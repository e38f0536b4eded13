"""Checks shared by the dict-valued ``OPTIONS`` keys (``CACHE``, ``TELEMETRY``): errors that name the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def checked_options(where: str, options: Any, known: frozenset[str]) -> Mapping[str, Any]:
    """``options`` when it is a dict of known keys; else an ImproperlyConfigured naming ``where``."""
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict, not {options!r}.")
    unknown = set(options) - known
    if unknown:
        raise ImproperlyConfigured(f"Unknown keys {sorted(unknown)} in {where}; known: {sorted(known)}.")
    return options


def checked_flag(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{where} must be True or False, not {value!r}.")
    return value
