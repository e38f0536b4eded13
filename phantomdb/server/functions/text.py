"""Text functions: REGEXP, Unicode case handling, padding, hashing (docs/sql-functions.md).

NULL in any argument gives NULL. Numbers given where text is expected are
rendered as SQLite renders them; BLOBs are read as UTF-8.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import regex

# SQLite's default SQLITE_MAX_LENGTH; register_functions passes the connection's own limit.
DEFAULT_MAX_LENGTH = 1_000_000_000


def both_as_text(first: object, second: object) -> tuple[str, str] | None:
    """Both values as TEXT, or None when either is NULL (a NULL argument gives NULL)."""
    if first is None or second is None:
        return None
    return (
        first if first.__class__ is str else as_text(first),  # type: ignore[return-value]
        second if second.__class__ is str else as_text(second),
    )


def as_text(value: object) -> str | None:
    """``value`` as SQLite would convert it to TEXT (``None`` stays ``None``)."""
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[return-value]
    if cls is int:
        return str(value)
    if cls is float:
        return _float_text(value)  # type: ignore[arg-type]
    if cls is bytes:
        return value.decode("utf-8", "replace")  # type: ignore[attr-defined]
    if value is None:
        return None
    return str(value)


def _float_text(value: float) -> str:
    # SQLite renders REAL with printf("%!.15g"): 15 significant digits, always a '.'.
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Inf" if value > 0 else "-Inf"
    rendered = f"{value:.15g}"
    mantissa, e, exponent = rendered.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + e + exponent


# --------------------------------------------------------------------------
# REGEXP
# --------------------------------------------------------------------------

_compile = lru_cache(maxsize=512)(regex.compile)


def make_regexp(timeout: float):
    """REGEXP(pattern, value) -> 1 if ``re.search`` semantics find pattern in value, else 0.

    ``value REGEXP pattern`` calls this. Case-sensitive unless the pattern
    starts with ``(?i)``. An invalid pattern fails the statement. The ``regex``
    module (``re``'s syntax) matches without the GIL and gives up after
    ``timeout`` seconds, so a catastrophic pattern such as ``^(a+)+$`` can
    neither stall the server nor outlive the statement time limit.
    """

    def regexp(pattern, value):
        texts = both_as_text(pattern, value)
        if texts is None:
            return None
        pattern, value = texts
        return 1 if _compile(pattern).search(value, concurrent=True, timeout=timeout) is not None else 0

    return regexp


# --------------------------------------------------------------------------
# LIKE
# --------------------------------------------------------------------------

_NEVER = re.compile(r"(?!)")


@lru_cache(maxsize=512)
def _like_pattern(pattern: str, escape: str | None) -> re.Pattern[str]:
    """The regular expression that matches what the LIKE ``pattern`` matches."""
    parts = []
    characters = iter(pattern)
    for char in characters:
        if char == escape:
            escaped = next(characters, None)
            if escaped is None:  # a pattern ending in its escape character matches nothing
                return _NEVER
            parts.append(re.escape(escaped))
        elif char == "%":
            if not parts or parts[-1] != ".*":  # "%%" is "%": no regex that backtracks
                parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def like(pattern, value, escape=None):
    """LIKE(pattern, value[, escape]): ``value LIKE pattern [ESCAPE escape]``, case-sensitive.

    SQLite's own case-sensitive LIKE (PRAGMA case_sensitive_like) is not
    deterministic, so SQLite refuses it in generated columns, CHECK
    constraints, index expressions and partial-index conditions; this one is
    registered as deterministic and may be used there.
    """
    texts = both_as_text(pattern, value)
    if texts is None:
        return None
    pattern, value = texts
    if escape is not None and escape.__class__ is not str:
        escape = as_text(escape)
    if escape is not None and len(escape) != 1:
        raise ValueError("ESCAPE expression must be a single character")
    return 1 if _like_pattern(pattern, escape).fullmatch(value) is not None else 0


def like_escaped(pattern, value, escape):
    """LIKE with an ESCAPE clause: NULL when the escape character is NULL, as in SQLite."""
    if escape is None:
        return None
    return like(pattern, value, escape)


# --------------------------------------------------------------------------
# Case
# --------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _simple_fold(char: str) -> str:
    """Unicode simple case folding of one code point (always one code point)."""
    folded = char.casefold()
    if len(folded) == 1:
        return folded
    # The full folding expands (ß -> ss, ﬁ -> fi, İ -> i̇, ᾈ -> ἀι). Simple folding
    # then maps to the one-code-point lowercase where there is one (ẞ -> ß, ᾈ -> ᾀ),
    # else leaves the character alone (ß, ﬁ, İ).
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


def casefold(value):
    """CASEFOLD(x): Unicode simple case folding; every character maps to exactly one.

    A non-text value is folded in its text form (``CAST(x AS TEXT)``), as
    SQLite's own LOWER and LIKE read it, so ``CASEFOLD(1) = CASEFOLD('1')``.
    """
    if value.__class__ is not str:
        return as_text(value)
    folded = value.casefold()
    # casefold() never drops a character, so equal lengths mean nothing expanded
    # and the full folding is the simple one (it is context-free).
    if len(folded) == len(value):
        return folded
    return "".join([_simple_fold(char) for char in value])


def unicode_lower(value):
    """UNICODE_LOWER(x): Python ``str.lower`` (full Unicode mapping, final sigma) of x's text form."""
    text = as_text(value)
    return None if text is None else text.lower()


def unicode_upper(value):
    """UNICODE_UPPER(x): Python ``str.upper`` (full Unicode mapping, 'ß' -> 'SS') of x's text form."""
    text = as_text(value)
    return None if text is None else text.upper()


# --------------------------------------------------------------------------
# Padding, repetition, reversal
# --------------------------------------------------------------------------


def _count(value) -> int | None:
    cls = value.__class__
    if cls is int:
        return value
    if cls is float:
        return int(value) if value == value and abs(value) != float("inf") else None
    if cls is str:
        try:
            return int(float(value))
        except (ValueError, OverflowError):
            return None
    return None


def _too_big(max_length: int) -> OverflowError:
    # sqlite3 reports an OverflowError from a function as SQLITE_TOOBIG (sqlite3.DataError).
    return OverflowError(f"result longer than {max_length} characters")


def make_padding_functions(max_length: int = DEFAULT_MAX_LENGTH):
    """LPAD, RPAD and REPEAT refusing results longer than ``max_length``."""

    def lpad(text, length, fill_text):
        """LPAD(text, length, fill_text): text left-filled (or cut) to ``length`` characters."""
        if text is None or length is None or fill_text is None:
            return None
        text = as_text(text)
        fill_text = as_text(fill_text)
        length = _count(length)
        if length is None:
            return None
        if length <= 0:
            return ""
        if length > max_length:
            raise _too_big(max_length)
        missing = length - len(text)
        if missing <= 0:
            return text[:length]
        if not fill_text:
            return text
        return (fill_text * (missing // len(fill_text) + 1))[:missing] + text

    def rpad(text, length, fill_text):
        """RPAD(text, length, fill_text): text right-filled (or cut) to ``length`` characters."""
        if text is None or length is None or fill_text is None:
            return None
        text = as_text(text)
        fill_text = as_text(fill_text)
        length = _count(length)
        if length is None:
            return None
        if length <= 0:
            return ""
        if length > max_length:
            raise _too_big(max_length)
        missing = length - len(text)
        if missing <= 0:
            return text[:length]
        if not fill_text:
            return text
        return text + (fill_text * (missing // len(fill_text) + 1))[:missing]

    def repeat(text, count):
        """REPEAT(text, count): text repeated ``count`` times ('' when count <= 0)."""
        if text is None or count is None:
            return None
        text = as_text(text)
        count = _count(count)
        if count is None:
            return None
        if count <= 0 or not text:
            return ""
        if len(text) * count > max_length:
            raise _too_big(max_length)
        return text * count

    return lpad, rpad, repeat


def reverse(text):
    """REVERSE(text): the characters (code points) of text in reverse order."""
    if text is None:
        return None
    return as_text(text)[::-1]


# --------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------


def _hasher(name: str):
    constructor = getattr(hashlib, name)

    def digest(value):
        if value is None:
            return None
        if value.__class__ is str:
            data = value.encode("utf-8", "surrogatepass")
        elif value.__class__ is bytes:
            data = value
        else:
            data = as_text(value).encode("utf-8")
        return constructor(data).hexdigest()

    digest.__name__ = name
    digest.__doc__ = (
        f"{name.upper()}(x): lowercase hex {name} digest of the UTF-8 bytes of x (BLOB: its bytes)."
    )
    return digest


HASH_FUNCTIONS = [
    (name.upper(), _hasher(name)) for name in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
]
