"""Django's SQL compilers, taught to say which PhantomDB call a statement is.

Each compiler still writes the SQL Django would write for SQLite. When it
compiles a statement that is about to run, it also builds the statement's
Call: a read of one table becomes a table ``GET``, ``create``/``bulk_create``
a ``POST``, ``update`` a ``PUT``, ``delete`` a ``DELETE``; anything else
(joins, aggregates, subqueries) a ``POST .../query``.

The Call names every table the statement reads. While a statement compiles,
every FROM and JOIN of it and of its subqueries (``Exists``, ``__in``,
``Subquery``, combinators, aggregates over a subquery) is compiled as a
``BaseTable`` or ``Join`` node by some compiler of this module; each records
its table on the statement being compiled. Raw SQL fragments (``RawSQL``,
``extra()``) can read anything, so they make the tables unknown, as does a
table name in the final SQL that no node accounted for.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models.expressions import Col, RawSQL
from django.db.models.fields.tuple_lookups import Tuple
from django.db.models.sql import compiler
from django.db.models.sql.datastructures import BaseTable, Join
from django.db.models.sql.where import ExtraWhere

from phantomdb.calls import DELETE, INSERT, NO_TABLES, QUERY, SELECT, UPDATE, Assignment, Call

from . import shapes
from .calls import TranslatedSQL, count_placeholders, is_volatile, named_tables, to_qmark

T = TypeVar("T")

_PLAIN_ASSIGNMENT = "%s"
_NULL_ASSIGNMENT = "NULL"


_TABLE_NODES = frozenset({BaseTable, Join})
_RAW_NODES = frozenset({RawSQL, ExtraWhere})
_TRACKED_NODES = _TABLE_NODES | _RAW_NODES

# Translations by (compiler class, SQL text, what the text does not show): the
# same text is the same statement, so its Call is built once. Emptied when full.
_TRANSLATIONS: dict[tuple[Any, ...], Any] = {}
MAX_TRANSLATIONS = 4096


def _reads_only_its_table(fragment: str) -> bool:
    """A fragment without a subquery reads nothing but the statement's table."""
    return "SELECT" not in fragment.upper()


class StatementTables:
    """The tables one statement's FROM and JOIN clauses name, its subqueries' included."""

    __slots__ = ("names", "raw")

    def __init__(self) -> None:
        self.names: set[str] = set()
        # A raw SQL fragment was compiled: it may read any table.
        self.raw = False


class StatementMixin(compiler.SQLCompiler):
    """Captures the statement's WHERE and tables while it compiles, and builds its Call.

    Mixed in before each of Django's compilers (the MRO puts it first).
    """

    connection: Any
    query: Any

    translating = False
    where: Any = None  # set by Django's pre_sql_setup() on select compilers
    where_fragment: tuple[str, Any] | None = None
    from_aliases: tuple[str, ...] = ()

    def execute_sql(self, *args: Any, **kwargs: Any) -> Any:
        self.translating = True
        return super().execute_sql(*args, **kwargs)

    def compiling_statement(self, as_sql: Callable[[], T]) -> tuple[T, StatementTables]:
        """Run ``as_sql`` with a fresh record of tables on top of the connection's stack.

        A stack, since a statement may run another one while it compiles
        (an update of an inherited model selects the rows' keys first).
        """
        found = StatementTables()
        stack = self.connection.statements_compiling
        stack.append(found)
        try:
            return as_sql(), found
        finally:
            stack.pop()

    def tables_read(
        self, sql: str, found: StatementTables, own_table: frozenset[str] = NO_TABLES
    ) -> frozenset[str] | None:
        """The tables ``sql`` reads (``own_table``: the table an UPDATE or DELETE reads
        its rows from), or None when they cannot be known for sure."""
        tables = found.names | own_table
        if found.raw or not named_tables(sql) <= tables:
            return None
        return frozenset(tables)

    def compile(self, node: Any) -> tuple[str, Any]:
        # Called for every node of every statement: the common path is two checks.
        if self.translating and (node is self.where or node is self.query.where):
            fragment = self.compile_where(node)
        elif type(node) is Tuple:
            # Django 6's Tuple.as_sqlite() writes IN (VALUES ...) when
            # get_database_version() is below SQLite 3.37; that is PhantomDB's
            # version (1.x) here, and its SQLite dialect has row values.
            fragment = node.as_sql(self, self.connection)
        else:
            fragment = super().compile(node)
        if type(node) in _TRACKED_NODES:
            self.track(node, fragment[0])
        return fragment

    def compile_where(self, node: Any) -> tuple[str, Any]:
        """The statement's own WHERE, kept as the table call's condition."""
        try:
            fragment = super().compile(node)
        except EmptyResultSet:
            self.where_fragment = ("0 = 1", [])
            raise
        except FullResultSet:
            self.where_fragment = ("", [])
            raise
        self.where_fragment = fragment
        return fragment

    def track(self, node: Any, sql: str) -> None:
        """Record a table node's table, or a raw fragment that may read any table, on the statement."""
        compiling = self.connection.statements_compiling
        if not compiling:
            return
        if type(node) in _TABLE_NODES:
            compiling[-1].names.add(node.table_name)
        elif not _reads_only_its_table(sql):
            # A raw fragment names only the statement's tables, unless it holds a query of its own.
            compiling[-1].raw = True

    def translated(self, sql: str, build: Callable[[], T], *unseen: Any) -> T:
        """``build()``'s translation of ``sql``, built once per text (``unseen``: what the text omits)."""
        key = (type(self), sql, *unseen)
        known = _TRANSLATIONS.get(key)
        if known is None:
            if len(_TRANSLATIONS) >= MAX_TRANSLATIONS:
                _TRANSLATIONS.clear()
            known = _TRANSLATIONS[key] = build()
        # The cursor recognises this statement with a comment appended (sqlcommenter).
        self.connection.last_translated = known
        return known

    def used_aliases(self) -> tuple[str, ...]:
        refcount = self.query.alias_refcount
        return tuple(alias for alias in self.query.alias_map if refcount[alias])

    def condition(self) -> str | None:
        """The statement's WHERE as a table-call condition, or None when it is not one."""
        if self.where_fragment is None:
            return None
        where_sql = self.where_fragment[0]
        return to_qmark(where_sql) if where_sql else None

    def single_table_condition_ok(self) -> bool:
        return self.where_fragment is not None and _reads_only_its_table(self.where_fragment[0])

    def is_volatile(self, sql: str) -> bool:
        """Random order, the clock or a locking read: an answer that must never be reused."""
        return bool(self.query.select_for_update) or is_volatile(sql)

    def query_call(
        self, sql: str, statement: str, tables: frozenset[str] | None, written: frozenset[str] = NO_TABLES
    ) -> TranslatedSQL:
        call = Call(
            operation=QUERY,
            sql=sql,
            query=to_qmark(sql),
            statement=statement,
            tables_read=tables,
            tables_written=written,
            volatile=self.is_volatile(sql),
        )
        return TranslatedSQL(sql, call)


class SQLCompiler(StatementMixin, compiler.SQLCompiler):
    def pre_sql_setup(self, with_col_aliases: bool = False) -> Any:
        extra_select, order_by, group_by = super().pre_sql_setup(with_col_aliases)
        self.compiled_order_by = order_by
        self.compiled_group_by = group_by
        return extra_select, order_by, group_by

    def get_from_clause(self) -> Any:
        # as_sql() resets the alias refcounts when it returns: remember which
        # tables the FROM clause really named.
        self.from_aliases = self.used_aliases()
        compiling = self.connection.statements_compiling
        if compiling and self.query.extra_tables:
            compiling[-1].names.update(self.query.extra_tables)
        return super().get_from_clause()

    def as_sql(self, with_limits: bool = True, with_col_aliases: bool = False) -> tuple[str, Any]:
        if not self.translating:
            return super().as_sql(with_limits, with_col_aliases)
        self.where_fragment = None
        shape = shapes.shape_of(self, with_limits, with_col_aliases)
        if shape is not None and (known := shapes.reuse(self, shape)) is not None:
            return known
        as_sql = partial(super().as_sql, with_limits, with_col_aliases)
        (sql, params), found = self.compiling_statement(as_sql)

        def build() -> TranslatedSQL:
            tables = self.tables_read(sql, found)
            return self.translate(sql, with_limits, tables) or self.query_call(sql, "SELECT", tables)

        translated = self.translated(sql, build, with_limits, bool(self.query.select_for_update))
        if shape is not None:
            shapes.remember(self, shape, translated, params)
        return translated, params

    def base_table(self) -> str | None:
        """The one table this query reads, when it reads exactly one under its own name."""
        query = self.query
        if query.extra_tables or query.combinator:
            return None
        if len(self.from_aliases) != 1:
            return None
        join = query.alias_map[self.from_aliases[0]]
        if not isinstance(join, BaseTable) or join.table_alias != join.table_name:
            return None
        return join.table_name

    def translate(self, sql: str, with_limits: bool, tables: frozenset[str] | None) -> TranslatedSQL | None:
        query = self.query
        table = self.base_table()
        if (
            table is None
            or tables != {table}
            or query.distinct
            or self.compiled_group_by
            or getattr(self, "having", None)
            or getattr(self, "qualify", None)
            or self.has_extra_select
            or query.select_for_update
            or query.explain_info
            or not self.select
            or not self.single_table_condition_ok()
        ):
            return None
        columns = []
        for expression, (_, select_params), alias in self.select:
            if select_params or type(expression) is not Col or expression.alias != table:
                return None
            if alias is not None and alias != expression.target.column:
                return None
            column = expression.target.column
            if column is None:
                return None
            columns.append(column)
        order_parts = []
        for _, (order_sql, order_params, _) in self.compiled_order_by:
            if order_params or not _reads_only_its_table(order_sql):
                return None
            order_parts.append(order_sql)
        limit = offset = None
        if with_limits and query.is_sliced:
            if query.high_mark is not None:
                limit = query.high_mark - query.low_mark
            offset = query.low_mark or None
        call = Call(
            operation=SELECT,
            sql=sql,
            table=table,
            tables_read=tables,
            volatile=self.is_volatile(sql),
            columns=tuple(columns),
            condition=self.condition(),
            order_by=to_qmark(", ".join(order_parts)) if order_parts else None,
            limit=limit,
            offset=offset,
            statement="SELECT",
        )
        return TranslatedSQL(sql, call)


class SQLInsertCompiler(StatementMixin, compiler.SQLInsertCompiler):
    plain_values = False
    # The columns the INSERT names: Django 6 leaves out of query.fields those
    # whose every value is their db_default.
    columns: tuple[str, ...] = ()

    def assemble_as_sql(self, fields: Any, value_rows: Any) -> tuple[Any, Any]:
        self.columns = tuple(field.column for field in fields if field is not None)
        placeholder_rows, param_rows = super().assemble_as_sql(fields, value_rows)
        if placeholder_rows:
            plain_row = (_PLAIN_ASSIGNMENT,) * len(placeholder_rows[0])
            self.plain_values = all(tuple(row) == plain_row for row in placeholder_rows)
        return placeholder_rows, param_rows

    def as_sql(self) -> list[tuple[str, Any]]:  # type: ignore[override]  # Django's insert signature
        if not self.translating:
            return super().as_sql()
        statements, found = self.compiling_statement(super().as_sql)
        count = len(statements)
        return [
            (self.translated(sql, partial(self.statement_call, sql, count, found), count), params)
            for sql, params in statements
        ]

    def statement_call(self, sql: str, count: int, found: StatementTables) -> TranslatedSQL:
        table = self.query.get_meta().db_table
        written = frozenset((table,))
        if count != 1 or self.query.on_conflict or not self.query.fields or not self.plain_values:
            return self.query_call(sql, "INSERT", self.tables_read(sql, found), written)
        call = Call(
            operation=INSERT,
            sql=sql,
            table=table,
            tables_read=self.tables_read(sql, found),
            tables_written=written,
            columns=self.columns,
            returning=tuple(field.column for field in self.returning_fields or ()),
            statement="INSERT",
        )
        return TranslatedSQL(sql, call)


class SQLDeleteCompiler(StatementMixin, compiler.SQLDeleteCompiler):
    def as_sql(self) -> tuple[str, Any]:  # type: ignore[override]  # Django's delete signature
        if not self.translating:
            return super().as_sql()
        self.where_fragment = None
        (sql, params), found = self.compiling_statement(super().as_sql)
        return self.translated(sql, partial(self.statement_call, sql, found)), params

    def statement_call(self, sql: str, found: StatementTables) -> TranslatedSQL:
        table = self.query.base_table
        written = frozenset((table,))
        tables = self.tables_read(sql, found, written)
        if not self.single_table_condition_ok():
            return self.query_call(sql, "DELETE", tables, written)
        call = Call(
            operation=DELETE,
            sql=sql,
            table=table,
            tables_read=tables,
            tables_written=written,
            condition=self.condition(),
            statement="DELETE",
        )
        return TranslatedSQL(sql, call)


class SQLUpdateCompiler(StatementMixin, compiler.SQLUpdateCompiler):
    def as_sql(self) -> tuple[str, Any]:  # type: ignore[override]  # Django's update signature
        if not self.translating:
            return super().as_sql()
        self.where_fragment = None
        (sql, params), found = self.compiling_statement(super().as_sql)
        if not sql:
            return sql, params
        return self.translated(sql, partial(self.statement_call, sql, found)), params

    def statement_call(self, sql: str, found: StatementTables) -> TranslatedSQL:
        table = self.query.get_meta().db_table
        written = frozenset((table,))
        tables = self.tables_read(sql, found, written)
        assignments = self.assignments(sql, table)
        if assignments is None or not self.single_table_condition_ok():
            return self.query_call(sql, "UPDATE", tables, written)
        call = Call(
            operation=UPDATE,
            sql=sql,
            table=table,
            tables_read=tables,
            tables_written=written,
            assignments=assignments,
            condition=self.condition(),
            statement="UPDATE",
        )
        return TranslatedSQL(sql, call)

    def assignments(self, sql: str, table: str) -> tuple[Assignment, ...] | None:
        """Split ``SET a = ..., b = ...`` at the known column names, in order."""
        qn = self.connection.ops.quote_name
        where_sql = self.where_fragment[0] if self.where_fragment else ""
        head = f"UPDATE {qn(table)} SET "
        tail = f" WHERE {where_sql}" if where_sql else ""
        if not sql.startswith(head) or not sql.endswith(tail):
            return None
        set_clause = sql[len(head) : len(sql) - len(tail)]
        columns = [field.column for field, _, _ in self.query.values]
        starts = []
        position = 0
        for index, column in enumerate(columns):
            marker = ("" if index == 0 else ", ") + f"{qn(column)} = "
            found = set_clause.find(marker, position)
            if found < 0 or (index == 0 and found != 0):
                return None
            starts.append((found, found + len(marker)))
            position = found + len(marker)
        result = []
        for index, column in enumerate(columns):
            value_start = starts[index][1]
            value_end = starts[index + 1][0] if index + 1 < len(columns) else len(set_clause)
            value_sql = set_clause[value_start:value_end]
            if value_sql == _PLAIN_ASSIGNMENT:
                result.append(Assignment(column, None, 1))
            elif value_sql == _NULL_ASSIGNMENT:
                result.append(Assignment(column, "NULL", 0))
            elif _reads_only_its_table(value_sql):
                result.append(Assignment(column, to_qmark(value_sql), count_placeholders(value_sql)))
            else:
                return None
        return tuple(result)


class SQLAggregateCompiler(StatementMixin, compiler.SQLAggregateCompiler):
    def as_sql(self) -> tuple[str, Any]:  # type: ignore[override]  # Django's aggregate signature
        if not self.translating:
            return super().as_sql()
        (sql, params), found = self.compiling_statement(super().as_sql)
        build = partial(self.query_call, sql, "SELECT", self.tables_read(sql, found))
        return self.translated(sql, build, bool(self.query.select_for_update)), params
