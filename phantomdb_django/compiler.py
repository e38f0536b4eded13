"""Django's SQL compilers, taught to say which PhantomDB call a statement is.

Each compiler still writes the SQL Django would write for SQLite. When it
compiles a statement that is about to run, it also builds the statement's
Call: a read of one table becomes a table ``GET``, ``create``/``bulk_create``
a ``POST``, ``update`` a ``PUT``, ``delete`` a ``DELETE``; anything else
(joins, aggregates, subqueries) a ``POST .../query``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models.expressions import Col
from django.db.models.sql import compiler
from django.db.models.sql.datastructures import BaseTable

from .calls import (
    DELETE,
    INSERT,
    QUERY,
    SELECT,
    UPDATE,
    Assignment,
    Call,
    TranslatedSQL,
    count_placeholders,
    to_qmark,
)

_PLAIN_ASSIGNMENT = "%s"
_NULL_ASSIGNMENT = "NULL"


def _reads_only_its_table(fragment: str) -> bool:
    """A fragment without a subquery reads nothing but the statement's table."""
    return "SELECT" not in fragment.upper()


class StatementMixin:
    """Captures the statement's WHERE while it compiles, and builds its Call."""

    translating = False
    where_fragment: tuple[str, list[Any]] | None = None
    from_aliases: tuple[str, ...] = ()

    def execute_sql(self, *args: Any, **kwargs: Any) -> Any:
        self.translating = True
        return super().execute_sql(*args, **kwargs)

    def compile(self, node: Any) -> tuple[str, Any]:
        is_statement_where = node is getattr(self, "where", None) or node is self.query.where
        if self.translating and is_statement_where:
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
        return super().compile(node)

    def used_aliases(self) -> tuple[str, ...]:
        refcount = self.query.alias_refcount
        return tuple(alias for alias in self.query.alias_map if refcount[alias])

    def tables_in_query(self) -> frozenset[str]:
        aliases = self.from_aliases or self.used_aliases()
        return frozenset(self.query.alias_map[alias].table_name for alias in aliases)

    def condition(self) -> str | None:
        """The statement's WHERE as a table-call condition, or None when it is not one."""
        where_sql = self.where_fragment[0]
        return to_qmark(where_sql) if where_sql else None

    def single_table_condition_ok(self) -> bool:
        return self.where_fragment is not None and _reads_only_its_table(self.where_fragment[0])

    def query_call(self, sql: str, statement: str, written: frozenset[str] = frozenset()) -> TranslatedSQL:
        call = Call(
            operation=QUERY,
            sql=sql,
            tables_read=self.tables_in_query(),
            tables_written=written,
            statement=statement,
        )
        return TranslatedSQL(sql, call)


class SQLCompiler(StatementMixin, compiler.SQLCompiler):
    def pre_sql_setup(self, with_col_aliases: bool = False) -> Any:
        extra_select, order_by, group_by = super().pre_sql_setup(with_col_aliases)
        self.compiled_order_by = order_by
        self.compiled_group_by = group_by
        return extra_select, order_by, group_by

    def get_from_clause(self) -> tuple[list[str], list[Any]]:
        # as_sql() resets the alias refcounts when it returns: remember which
        # tables the FROM clause really named.
        self.from_aliases = self.used_aliases()
        return super().get_from_clause()

    def as_sql(self, with_limits: bool = True, with_col_aliases: bool = False) -> tuple[str, Any]:
        if not self.translating:
            return super().as_sql(with_limits, with_col_aliases)
        self.where_fragment = None
        sql, params = super().as_sql(with_limits, with_col_aliases)
        return self.translate(sql, with_limits) or self.query_call(sql, "SELECT"), params

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

    def translate(self, sql: str, with_limits: bool) -> TranslatedSQL | None:
        query = self.query
        table = self.base_table()
        if (
            table is None
            or query.distinct
            or self.compiled_group_by
            or self.having
            or self.qualify
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
            columns.append(expression.target.column)
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
            tables_read=frozenset((table,)),
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

    def assemble_as_sql(self, fields: Any, value_rows: Any) -> tuple[Any, Any]:
        placeholder_rows, param_rows = super().assemble_as_sql(fields, value_rows)
        if placeholder_rows:
            plain_row = (_PLAIN_ASSIGNMENT,) * len(placeholder_rows[0])
            self.plain_values = all(tuple(row) == plain_row for row in placeholder_rows)
        return placeholder_rows, param_rows

    def as_sql(self) -> list[tuple[str, Any]]:
        statements = super().as_sql()
        if not self.translating:
            return statements
        table = self.query.get_meta().db_table
        written = frozenset((table,))
        if len(statements) != 1 or self.query.on_conflict or not self.query.fields or not self.plain_values:
            return [(self.query_call(sql, "INSERT", written), params) for sql, params in statements]
        sql, params = statements[0]
        call = Call(
            operation=INSERT,
            sql=sql,
            table=table,
            tables_written=written,
            columns=tuple(field.column for field in self.query.fields),
            returning=tuple(field.column for field in self.returning_fields or ()),
            statement="INSERT",
        )
        return [(TranslatedSQL(sql, call), params)]


class SQLDeleteCompiler(StatementMixin, compiler.SQLDeleteCompiler):
    def as_sql(self) -> tuple[str, Any]:
        if not self.translating:
            return super().as_sql()
        self.where_fragment = None
        sql, params = super().as_sql()
        table = self.query.base_table
        written = frozenset((table,))
        if not self.single_table_condition_ok():
            return self.query_call(sql, "DELETE", written), params
        call = Call(
            operation=DELETE,
            sql=sql,
            table=table,
            tables_written=written,
            condition=self.condition(),
            statement="DELETE",
        )
        return TranslatedSQL(sql, call), params


class SQLUpdateCompiler(StatementMixin, compiler.SQLUpdateCompiler):
    def as_sql(self) -> tuple[str, Any]:
        if not self.translating:
            return super().as_sql()
        self.where_fragment = None
        sql, params = super().as_sql()
        if not sql:
            return sql, params
        table = self.query.get_meta().db_table
        written = frozenset((table,))
        assignments = self.assignments(sql, table)
        if assignments is None or not self.single_table_condition_ok():
            return self.query_call(sql, "UPDATE", written), params
        call = Call(
            operation=UPDATE,
            sql=sql,
            table=table,
            tables_written=written,
            assignments=assignments,
            condition=self.condition(),
            statement="UPDATE",
        )
        return TranslatedSQL(sql, call), params

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
    def as_sql(self) -> tuple[str, Any]:
        sql, params = super().as_sql()
        if not self.translating:
            return sql, params
        return self.query_call(sql, "SELECT"), params
