"""The schema calls of PhantomDB Lite: list, create, describe, alter and drop tables.

Every function takes an autocommit SQLite connection with foreign keys on
(the server's own, or a client transaction's) and raises ``ApiError``. A
request is checked completely before any SQL runs, so that a bad field is a
400 naming that field, never a half-applied change. DDL is rendered with
PhantomDB types and stored through ``dialect.translate_ddl``, exactly as SQL
sent to ``POST /query`` is.

What ``ALTER TABLE`` cannot do, a *remake* does, following SQLite's "Making
Other Kinds Of Table Schema Changes": create the new table, copy the rows, drop
the old one, rename, recreate indexes and triggers. Foreign keys would get in
the way (dropping a parent table deletes its rows first), so outside a
transaction they are switched off around the change; inside one, where
``PRAGMA foreign_keys`` cannot change, checks are deferred instead, and in both
cases ``PRAGMA foreign_key_check`` verifies the result before it is kept.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from phantomdb.encoding import encode_value
from phantomdb.server.dialect import (
    INTEGER_TYPES,
    TYPES,
    Clause,
    ColumnDefinition,
    Reference,
    TableDefinition,
    canonical_type,
    matching_paren,
    parse_column,
    parse_create_table,
    phantomdb_type,
    quote,
    significant,
    split_top_level,
    tokenize,
    translate_ddl,
    unquote,
)
from phantomdb.server.errors import ApiError, table_not_found, translate_sqlite_error
from phantomdb.server.values import bind_values

P = ParamSpec("P")
R = TypeVar("R")

ON_DELETE_ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")
_ACTIONS_THAT_CHANGE_CHILDREN = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})
_REMAKE_PREFIX = "phantomdb_remake__"
_ALREADY_EXISTS = re.compile(r"(table|index) (.+) already exists")


def _invalid(message: str) -> ApiError:
    return ApiError("invalid_request", message)


def column_not_found(name: str) -> ApiError:
    return ApiError("column_not_found", f"Column '{name}' does not exist")


def _translated(function: Callable[P, R]) -> Callable[P, R]:
    """Turn any sqlite3 error escaping a schema call into the API error a client sees."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except sqlite3.Error as exc:
            if match := _ALREADY_EXISTS.fullmatch(str(exc)):
                kind, name = match.groups()
                if kind == "table":
                    raise ApiError("table_exists", f"Table '{name}' already exists") from exc
                raise _invalid(f"Index '{name}' already exists") from exc
            raise translate_sqlite_error(exc) from exc

    return wrapper


# ---- requests -----------------------------------------------------------------------------------


class _Fields:
    """One JSON object of a request; every error names the field's path, e.g. ``columns[2].type``."""

    def __init__(self, value: Any, path: str, allowed: frozenset[str]):
        if not isinstance(value, dict):
            raise _invalid(f"'{path}' must be an object")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise _invalid(f"'{self._join(path, unknown[0])}' is not a known field")
        self.value = value
        self.path = path

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def name(self, key: str) -> str:
        return self._join(self.path, key)

    def has(self, key: str) -> bool:
        return self.value.get(key) is not None

    def identifier(self, key: str) -> str:
        return _name(self.value.get(key), self.name(key))

    def identifiers(self, key: str) -> list[str]:
        value = self.value.get(key)
        if not isinstance(value, list) or not value:
            raise _invalid(f"'{self.name(key)}' must be a non-empty list of names")
        return [_name(v, self.name(f"{key}[{i}]")) for i, v in enumerate(value)]

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.value.get(key, default)
        if not isinstance(value, bool):
            raise _invalid(f"'{self.name(key)}' must be true or false")
        return value

    def expression(self, key: str) -> str:
        return _expression(self.value.get(key), self.name(key))

    def objects(self, key: str) -> list[Any]:
        value = self.value.get(key, [])
        if not isinstance(value, list):
            raise _invalid(f"'{self.name(key)}' must be a list")
        return value


def _name(value: Any, path: str) -> str:
    """A table, column, constraint or index name: any non-empty text, always quoted in SQL."""
    if not isinstance(value, str) or not value or "\x00" in value:
        raise _invalid(f"'{path}' must be a non-empty name")
    return value


def _table_name(value: Any, path: str) -> str:
    name = _name(value, path)
    if name.lower().startswith("sqlite_"):
        raise _invalid(f"'{path}': names beginning with 'sqlite_' are reserved for SQLite")
    return name


def _expression(value: Any, path: str) -> str:
    """One SQL expression, refused if it could close the clause it is placed in (``1) , x INT --``)."""
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise _invalid(f"'{path}' must be a non-empty SQL expression")
    depth = 0
    for token in tokenize(value):
        depth += (token.text == "(") - (token.text == ")")
        if (
            token.kind == "comment"
            or not token.terminated
            or depth < 0
            or (depth == 0 and token.text in (";", ","))
        ):
            raise _invalid(f"'{path}' must be one SQL expression, without comments")
    if depth:
        raise _invalid(f"'{path}' has unbalanced parentheses")
    return value.strip()


def _sql_literal(value: Any, path: str) -> str:
    """A default value as an SQL literal, stored exactly as the same value in a row would be."""
    if isinstance(value, list) or (
        isinstance(value, dict) and not any(str(k).startswith("$") for k in value)
    ):
        raise _invalid(f"'{path}' must be a JSON scalar or a '$' value")
    try:
        (stored,) = bind_values([value])
    except ApiError as exc:
        raise _invalid(f"'{path}': {exc.message}") from None
    if stored is None:
        return "NULL"
    if isinstance(stored, int):
        if not -(2**63) <= stored < 2**63:
            raise _invalid(f"'{path}' is outside the 64-bit integer range")
        return str(stored)
    if isinstance(stored, float):
        if math.isnan(stored):
            raise _invalid(f"'{path}' cannot be NaN")
        return repr(stored) if math.isfinite(stored) else ("9e999" if stored > 0 else "-9e999")
    if isinstance(stored, bytes):
        return f"X'{stored.hex()}'"
    if "\x00" in stored:
        raise _invalid(f"'{path}' cannot hold a NUL character")
    return "'" + stored.replace("'", "''") + "'"


@dataclass
class ColumnSpec:
    """A validated column of a request."""

    name: str
    type: str
    nullable: bool = True
    default: str | None = None  # an SQL literal
    primary_key: bool = False
    auto_increment: bool = False
    unique: bool = False
    references: Reference | None = None

    def sql(self, *, primary_key_clause: bool = True) -> str:
        """The column definition, written with its PhantomDB type (translate_ddl stores it)."""
        parts = [quote(self.name), self.type]
        if not self.nullable:
            parts.append("NOT NULL")
        if self.primary_key and primary_key_clause:
            parts.append("PRIMARY KEY AUTOINCREMENT" if self.auto_increment else "PRIMARY KEY")
        if self.unique:
            parts.append("UNIQUE")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.references is not None:
            parts.append(_references_sql(self.references))
        return " ".join(parts)


_COLUMN_FIELDS = frozenset(
    {"name", "type", "nullable", "default", "primary_key", "auto_increment", "unique", "references"}
)
_KNOWN_TYPES = ", ".join(
    name + {1: "(n)", 2: "(p, s)"}.get(max(counts), "") for name, counts in TYPES.items()
)


def _references_sql(reference: Reference) -> str:
    sql = f"REFERENCES {quote(reference.table)} ({', '.join(map(quote, reference.columns))})"
    if reference.on_delete != "NO ACTION":
        sql += f" ON DELETE {reference.on_delete}"
    return sql + (" DEFERRABLE INITIALLY DEFERRED" if reference.deferrable else "")


def _reference(value: Any, path: str, *, many: bool) -> Reference:
    """A column's ``references`` (one ``column``) or a foreign key constraint's (``columns``)."""
    fields = _Fields(
        value, path, frozenset({"table", "columns" if many else "column", "on_delete", "deferrable"})
    )
    columns = fields.identifiers("columns") if many else [fields.identifier("column")]
    on_delete = value.get("on_delete", "NO ACTION")
    if not isinstance(on_delete, str) or " ".join(on_delete.upper().split()) not in ON_DELETE_ACTIONS:
        raise _invalid(f"'{fields.name('on_delete')}' must be one of {', '.join(ON_DELETE_ACTIONS)}")
    return Reference(
        fields.identifier("table"), columns, " ".join(on_delete.upper().split()), fields.boolean("deferrable")
    )


def column_spec(value: Any, path: str) -> ColumnSpec:
    """Validate one column of a request (create, add_column, alter_column)."""
    fields = _Fields(value, path, _COLUMN_FIELDS)
    raw_type = value.get("type")
    type_ = canonical_type(raw_type) if isinstance(raw_type, str) else None
    if type_ is None:
        raise _invalid(f"'{fields.name('type')}' must be a PhantomDB type ({_KNOWN_TYPES}), not {raw_type!r}")
    column = ColumnSpec(
        name=fields.identifier("name"),
        type=type_,
        nullable=fields.boolean("nullable", True),
        default=_sql_literal(value["default"], fields.name("default")) if fields.has("default") else None,
        primary_key=fields.boolean("primary_key"),
        auto_increment=fields.boolean("auto_increment"),
        unique=fields.boolean("unique"),
        references=_reference(value["references"], fields.name("references"), many=False)
        if fields.has("references")
        else None,
    )
    if column.primary_key:
        if value.get("nullable") is True:
            raise _invalid(f"'{fields.name('nullable')}' cannot be true for a primary key column")
        column.nullable = False
    if column.auto_increment and not (column.primary_key and type_ in INTEGER_TYPES):
        raise _invalid(
            f"'{fields.name('auto_increment')}' needs an integer primary key column "
            f"({', '.join(sorted(INTEGER_TYPES))} with primary_key true)"
        )
    return column


_CONSTRAINT_FIELDS = {
    "check": frozenset({"name", "type", "check"}),
    "unique": frozenset({"name", "type", "columns"}),
    "primary_key": frozenset({"name", "type", "columns"}),
    "foreign_key": frozenset({"name", "type", "columns", "references"}),
}


def constraint_spec(value: Any, path: str) -> Clause:
    """Validate one table constraint of a request, rendered as its SQL clause."""
    if not isinstance(value, dict):
        raise _invalid(f"'{path}' must be an object")
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in _CONSTRAINT_FIELDS:
        raise _invalid(f"'{path}.type' must be one of {', '.join(_CONSTRAINT_FIELDS)}")
    fields = _Fields(value, path, _CONSTRAINT_FIELDS[kind])
    name = fields.identifier("name")
    prefix = f"CONSTRAINT {quote(name)} "
    if kind == "check":
        expression = fields.expression("check")
        return Clause("check", name, f"{prefix}CHECK ({expression})", expression=expression)
    columns = fields.identifiers("columns")
    listed = ", ".join(map(quote, columns))
    if kind == "foreign_key":
        reference = _reference(value.get("references"), fields.name("references"), many=True)
        if len(reference.columns) != len(columns):
            raise _invalid(
                f"'{fields.name('references')}' must name as many columns as '{fields.name('columns')}'"
            )
        text = f"{prefix}FOREIGN KEY ({listed}) {_references_sql(reference)}"
        return Clause("foreign_key", name, text, columns=columns, reference=reference)
    keyword = "PRIMARY KEY" if kind == "primary_key" else "UNIQUE"
    return Clause(kind, name, f"{prefix}{keyword} ({listed})", columns=columns)


@dataclass
class IndexSpec:
    """A validated index of a request."""

    name: str
    items: list[str]
    columns: list[str]  # when indexed by plain columns
    unique: bool = False
    condition: str | None = None

    def sql(self, table: str) -> str:
        sql = f"CREATE {'UNIQUE ' if self.unique else ''}INDEX {quote(self.name)} ON {quote(table)} "
        sql += f"({', '.join(self.items)})"
        return sql + (f" WHERE {self.condition}" if self.condition else "")


def index_spec(value: Any, path: str) -> IndexSpec:
    fields = _Fields(value, path, frozenset({"name", "columns", "expressions", "unique", "condition"}))
    if fields.has("columns") == fields.has("expressions"):
        raise _invalid(f"'{path}' needs exactly one of 'columns' and 'expressions'")
    columns: list[str] = []
    if fields.has("columns"):
        columns = fields.identifiers("columns")
        items = [quote(c) for c in columns]
    else:
        expressions = fields.objects("expressions")
        if not expressions:
            raise _invalid(f"'{fields.name('expressions')}' must be a non-empty list")
        items = [_expression(e, fields.name(f"expressions[{i}]")) for i, e in enumerate(expressions)]
    condition = fields.expression("condition") if fields.has("condition") else None
    return IndexSpec(fields.identifier("name"), items, columns, fields.boolean("unique"), condition)


def _require_columns(named: list[str], existing: set[str]) -> None:
    """column_not_found for a listed column the table lacks.

    Checked here because SQLite reads a double-quoted name it cannot resolve
    as a string: ``CREATE INDEX i ON t ("nope")`` would index a constant.
    """
    for name in named:
        if name.casefold() not in existing:
            raise column_not_found(name)


@dataclass
class TableSpec:
    """A validated create-table request."""

    name: str
    columns: list[ColumnSpec]
    constraints: list[Clause] = field(default_factory=list)
    indexes: list[IndexSpec] = field(default_factory=list)

    def sql(self) -> str:
        keys = [c for c in self.columns if c.primary_key]
        items = [c.sql(primary_key_clause=len(keys) == 1) for c in self.columns]
        if len(keys) > 1:
            items.append(f"PRIMARY KEY ({', '.join(quote(c.name) for c in keys)})")
        items += [c.text for c in self.constraints]
        return f"CREATE TABLE {quote(self.name)} (\n  " + ",\n  ".join(items) + "\n)"


def table_spec(spec: Any) -> TableSpec:
    """Validate a create-table request completely, before any SQL runs."""
    fields = _Fields(spec, "", frozenset({"name", "columns", "constraints", "indexes"}))
    columns = fields.objects("columns")
    if not columns:
        raise _invalid("'columns' must be a non-empty list")
    table = TableSpec(
        _table_name(spec.get("name"), "name"),
        [column_spec(c, f"columns[{i}]") for i, c in enumerate(columns)],
        [constraint_spec(c, f"constraints[{i}]") for i, c in enumerate(fields.objects("constraints"))],
        [index_spec(x, f"indexes[{i}]") for i, x in enumerate(fields.objects("indexes"))],
    )
    names = [c.name.casefold() for c in table.columns]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise _invalid(f"'columns[{i}].name': the table already has a column '{table.columns[i].name}'")
    for listed in [*table.constraints, *table.indexes]:
        _require_columns(listed.columns, set(names))
    keys = [c for c in table.columns if c.primary_key]
    if len(keys) > 1 and any(c.auto_increment for c in keys):
        raise _invalid("an auto_increment column must be the table's only primary key column")
    if keys and any(c.kind == "primary_key" for c in table.constraints):
        raise _invalid(
            "a table has one primary key: set primary_key on columns or add a primary_key constraint"
        )
    return table


# ---- describing ---------------------------------------------------------------------------------


def _lookup(conn: sqlite3.Connection, name: str) -> tuple[str, str, str | None] | None:
    """(type, stored name, sql) of the table or view called ``name`` (SQLite names ignore case)."""
    return conn.execute(
        "SELECT type, name, sql FROM main.sqlite_master"
        " WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE",
        (name,),
    ).fetchone()


def _require_table(conn: sqlite3.Connection, name: str) -> tuple[str, TableDefinition]:
    found = _lookup(conn, name)
    if found is None or found[0] != "table" or found[1].lower().startswith("sqlite_"):
        if found is not None and found[0] == "view":
            raise _invalid(f"'{name}' is a view; only tables can be altered")
        raise table_not_found(name)
    try:
        return found[1], parse_create_table(found[2] or "")
    except ValueError:
        raise ApiError("not_supported", f"Table '{name}' is a virtual table; it cannot be altered") from None


def _default_value(sql: str | None) -> Any:
    """The JSON value of a column default as SQLite reports it; None when it is an expression."""
    tokens = significant(sql or "")
    sign = 1
    if len(tokens) == 2 and tokens[0].text in ("+", "-"):
        sign, tokens = (-1 if tokens[0].text == "-" else 1), tokens[1:]
    if len(tokens) != 1:
        return None
    token = tokens[0]
    if token.kind == "number":
        text = token.text
        number = int(text, 16) if text[:2].lower() == "0x" else int(text) if text.isdigit() else float(text)
        return encode_value(sign * number)
    if sign == -1:
        return None
    if token.kind == "string":
        return unquote(token)
    if token.kind == "blob":
        return encode_value(bytes.fromhex(token.text[2:-1]))
    return {"TRUE": 1, "FALSE": 0}.get(token.keyword)


def _constraints(definition: TableDefinition) -> Iterator[tuple[str, Clause, ColumnDefinition | None]]:
    """Every constraint with the name drop_constraint knows it by, in declaration order.

    Unnamed table constraints and unnamed column CHECKs get the name
    ``__unnamed_constraint_<n>__`` (as Django's SQLite introspection does);
    the numbering only depends on the table's SQL, so it is stable.
    """
    unnamed = (f"__unnamed_constraint_{n}__" for n in itertools.count(1))
    for column in definition.columns:
        for clause in column.clauses:
            if clause.name is not None or clause.kind == "check":
                yield clause.name or next(unnamed), clause, column
    for clause in definition.constraints:
        yield clause.name or next(unnamed), clause, None


def _primary_key_of(conn: sqlite3.Connection, table: str) -> str:
    rows = conn.execute("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (table,)).fetchall()
    return rows[0][0] if len(rows) == 1 else "rowid"


def _reference_json(conn: sqlite3.Connection, reference: Reference) -> dict[str, Any]:
    column = reference.columns[0] if reference.columns else _primary_key_of(conn, reference.table)
    return {
        "table": reference.table,
        "column": column,
        "on_delete": reference.on_delete,
        "deferrable": reference.deferrable,
    }


def _index_json(name: str, sql: str) -> dict[str, Any]:
    """An index as the create call takes it, from its CREATE INDEX statement."""
    tokens = significant(sql)
    open_ = next(i for i, t in enumerate(tokens) if t.text == "(")
    close = matching_paren(tokens, open_)
    items = split_top_level(tokens, open_ + 1, close)
    index: dict[str, Any] = {"name": name}
    if all(b - a == 1 and tokens[a].kind in ("word", "quoted", "string") for a, b in items):
        index["columns"] = [unquote(tokens[a]) for a, _ in items]
    else:
        index["expressions"] = [sql[tokens[a].start : tokens[b - 1].end] for a, b in items]
    index["unique"] = tokens[1].keyword == "UNIQUE"
    if close + 1 < len(tokens) and tokens[close + 1].keyword == "WHERE":
        index["condition"] = sql[tokens[close + 2].start : tokens[-1].end]
    return index


def _describe(conn: sqlite3.Connection, kind: str, name: str, sql: str | None) -> dict[str, Any]:
    info = conn.execute(f"PRAGMA main.table_xinfo({quote(name)})").fetchall()
    try:
        definition = parse_create_table(sql or "") if kind == "table" else None
    except ValueError:  # a virtual table
        definition = None
    keys = [row for row in info if row[5]]
    rowid_alias = (
        len(keys) == 1
        and keys[0][2].upper() == "INTEGER"
        and definition is not None
        and "WITHOUT" not in definition.options.upper()
    )
    table_references = {
        c.columns[0].casefold(): c.reference
        for c in (definition.constraints if definition else [])
        if c.kind == "foreign_key" and c.reference and len(c.columns) == 1
    }
    columns = []
    for _cid, column_name, declared, notnull, default, pk, hidden in info:
        if hidden == 1:
            continue
        column = definition.column(column_name) if definition else None
        key_clause = column.clause("primary_key") if column else None
        reference_clause = column.clause("references") if column else None
        reference = (
            reference_clause.reference if reference_clause else table_references.get(column_name.casefold())
        )
        columns.append(
            {
                "name": column_name,
                "type": phantomdb_type(declared),
                "nullable": not notnull and not (pk and rowid_alias),
                "default": _default_value(default),
                "primary_key": bool(pk),
                "auto_increment": bool(key_clause and key_clause.auto_increment),
                "unique": bool(column and column.clause("unique")),
                "references": _reference_json(conn, reference) if reference else None,
            }
        )
    constraints: list[dict[str, Any]] = []
    for constraint_name, clause, _column in _constraints(definition) if definition else ():
        if clause.kind == "check":
            constraints.append({"name": constraint_name, "type": "check", "check": clause.expression})
        elif clause.kind == "unique" and _column is None:
            constraints.append({"name": constraint_name, "type": "unique", "columns": clause.columns})
        elif clause.kind == "foreign_key" and clause.reference and len(clause.columns) > 1:
            reference = clause.reference
            constraints.append(
                {
                    "name": constraint_name,
                    "type": "foreign_key",
                    "columns": clause.columns,
                    "references": {
                        "table": reference.table,
                        "columns": reference.columns,
                        "on_delete": reference.on_delete,
                        "deferrable": reference.deferrable,
                    },
                }
            )
    indexes = [
        _index_json(index_name, index_sql)
        for index_name, index_sql in conn.execute(
            "SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ? COLLATE NOCASE"
            " AND sql IS NOT NULL ORDER BY rowid",
            (name,),
        )
    ]
    (row_count,) = conn.execute(f"SELECT count(*) FROM main.{quote(name)}").fetchone()
    return {
        "name": name,
        "columns": columns,
        "constraints": constraints,
        "indexes": indexes,
        "row_count": row_count,
    }


# ---- transactions and remakes -------------------------------------------------------------------


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    return conn.execute(f"PRAGMA {name}").fetchone()[0]


@contextmanager
def _atomic(conn: sqlite3.Connection) -> Iterator[None]:
    """All or nothing: its own transaction, or a savepoint inside the client's."""
    outer = not conn.in_transaction
    conn.execute("BEGIN IMMEDIATE" if outer else "SAVEPOINT phantomdb_schema")
    try:
        yield
        conn.execute("COMMIT" if outer else "RELEASE phantomdb_schema")
    except BaseException:
        if outer:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        else:
            conn.execute("ROLLBACK TO phantomdb_schema")
            conn.execute("RELEASE phantomdb_schema")
        raise


@contextmanager
def _foreign_keys_out_of_the_way(conn: sqlite3.Connection) -> Iterator[None]:
    """Let a remake drop and create again a table that others reference.

    Outside a transaction, ``PRAGMA foreign_keys`` goes off for the change and
    on again after (SQLite's own recipe). Inside one it cannot change, so
    ``defer_foreign_keys`` goes on until the change is done: dropping the old
    table then counts violations instead of failing, and restoring the rows
    counts them back (``_remake_with_foreign_keys``). Either way the remake
    compares ``foreign_key_check`` before and after.
    """
    if not _pragma(conn, "foreign_keys") or (conn.in_transaction and _pragma(conn, "defer_foreign_keys")):
        yield
    elif not conn.in_transaction:
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            conn.execute("PRAGMA foreign_keys = ON")
    else:
        conn.execute("PRAGMA defer_foreign_keys = ON")
        try:
            yield
        finally:
            conn.execute("PRAGMA defer_foreign_keys = OFF")


def _foreign_keys_to(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, str]]:
    """(child table, child column, ON DELETE action) of every foreign key that references ``table``."""
    found = []
    for (child,) in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'").fetchall():
        for row in conn.execute(f"PRAGMA main.foreign_key_list({quote(child)})").fetchall():
            if row[2].casefold() == table.casefold():
                found.append((child, row[3], row[6].upper()))
    return found


def _foreign_key_violations(conn: sqlite3.Connection, table: str) -> Counter[tuple[str, str]]:
    """(child, parent) of each row of ``table`` or of a table referencing it that breaks a foreign key.

    A remake compares these before and after: a client's transaction may hold
    violations of deferred keys that it will repair before commit, and those
    are not the remake's to refuse.
    """
    children = dict.fromkeys([table, *(child for child, _, _ in _foreign_keys_to(conn, table))])
    return Counter(
        (row[0], row[2])
        for child in children
        for row in conn.execute(f"PRAGMA main.foreign_key_check({quote(child)})")
    )


def _refuse_cascading_drop(conn: sqlite3.Connection, table: str) -> None:
    """Stop a remake before dropping ``table`` would run ON DELETE actions on other tables' rows.

    With foreign keys on (inside a transaction), DROP TABLE first deletes every
    row, and deferring checks does not stop CASCADE / SET NULL / SET DEFAULT.
    A self-reference does not count: those rows go with the table anyway.
    """
    if conn.execute(f"SELECT 1 FROM main.{quote(table)} LIMIT 1").fetchone() is None:
        return
    for child, column, action in _foreign_keys_to(conn, table):
        if child.casefold() == table.casefold() or action not in _ACTIONS_THAT_CHANGE_CHILDREN:
            continue
        if conn.execute(
            f"SELECT 1 FROM main.{quote(child)} WHERE {quote(column)} IS NOT NULL LIMIT 1"
        ).fetchone():
            raise ApiError(
                "not_supported",
                f"Cannot rebuild table '{table}' inside a transaction: '{child}' references it with "
                f"ON DELETE {action}, which SQLite would apply to its rows while the old table is dropped. "
                "Run this change outside a transaction.",
            )


def _remake(
    conn: sqlite3.Connection,
    table: str,
    definition: TableDefinition,
    keep_index: Callable[[str], bool] = lambda sql: True,
) -> None:
    """Rebuild ``table`` as ``definition``, keeping its rows, indexes, triggers and key sequence.

    SQLite's "Making Other Kinds Of Table Schema Changes", run inside
    ``_foreign_keys_out_of_the_way``. Columns that exist in both the old and
    the new table (by name, generated ones excepted) are copied.
    """
    temporary = _REMAKE_PREFIX + table
    old_columns = {
        row[1].casefold() for row in conn.execute(f"PRAGMA main.table_xinfo({quote(table)})") if not row[6]
    }
    listed = ", ".join(
        quote(c.name)
        for c in definition.columns
        if c.name.casefold() in old_columns and not c.clause("generated")
    )
    saved = conn.execute(
        "SELECT type, sql FROM main.sqlite_master WHERE type IN ('index', 'trigger')"
        " AND tbl_name = ? COLLATE NOCASE AND sql IS NOT NULL ORDER BY rowid",
        (table,),
    ).fetchall()
    sequence = _sequence(conn, table)
    violations = _foreign_key_violations(conn, table)
    try:
        if _pragma(conn, "foreign_keys"):
            _remake_with_foreign_keys(conn, table, definition, listed, temporary)
        else:
            conn.execute(translate_ddl(definition.sql(temporary)))
            conn.execute(
                f"INSERT INTO {quote(temporary)} ({listed}) SELECT {listed} FROM main.{quote(table)}"
            )
            conn.execute(f"DROP TABLE main.{quote(table)}")
            legacy = _pragma(conn, "legacy_alter_table")
            conn.execute("PRAGMA legacy_alter_table = ON")  # views that name the table stay as they are
            try:
                conn.execute(f"ALTER TABLE main.{quote(temporary)} RENAME TO {quote(table)}")
            finally:
                conn.execute(f"PRAGMA legacy_alter_table = {legacy}")
    except sqlite3.Error as exc:
        error = translate_sqlite_error(exc)
        raise ApiError(error.code, error.message.replace(temporary, table)) from exc
    for kind, sql in saved:
        if kind == "trigger" or keep_index(sql):
            conn.execute(sql)
    if sequence is not None and any(_auto_increments(c) for c in definition.columns):
        updated = conn.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (sequence, table)
        )
        if updated.rowcount == 0:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, sequence))
    for child, parent in _foreign_key_violations(conn, table) - violations:
        raise ApiError(
            "foreign_key_violation",
            f"FOREIGN KEY constraint failed: a row of '{child}' references a missing row of '{parent}'",
        )


def _remake_with_foreign_keys(
    conn: sqlite3.Connection, table: str, definition: TableDefinition, listed: str, temporary: str
) -> None:
    """The remake inside a transaction, where foreign keys stay on (with deferred checks).

    The rows wait in a TEMP table while the table is dropped and created again
    under its own name: SQLite's count of deferred violations then sees every
    key leave and come back, so it ends where it started, whatever the client
    itself has deferred. Nothing references the new table by another name, so
    no rename is needed either.
    """
    conn.execute(f"CREATE TEMP TABLE {quote(temporary)} AS SELECT {listed} FROM main.{quote(table)}")
    _refuse_cascading_drop(conn, table)
    conn.execute(f"DROP TABLE main.{quote(table)}")
    conn.execute(translate_ddl(definition.sql(table)))
    conn.execute(f"INSERT INTO main.{quote(table)} ({listed}) SELECT {listed} FROM temp.{quote(temporary)}")
    conn.execute(f"DROP TABLE temp.{quote(temporary)}")


def _auto_increments(column: ColumnDefinition) -> bool:
    key = column.clause("primary_key")
    return key is not None and key.auto_increment


def _sequence(conn: sqlite3.Connection, table: str) -> int | None:
    """The AUTOINCREMENT high-water mark of ``table``, which a remake must not lose."""
    if conn.execute("SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_sequence'").fetchone() is None:
        return None
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ? COLLATE NOCASE", (table,)).fetchone()
    return row[0] if row else None


def _mentions(sql: str, column: str) -> bool:
    """Whether ``sql`` names ``column`` as an identifier (strings and comments do not count)."""
    folded = column.casefold()
    return any(t.kind in ("word", "quoted") and unquote(t).casefold() == folded for t in significant(sql))


def _index_mentions(sql: str, column: str) -> bool:
    tokens = significant(sql)
    start = next((i for i, t in enumerate(tokens) if t.text == "("), len(tokens))
    return _mentions(sql[tokens[start].start :] if start < len(tokens) else "", column)


# ---- alter operations ---------------------------------------------------------------------------
# Each takes the table's current name and returns its name afterwards.

Operation = Callable[[sqlite3.Connection, str], str]


def _column_of(conn: sqlite3.Connection, table: str, name: str) -> str:
    """The stored name of column ``name`` of ``table``; column_not_found if it has none."""
    for row in conn.execute(f"PRAGMA main.table_xinfo({quote(table)})"):
        if row[1].casefold() == name.casefold():
            return row[1]
    raise column_not_found(name)


def _column_names(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1].casefold() for row in conn.execute(f"PRAGMA main.table_xinfo({quote(table)})")}


def _refuse_existing_column(conn: sqlite3.Connection, table: str, name: str) -> None:
    try:
        existing = _column_of(conn, table, name)
    except ApiError:
        return
    raise _invalid(f"Table '{table}' already has a column '{existing}'")


def _add_column(column: ColumnSpec, conn: sqlite3.Connection, table: str) -> str:
    _refuse_existing_column(conn, table, column.name)
    native = not (
        column.primary_key
        or column.unique
        or (not column.nullable and column.default is None)
        or (column.references is not None and column.default is not None)
    )
    if native:
        conn.execute(translate_ddl(f"ALTER TABLE main.{quote(table)} ADD COLUMN {column.sql()}"))
    else:
        _, definition = _require_table(conn, table)
        definition.columns.append(parse_column(column.sql()))
        _remake(conn, table, definition)
    return table


def _drop_column(name: str, conn: sqlite3.Connection, table: str) -> str:
    name = _column_of(conn, table, name)
    _, definition = _require_table(conn, table)
    if len(definition.columns) == 1:
        raise _invalid(f"Cannot drop '{name}', the only column of table '{table}'; drop the table instead")
    try:
        conn.execute(f"ALTER TABLE main.{quote(table)} DROP COLUMN {quote(name)}")
        return table
    except sqlite3.OperationalError:
        pass  # an index, key or constraint uses it: remake without them, as PostgreSQL drops them
    definition.columns = [c for c in definition.columns if c.name.casefold() != name.casefold()]
    definition.constraints = [c for c in definition.constraints if not _mentions(c.text, name)]
    _remake(conn, table, definition, keep_index=lambda sql: not _index_mentions(sql, name))
    return table


def _rename_column(name: str, new_name: str, conn: sqlite3.Connection, table: str) -> str:
    name = _column_of(conn, table, name)
    if name.casefold() != new_name.casefold():
        _refuse_existing_column(conn, table, new_name)
    conn.execute(f"ALTER TABLE main.{quote(table)} RENAME COLUMN {quote(name)} TO {quote(new_name)}")
    return table


_KEPT_ON_ALTER = frozenset({"check", "collate", "generated"})


def _alter_column(name: str, column: ColumnSpec, conn: sqlite3.Connection, table: str) -> str:
    """Replace a column's definition; its CHECK, COLLATE and generated clauses are kept."""
    if column.name != _column_of(conn, table, name):
        _rename_column(name, column.name, conn, table)
    _, definition = _require_table(conn, table)
    old = definition.column(column.name)
    assert old is not None
    table_key = next((c for c in definition.constraints if c.kind == "primary_key"), None)
    in_table_key = table_key is not None and column.name.casefold() in {
        c.casefold() for c in table_key.columns
    }
    if in_table_key and not column.primary_key:
        raise _invalid(
            f"Column '{column.name}' is part of the primary key of '{table}'; drop that constraint first"
        )
    new = parse_column(column.sql(primary_key_clause=not in_table_key))
    new.clauses += [c for c in old.clauses if c.kind in _KEPT_ON_ALTER]
    definition.columns[definition.columns.index(old)] = new
    _remake(conn, table, definition)
    return table


def _constraint_names(definition: TableDefinition) -> dict[str, tuple[Clause, ColumnDefinition | None]]:
    return {name.casefold(): (clause, column) for name, clause, column in _constraints(definition)}


def _add_constraint(constraint: Clause, conn: sqlite3.Connection, table: str) -> str:
    _, definition = _require_table(conn, table)
    assert constraint.name is not None
    if constraint.name.casefold() in _constraint_names(definition):
        raise _invalid(f"Table '{table}' already has a constraint '{constraint.name}'")
    _require_columns(constraint.columns, _column_names(conn, table))
    if constraint.kind == "primary_key" and _pragma_key(conn, table):
        raise _invalid(f"Table '{table}' already has a primary key")
    definition.constraints.append(constraint)
    _remake(conn, table, definition)
    return table


def _pragma_key(conn: sqlite3.Connection, table: str) -> bool:
    return any(row[5] for row in conn.execute(f"PRAGMA main.table_info({quote(table)})"))


def _drop_constraint(name: str, conn: sqlite3.Connection, table: str) -> str:
    """Drop a named constraint; a unique index of that name (how conditional or
    expression unique constraints exist) is dropped as well."""
    _, definition = _require_table(conn, table)
    found = _constraint_names(definition).get(name.casefold())
    if found is None:
        if _index_of(conn, table, name) is not None:
            return _drop_index(name, conn, table)
        raise _invalid(f"Table '{table}' has no constraint '{name}'")
    clause, column = found
    if column is None:
        definition.constraints.remove(clause)
    else:
        column.clauses.remove(clause)
    _remake(conn, table, definition)
    return table


def _index_of(conn: sqlite3.Connection, table: str, name: str) -> str | None:
    row = conn.execute(
        "SELECT name FROM main.sqlite_master WHERE type = 'index' AND name = ? COLLATE NOCASE"
        " AND tbl_name = ? COLLATE NOCASE AND sql IS NOT NULL",
        (name, table),
    ).fetchone()
    return row[0] if row else None


def _add_index(index: IndexSpec, conn: sqlite3.Connection, table: str) -> str:
    _require_columns(index.columns, _column_names(conn, table))
    conn.execute(index.sql(table))
    return table


def _drop_index(name: str, conn: sqlite3.Connection, table: str) -> str:
    stored = _index_of(conn, table, name)
    if stored is None:
        raise _invalid(f"Table '{table}' has no index '{name}'")
    conn.execute(f"DROP INDEX main.{quote(stored)}")
    return table


def _rename_table(new_name: str, conn: sqlite3.Connection, table: str) -> str:
    found = _lookup(conn, new_name)
    if found is not None and found[1].casefold() != table.casefold():
        raise ApiError("table_exists", f"Table '{new_name}' already exists")
    conn.execute(f"ALTER TABLE main.{quote(table)} RENAME TO {quote(new_name)}")
    return new_name


def operation(value: Any, path: str) -> Operation:
    """Validate one alter operation and bind it, ready to apply."""
    if not isinstance(value, dict):
        raise _invalid(f"'{path}' must be an object")
    op = value.get("op")
    fields_of = {
        "add_column": {"op", "column"},
        "drop_column": {"op", "name"},
        "rename_column": {"op", "name", "new_name"},
        "alter_column": {"op", "name", "column"},
        "add_constraint": {"op", "constraint"},
        "drop_constraint": {"op", "name"},
        "add_index": {"op", "index"},
        "drop_index": {"op", "name"},
        "rename_table": {"op", "new_name"},
    }
    if not isinstance(op, str) or op not in fields_of:
        raise _invalid(f"'{path}.op' must be one of {', '.join(fields_of)}")
    fields = _Fields(value, path, frozenset(fields_of[op]))
    if op == "add_column":
        return functools.partial(_add_column, column_spec(value.get("column"), fields.name("column")))
    if op == "drop_column":
        return functools.partial(_drop_column, fields.identifier("name"))
    if op == "rename_column":
        return functools.partial(_rename_column, fields.identifier("name"), fields.identifier("new_name"))
    if op == "alter_column":
        column = column_spec(value.get("column"), fields.name("column"))
        return functools.partial(_alter_column, fields.identifier("name"), column)
    if op == "add_constraint":
        return functools.partial(
            _add_constraint, constraint_spec(value.get("constraint"), fields.name("constraint"))
        )
    if op == "drop_constraint":
        return functools.partial(_drop_constraint, fields.identifier("name"))
    if op == "add_index":
        return functools.partial(_add_index, index_spec(value.get("index"), fields.name("index")))
    if op == "drop_index":
        return functools.partial(_drop_index, fields.identifier("name"))
    return functools.partial(_rename_table, _table_name(value.get("new_name"), fields.name("new_name")))


# ---- the schema calls ---------------------------------------------------------------------------


@_translated
def list_tables(conn: sqlite3.Connection) -> list[dict[str, str]]:
    """The tables and views of the database, by name; SQLite's own tables are not listed."""
    rows = conn.execute(
        "SELECT name, type FROM main.sqlite_master WHERE type IN ('table', 'view')"
        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    return [{"name": name, "type": kind} for name, kind in rows]


@_translated
def create_table(conn: sqlite3.Connection, spec: dict[str, Any]) -> dict[str, Any]:
    """Create a table with its constraints and indexes in one step; returns its description."""
    table = table_spec(spec)
    if _lookup(conn, table.name) is not None:
        raise ApiError("table_exists", f"Table '{table.name}' already exists")
    with _atomic(conn):
        conn.execute(translate_ddl(table.sql()))
        for index in table.indexes:
            conn.execute(index.sql(table.name))
    return describe_table(conn, table.name)


@_translated
def describe_table(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    """Columns, constraints, indexes and row count, in the shapes the create call takes."""
    found = _lookup(conn, name)
    if found is None or found[1].lower().startswith("sqlite_"):
        raise table_not_found(name)
    return _describe(conn, *found)


@_translated
def alter_table(conn: sqlite3.Connection, name: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply every operation, or none of them; returns the new description."""
    if not isinstance(operations, list):
        raise _invalid("'operations' must be a list")
    bound = [operation(op, f"operations[{i}]") for i, op in enumerate(operations)]
    table, _ = _require_table(conn, name)
    with _foreign_keys_out_of_the_way(conn), _atomic(conn):
        for apply in bound:
            table = apply(conn, table)
    return describe_table(conn, table)


@_translated
def drop_table(conn: sqlite3.Connection, name: str) -> None:
    """Drop a table (or view); SQLite's foreign key rules apply to the rows it held."""
    found = _lookup(conn, name)
    if found is None or found[1].lower().startswith("sqlite_"):
        raise table_not_found(name)
    conn.execute(f"DROP {'VIEW' if found[0] == 'view' else 'TABLE'} main.{quote(found[1])}")
