"""The PhantomDB SQL function library, registered on every PhantomDB Lite connection.

``register_functions(conn)`` adds the functions documented in
docs/sql-functions.md to a ``sqlite3.Connection``:

- date/time with time zones (temporal.py), named and ordered like the
  ``django_*`` functions of Django's SQLite backend, without the prefix;
- REGEXP, a deterministic case-sensitive LIKE, CASEFOLD / UNICODE_LOWER /
  UNICODE_UPPER, LPAD / RPAD / REPEAT / REVERSE and the MD5 / SHA* digests
  (text.py);
- the SQLite math functions when this SQLite lacks them, COT, SIGN, BITXOR,
  RAND, the STDDEV_* / VAR_* aggregates and ANY_VALUE, BIT_AND, BIT_OR,
  BIT_XOR (numeric.py).

This package must not import Django: PhantomDB Lite runs without it.
"""

from __future__ import annotations

import sqlite3
import threading

from . import numeric, temporal, text

__all__ = ["missing_builtins", "register_functions"]

_probe_lock = threading.Lock()
_missing: frozenset[tuple[str, int]] | None = None


def _probe_missing() -> frozenset[tuple[str, int]]:
    """The (name, arity) pairs of numeric.MATH_FUNCTIONS this SQLite library does not provide."""
    missing = set()
    probe = sqlite3.connect(":memory:")
    try:
        for name, arity, _function in numeric.MATH_FUNCTIONS:
            arguments = ", ".join(["1"] * arity)
            try:
                probe.execute(f"SELECT {name}({arguments})").fetchone()
            except sqlite3.OperationalError as error:
                message = str(error)
                if "no such function" in message or "wrong number of arguments" in message:
                    missing.add((name, arity))
    finally:
        probe.close()
    return frozenset(missing)


def missing_builtins() -> frozenset[tuple[str, int]]:
    """Math (name, arity) pairs SQLite lacks here; probed once per process (the library is shared)."""
    global _missing
    if _missing is None:
        with _probe_lock:
            if _missing is None:
                _missing = _probe_missing()
    return _missing


def register_functions(conn: sqlite3.Connection, regexp_timeout: float = 30.0) -> None:
    """Register the PhantomDB SQL function library on ``conn``; one REGEXP match gives up after
    ``regexp_timeout`` seconds (the server passes its statement time limit)."""
    create = conn.create_function

    for name, arity, function in temporal.FUNCTIONS:
        create(name, arity, function, deterministic=True)

    create("REGEXP", 2, text.make_regexp(regexp_timeout), deterministic=True)
    # Case-sensitive LIKE that SQLite accepts where deterministic functions are required.
    create("LIKE", 2, text.like, deterministic=True)
    create("LIKE", 3, text.like_escaped, deterministic=True)
    create("CASEFOLD", 1, text.casefold, deterministic=True)
    create("UNICODE_LOWER", 1, text.unicode_lower, deterministic=True)
    create("UNICODE_UPPER", 1, text.unicode_upper, deterministic=True)
    # SQLite's own LOWER/UPPER change ASCII letters only; PhantomDB's, like
    # PostgreSQL's, are right for all of Unicode (Django's Lower()/Upper()).
    create("LOWER", 1, text.unicode_lower, deterministic=True)
    create("UPPER", 1, text.unicode_upper, deterministic=True)
    lpad, rpad, repeat = text.make_padding_functions(conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH))
    create("LPAD", 3, lpad, deterministic=True)
    create("RPAD", 3, rpad, deterministic=True)
    create("REPEAT", 2, repeat, deterministic=True)
    create("REVERSE", 1, text.reverse, deterministic=True)
    for name, function in text.HASH_FUNCTIONS:
        create(name, 1, function, deterministic=True)

    missing = missing_builtins()
    for name, arity, function in numeric.MATH_FUNCTIONS:
        if (name, arity) in missing:
            create(name, arity, function, deterministic=True)
    create("BITXOR", 2, numeric.bitxor, deterministic=True)
    create("RAND", 0, numeric.rand)

    add_aggregate = getattr(conn, "create_window_function", None)
    for name, aggregate in numeric.AGGREGATES:
        if add_aggregate is not None:
            add_aggregate(name, 1, aggregate)
        else:  # pragma: no cover - SQLite older than 3.25
            conn.create_aggregate(name, 1, aggregate)
    for name, factory in numeric.PLAIN_AGGREGATES:
        conn.create_aggregate(name, 1, factory)
