"""What a client statement may do on a PhantomDB Lite connection, decided by SQLite's authorizer.

SQLite tells the authorizer every function a statement calls, every PRAGMA,
table read and ATTACH, while it prepares the statement, so nothing here parses
SQL. Functions are an allow-list: SQLite's documented core, date, math, JSON
and window functions (``CORE_FUNCTIONS``) plus whatever the server itself
registered on the connection (the PhantomDB function library). Anything else
that the linked SQLite happens to provide (``fts3_tokenizer``, which hands out
memory addresses and lets a client crash the process) is refused. So are the
core functions that tell what an earlier statement on the connection did
(``changes()``, ``last_insert_rowid()``): on a pooled connection, another
client's call. The server's own statements do not call them (it reads counts
and rowids from its cursors), so no statement is exempt from the policy.

A statement that creates TEMP objects changes the connection for later
statements (a TEMP table shadows ``main``'s), so it marks the connection to
be closed instead of pooled.
"""

from __future__ import annotations

import sqlite3

CORE_FUNCTIONS = frozenset(
    {
        # scalar (lang_corefunc.html)
        # (not changes(), total_changes(), last_insert_rowid(): CONNECTION_HISTORY_FUNCTIONS)
        "abs", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex",
        "ifnull", "if", "iif", "instr", "length", "like", "likelihood", "likely",
        "sqlite_compileoption_get", "sqlite_compileoption_used",
        "lower", "ltrim", "max", "min", "nullif", "octet_length", "printf", "quote", "random",
        "randomblob", "replace", "round", "rtrim", "sign", "soundex", "sqlite_source_id",
        "sqlite_version", "substr", "substring", "trim", "typeof", "unhex",
        "unicode", "unistr", "unistr_quote", "unlikely", "upper", "zeroblob",
        # aggregate and window
        "avg", "count", "group_concat", "string_agg", "sum", "total", "row_number", "rank",
        "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value",
        "last_value", "nth_value",
        # date and time
        "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
        "current_date", "current_time", "current_timestamp",
        # math
        "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh",
        "degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power",
        "radians", "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
        # JSON, and its -> and ->> operators
        "json", "jsonb", "json_array", "jsonb_array", "json_array_length", "json_error_position",
        "json_extract", "jsonb_extract", "json_insert", "jsonb_insert", "json_object", "jsonb_object",
        "json_patch", "jsonb_patch", "json_pretty", "json_remove", "jsonb_remove", "json_replace",
        "jsonb_replace", "json_set", "jsonb_set", "json_type", "json_valid", "json_quote",
        "json_group_array", "jsonb_group_array", "json_group_object", "jsonb_group_object", "->", "->>",
        # full-text search (FTS3/4 and FTS5 auxiliary functions; not fts3_tokenizer)
        "match", "snippet", "offsets", "matchinfo", "optimize", "bm25", "highlight",
        # called by SQLite itself while it runs ALTER TABLE
        "sqlite_rename_column", "sqlite_rename_table", "sqlite_rename_test", "sqlite_rename_quotefix",
        "sqlite_drop_column",
    }
)  # fmt: skip

# Core functions that tell what an earlier statement on the connection did: on a pooled
# connection, another client's call. Each answer carries its own counts instead.
CONNECTION_HISTORY_FUNCTIONS = {
    "changes": 'the "rowcount" of the statement\'s own answer',
    "total_changes": 'the "rowcount" of each statement\'s own answer',
    "last_insert_rowid": 'the "lastrowid" of the insert\'s own answer, or INSERT ... RETURNING',
}

# PRAGMAs that change the whole process, let a client corrupt the schema, or tell
# the data directory's absolute path.
REFUSED_PRAGMAS = frozenset(
    {"temp_store_directory", "data_store_directory", "database_list", "writable_schema"}
)
# Virtual tables that show other connections' statements or raw pages.
HIDDEN_TABLES = frozenset({"sqlite_stmt", "sqlite_dbpage"})

_TEMP_CREATES = frozenset(
    {
        sqlite3.SQLITE_CREATE_TEMP_INDEX,
        sqlite3.SQLITE_CREATE_TEMP_TABLE,
        sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
        sqlite3.SQLITE_CREATE_TEMP_VIEW,
    }
)
_READS = frozenset({sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION})


class StatementPolicy:
    """The authorizer's verdicts for one connection; ``refusal`` says why the last DENY was given."""

    __slots__ = ("changes_connection", "functions", "refusal")

    def __init__(self) -> None:
        self.functions: set[str] = set(CORE_FUNCTIONS)
        self.refusal: str | None = None
        self.changes_connection = False

    def allow_function(self, name: str) -> None:
        """A function the server registered on the connection (its function library)."""
        self.functions.add(name.lower())

    def __call__(self, action: int, arg1: str | None, arg2: str | None, db: str | None) -> int:
        if action == sqlite3.SQLITE_FUNCTION:
            name = (arg2 or "").lower()
            if name in self.functions:
                return sqlite3.SQLITE_OK
            instead = CONNECTION_HISTORY_FUNCTIONS.get(name)
            if instead is not None:
                return self._refuse(
                    f"function {arg2}() would tell what an earlier call on a shared connection did:"
                    f" use {instead}"
                )
            return self._refuse(
                f"function {arg2}() is not in the PhantomDB SQL dialect (docs/sql-functions.md)"
            )
        if action == sqlite3.SQLITE_READ:
            if (arg1 or "").lower() in HIDDEN_TABLES:
                return self._refuse(f"table {arg1} is not readable through the API")
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            if (arg1 or "").lower() in REFUSED_PRAGMAS:
                return self._refuse(f"PRAGMA {arg1} is not available through the API")
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_ATTACH and arg1 != "":  # "" is VACUUM's scratch database
            return self._refuse("PhantomDB Lite does not open other database files (ATTACH, VACUUM INTO)")
        if action in _TEMP_CREATES or (db == "temp" and action not in _READS):
            self.changes_connection = True
        return sqlite3.SQLITE_OK

    def _refuse(self, reason: str) -> int:
        self.refusal = reason
        return sqlite3.SQLITE_DENY
