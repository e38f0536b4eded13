"""Client SQL fragments in table calls: conditions, orderings and update expressions.

A fragment may read only its own table and must be one expression. Two checks
enforce it. Before SQL is built, ``check_fragment`` refuses a fragment that
could close the parentheses it is put in, start another statement, or hold a
subquery (SELECT, VALUES, WITH outside literals and quoted names). While the
statement is prepared, ``FragmentGuard`` (an SQLite authorizer) refuses a read
of any other table (``x IN other_table`` needs no SELECT) and anything that is
not a read or a function call: SQLite itself says what the statement touches.

The guard cannot count SELECTs to find subqueries: SQLite prepares a statement
again when a bound value changes its plan (LIKE with a parameter), and the
callbacks of the second preparation look like those of a subquery.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from typing import Any

from phantomdb.server.errors import ApiError

# What cannot hold a parenthesis or semicolon of the SQL itself: string
# literals, quoted identifiers and comments.
_OPAQUE = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/", re.DOTALL)
# Left over after those are blanked out, these start something unterminated.
_UNTERMINATED = re.compile(r"['\"`\[;]|/\*")
_SUBQUERY = re.compile(r"\b(?:SELECT|VALUES|WITH)\b", re.IGNORECASE)
_PARENTHESES = re.compile(r"[()]")


def not_allowed(what: str, reason: str) -> ApiError:
    return ApiError("condition_not_allowed", f"The {what} is not allowed: {reason}")


@functools.lru_cache(maxsize=4096)
def check_fragment(text: str, what: str) -> str:
    """Return ``text`` if it is a candidate single expression, else raise ``condition_not_allowed``.

    Cached: a client sends the same few fragments over and over (one per statement).
    """
    if not text.strip():
        raise ApiError("invalid_request", f"The {what} is empty")
    bare = _OPAQUE.sub(" ", text)
    found = _UNTERMINATED.search(bare)
    if found is not None:
        if found.group() == ";":
            raise not_allowed(what, "it holds more than one statement")
        raise not_allowed(what, f"it has an unterminated {found.group()}")
    depth = 0
    for parenthesis in _PARENTHESES.findall(bare):
        depth += 1 if parenthesis == "(" else -1
        if depth < 0:
            raise not_allowed(what, "it closes a parenthesis it did not open")
    if depth:
        raise not_allowed(what, "it leaves a parenthesis open")
    if _SUBQUERY.search(bare):
        raise not_allowed(what, "it holds a subquery")
    return text


def quote(identifier: str) -> str:
    """Quote an identifier for SQLite.

    Backticks, not double quotes: SQLite reads an unknown double-quoted name as
    a string literal, so a misspelt column would silently select a constant.
    """
    return "`" + identifier.replace("`", "``") + "`"


class FragmentGuard:
    """An SQLite authorizer for a statement that reads one table through client fragments.

    Allowed: SELECT (``check_fragment`` keeps subqueries out), reads of
    ``table`` or inside a view (only reachable by reading the view, which must
    then be ``table``) and function calls. ``violation`` says why the first
    refused action was refused.
    """

    __slots__ = ("table", "violation", "what")

    def __init__(self, table: str, what: str):
        self.table = table.lower()
        self.what = what
        self.violation: str | None = None

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
        if action == sqlite3.SQLITE_READ:
            if source is not None or (arg1 or "").lower() == self.table:
                return sqlite3.SQLITE_OK
            self.violation = f"it reads table '{arg1}'"
        elif action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION):
            return sqlite3.SQLITE_OK
        else:
            self.violation = "it does more than read the table"
        return sqlite3.SQLITE_DENY

    def execute(self, conn: Any, sql: str, params: list[Any]) -> sqlite3.Cursor:
        """Prepare and run ``sql`` on ``conn`` (a StorageConnection) under this guard."""
        conn.guard = self
        try:
            return conn.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            if self.violation is not None:
                raise not_allowed(self.what, self.violation) from None
            if isinstance(exc, sqlite3.ProgrammingError) and "one statement at a time" in str(exc):
                raise not_allowed(self.what, "it holds more than one statement") from None
            raise
        finally:
            conn.guard = None
