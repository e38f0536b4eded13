"""Numeric functions and statistical aggregates (docs/sql-functions.md, "Math").

The math functions mirror SQLite's built-in math functions (which exist when
SQLite is compiled with SQLITE_ENABLE_MATH_FUNCTIONS) and are registered only
where the built-in is missing: NULL or non-numeric argument -> NULL, a domain
error (sqrt(-1), ln(0), acos(2)) -> NULL, an overflowing exp() -> Inf.
"""

from __future__ import annotations

import functools
import math
import operator
import random
import re
from collections.abc import Callable
from typing import Any

_INF = math.inf


_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:\d+(\.\d*)?|(\.)\d+)(?:([eE])[+-]?\d+)?\s*", re.ASCII)


def to_number(value):
    """An int or float from ``value`` as SQLite's math functions read it; ``None`` if not numeric.

    Text counts when it is entirely a decimal number (blanks around allowed), as in SQLite.
    """
    cls = value.__class__
    if cls is int or cls is float:
        return value
    if cls is str:
        match = _NUMERIC_TEXT.fullmatch(value)
        if match is None:
            return None
        if match.group(1) or match.group(2) or match.group(3):
            return float(value)
        number = int(value)
        # Beyond 64 bits SQLite reads the text as REAL.
        return number if -(2**63) <= number < 2**63 else float(number)
    return None


def _unary(function, overflow=None):
    def wrapper(x):
        x = to_number(x)
        if x is None:
            return None
        try:
            return function(x)
        except OverflowError:
            return overflow
        except (ValueError, ZeroDivisionError):
            return None

    wrapper.__name__ = function.__name__
    return wrapper


def _binary(function):
    def wrapper(x, y):
        x = to_number(x)
        y = to_number(y)
        if x is None or y is None:
            return None
        try:
            return function(x, y)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None

    wrapper.__name__ = function.__name__
    return wrapper


def _ceil(x):
    # SQLite: integer in -> integer out; real in -> real out.
    if x.__class__ is int or not math.isfinite(x):
        return x
    return float(math.ceil(x))


def _floor(x):
    if x.__class__ is int or not math.isfinite(x):
        return x
    return float(math.floor(x))


def _trunc(x):
    if x.__class__ is int or not math.isfinite(x):
        return x
    return float(math.trunc(x))


def _log(base, x):
    # LOG(B, X) is the logarithm of X to base B, as in SQLite and the SQL standard;
    # like SQLite, a base not above 1 gives NULL.
    if base <= 1:
        return None
    return math.log(x) / math.log(base)


def _power(x, y):
    # C pow() semantics, as SQLite's POWER: 0 to a negative power is ±Inf, overflow is ±Inf,
    # and a result that is not a real number (negative base, fractional exponent) is NULL.
    odd = float(y).is_integer() and abs(y) < 2**63 and int(y) % 2 == 1
    try:
        return math.pow(x, y)
    except OverflowError:
        return -_INF if x < 0 and odd else _INF
    except ValueError:
        if x == 0 and y < 0:
            return math.copysign(_INF, x) if odd else _INF
        return None


def _cot(x):
    return 1.0 / math.tan(x)


def _sign(x):
    if x != x:
        return None
    return (x > 0) - (x < 0)


# (name, number of arguments, function) in the form SQLite's math functions have.
MATH_FUNCTIONS = [
    ("ACOS", 1, _unary(math.acos)),
    ("ASIN", 1, _unary(math.asin)),
    ("ATAN", 1, _unary(math.atan)),
    ("ATAN2", 2, _binary(math.atan2)),
    ("CEIL", 1, _unary(_ceil)),
    ("CEILING", 1, _unary(_ceil)),
    ("COS", 1, _unary(math.cos)),
    ("COT", 1, _unary(_cot)),
    ("DEGREES", 1, _unary(math.degrees)),
    ("EXP", 1, _unary(math.exp, overflow=_INF)),
    ("FLOOR", 1, _unary(_floor)),
    ("LN", 1, _unary(math.log)),
    ("LOG", 1, _unary(math.log10)),
    ("LOG", 2, _binary(_log)),
    ("LOG10", 1, _unary(math.log10)),
    ("LOG2", 1, _unary(math.log2)),
    ("MOD", 2, _binary(math.fmod)),
    ("PI", 0, lambda: math.pi),
    ("POW", 2, _binary(_power)),
    ("POWER", 2, _binary(_power)),
    ("RADIANS", 1, _unary(math.radians)),
    ("SIGN", 1, _unary(_sign)),
    ("SIN", 1, _unary(math.sin)),
    ("SQRT", 1, _unary(math.sqrt)),
    ("TAN", 1, _unary(math.tan)),
    ("TRUNC", 1, _unary(_trunc)),
]


def _to_integer(value):
    cls = value.__class__
    if cls is int:
        return value
    number = to_number(value)
    if number is None:
        return None
    if number.__class__ is float:
        if not math.isfinite(number):
            return None
        number = int(number)
    return number if -(2**63) <= number < 2**63 else None


def bitxor(x, y):
    """BITXOR(x, y): bitwise exclusive or of two 64-bit integers."""
    x = _to_integer(x)
    y = _to_integer(y)
    if x is None or y is None:
        return None
    return x ^ y


def rand():
    """RAND(): a random float in [0, 1) (SQLite's RANDOM() is a 64-bit integer)."""
    return random.random()


# --------------------------------------------------------------------------
# Aggregates: STDDEV_POP, STDDEV_SAMP, VAR_POP, VAR_SAMP
# --------------------------------------------------------------------------


class _Moments:
    """Running count, mean and sum of squared deviations (Welford), with removal.

    NULL and non-numeric values are skipped, as every SQL aggregate skips NULL.
    Usable as a plain aggregate and as an aggregate window function.
    """

    __slots__ = ("count", "m2", "mean")

    def __init__(self):
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0

    def step(self, value):
        value = to_number(value)
        if value is None:
            return
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (value - self.mean)

    def inverse(self, value):
        value = to_number(value)
        if value is None:
            return
        if self.count <= 1:
            self.count = 0
            self.mean = 0.0
            self.m2 = 0.0
            return
        self.count -= 1
        delta = value - self.mean
        self.mean -= delta / self.count
        self.m2 -= delta * (value - self.mean)
        if self.m2 < 0.0:
            self.m2 = 0.0

    def _variance(self, correction: int):
        if self.count <= correction:
            return None
        return self.m2 / (self.count - correction)

    def value(self):
        return self.finalize()

    def finalize(self):  # pragma: no cover - overridden
        raise NotImplementedError


class VarPop(_Moments):
    """VAR_POP(x): population variance; NULL for no rows."""

    def finalize(self):
        return self._variance(0)


class VarSamp(_Moments):
    """VAR_SAMP(x): sample variance; NULL for fewer than two rows."""

    def finalize(self):
        return self._variance(1)


class StdDevPop(_Moments):
    """STDDEV_POP(x): population standard deviation; NULL for no rows."""

    def finalize(self):
        variance = self._variance(0)
        return None if variance is None else math.sqrt(variance)


class StdDevSamp(_Moments):
    """STDDEV_SAMP(x): sample standard deviation; NULL for fewer than two rows."""

    def finalize(self):
        variance = self._variance(1)
        return None if variance is None else math.sqrt(variance)


AGGREGATES = [
    ("STDDEV_POP", StdDevPop),
    ("STDDEV_SAMP", StdDevSamp),
    ("VAR_POP", VarPop),
    ("VAR_SAMP", VarSamp),
]


# --------------------------------------------------------------------------
# Aggregates: ANY_VALUE, BIT_AND, BIT_OR, BIT_XOR (Django 6's AnyValue, BitAnd, ...)
# --------------------------------------------------------------------------


class AnyValue:
    """ANY_VALUE(x): one non-NULL value of x (the first seen); NULL for none."""

    __slots__ = ("result",)

    def __init__(self):
        self.result = None

    def step(self, value):
        if self.result is None:
            self.result = value

    def finalize(self):
        return self.result


class Bitwise:
    """BIT_AND / BIT_OR / BIT_XOR(x): ``combine`` (and, or, xor) folded over the non-NULL
    values of x as 64-bit integers, read as by BITXOR (non-numbers are skipped like NULL);
    NULL for none."""

    __slots__ = ("combine", "result")

    def __init__(self, combine):
        self.combine = combine
        self.result = None

    def step(self, value):
        value = _to_integer(value)
        if value is not None:
            self.result = value if self.result is None else self.combine(self.result, value)

    def finalize(self):
        return self.result


# Plain aggregates: AND and OR cannot remove a row from a window frame.
PLAIN_AGGREGATES: list[tuple[str, Callable[[], Any]]] = [
    ("ANY_VALUE", AnyValue),
    ("BIT_AND", functools.partial(Bitwise, operator.and_)),
    ("BIT_OR", functools.partial(Bitwise, operator.or_)),
    ("BIT_XOR", functools.partial(Bitwise, operator.xor)),
]
