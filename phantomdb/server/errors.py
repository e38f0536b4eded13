"""The one exception PhantomDB Lite raises, and SQLite's errors mapped onto API codes.

Every failure that reaches a client is an ``ApiError``: a stable code from
``phantomdb.errors.ERROR_CODES`` (which fixes the HTTP status) and a message.
"""

from __future__ import annotations

import re
import sqlite3

from phantomdb.errors import ERROR_CODES


class ApiError(Exception):
    """A request the server refuses or could not carry out."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = ERROR_CODES[code][0]


_INTEGRITY_CODES = {
    "SQLITE_CONSTRAINT_UNIQUE": "unique_violation",
    "SQLITE_CONSTRAINT_PRIMARYKEY": "unique_violation",
    "SQLITE_CONSTRAINT_ROWID": "unique_violation",
    "SQLITE_CONSTRAINT_FOREIGNKEY": "foreign_key_violation",
    "SQLITE_CONSTRAINT_NOTNULL": "not_null_violation",
    "SQLITE_CONSTRAINT_CHECK": "check_violation",
}

_NO_SUCH_TABLE = re.compile(r"no such table: (?:\w+\.)?(.+)")
_NO_SUCH_COLUMN = re.compile(r"no such column: (.+)")
_NO_COLUMN_NAMED = re.compile(r"table \S+ has no column named (.+)")
_STORAGE_FAILURES = ("SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_CORRUPT", "SQLITE_NOMEM")
_DATA_FAILURES = ("SQLITE_MISMATCH", "SQLITE_RANGE")
# Messages of statements that failed while they ran (not for their text): a
# function of the library raised (an invalid regular expression, an unknown
# time zone), malformed JSON, arithmetic past 64 bits, TEXT that is not UTF-8.
_RUN_TIME_FAILURES = (
    "user-defined function raised exception",
    "malformed JSON",
    "integer overflow",
    "Could not decode to UTF-8",
)


def table_not_found(name: str) -> ApiError:
    return ApiError("table_not_found", f"Table '{name}' does not exist")


def translate_sqlite_error(exc: Exception) -> ApiError:
    """Map an exception raised by the sqlite3 module to the API error a client sees."""
    message = str(exc)
    errorname = getattr(exc, "sqlite_errorname", "")
    if isinstance(exc, sqlite3.IntegrityError):
        return ApiError(_INTEGRITY_CODES.get(errorname, "check_violation"), message)
    if isinstance(exc, OverflowError):
        return ApiError("data_error", message)
    if errorname.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return ApiError("database_locked", f"Database is locked: {message}")
    if match := _NO_SUCH_TABLE.fullmatch(message):
        return table_not_found(match.group(1))
    if match := _NO_SUCH_COLUMN.fullmatch(message) or _NO_COLUMN_NAMED.fullmatch(message):
        return ApiError("column_not_found", f"Column '{match.group(1)}' does not exist")
    if message == "integer overflow":  # SQLite's arithmetic (abs, sum) past 64 bits
        return ApiError("statement_failed", "Integer overflow: the result does not fit in 64 bits")
    if message.startswith(_RUN_TIME_FAILURES):
        return ApiError("statement_failed", message)
    if errorname == "SQLITE_AUTH":
        return ApiError(
            "not_supported", "PhantomDB Lite does not open other database files (ATTACH, VACUUM INTO)"
        )
    if message.startswith("Cannot operate on a closed database"):
        return ApiError("operational_error", "The database was dropped while the call ran")
    if errorname.startswith(_STORAGE_FAILURES):
        return ApiError("operational_error", message)
    if errorname == "SQLITE_TOOBIG":
        return ApiError(
            "data_error", f"A value is larger than the server's limit (--max-response-bytes): {message}"
        )
    if isinstance(exc, sqlite3.DataError) or errorname in _DATA_FAILURES:
        return ApiError("data_error", message)
    if isinstance(exc, sqlite3.NotSupportedError):
        return ApiError("not_supported", message)
    return ApiError("syntax_error", message)
