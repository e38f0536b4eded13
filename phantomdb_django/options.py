"""Checks shared by the dict-valued ``OPTIONS`` keys (``CACHE``, ``TELEMETRY``): errors that name the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def checked_options(
    alias: str, key: str, options: Any, known: frozenset[str]
) -> tuple[str, Mapping[str, Any]]:
    """Where ``DATABASES[alias]["OPTIONS"][key]`` is (for messages) and its keys (None: none, the
    defaults); an ImproperlyConfigured naming it when it is not a dict of known keys."""
    where = f"DATABASES[{alias!r}]['OPTIONS'][{key!r}]"
    if options is None:
        return where, {}
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict, not {options!r}.")
    unknown = set(options) - known
    if unknown:
        raise ImproperlyConfigured(f"Unknown keys {sorted(unknown)} in {where}; known: {sorted(known)}.")
    return where, options


def checked_flag(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{where} must be True or False, not {value!r}.")
    return value
