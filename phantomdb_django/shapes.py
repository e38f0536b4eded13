"""Selects compiled once per shape: the same query with other values reuses its SQL.

Django builds a query's SQL anew each time it runs. For the common read (one
table, its model's columns, a WHERE of plain lookups on columns, ORDER BY
field names, a slice) nothing of that SQL but the values changes from one run
to the next, and compiling it is about a third of what a cache hit costs.

A query's shape is everything its SQL depends on except the values: each
attribute the query has set is either part of the shape or known to leave
the SQL alone (building state such as ``used_aliases``). A query with any
other attribute set (annotations, joins, ``extra()``, ``select_for_update()``,
``only()``, ... or whatever a later Django adds) has no shape and compiles as
always. A known shape compiles only its WHERE, with Django's own lookups (so
a value beyond a field's range, an empty ``__in`` and every value's
conversion behave as always), and reuses the rest of the SQL, the
compiler's select list and the statement's Call, provided that WHERE came
out as the one the shape was recorded with and held all of the statement's
parameters.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist, FullResultSet
from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.sql.datastructures import BaseTable
from django.db.models.sql.query import Query
from django.db.models.sql.where import WhereNode

# Values whose type decides how a lookup writes them; their value never changes the SQL.
_PLAIN_VALUES = frozenset(
    {int, str, float, bool, bytes, decimal.Decimal, datetime.date, datetime.datetime, datetime.time,
     datetime.timedelta, uuid.UUID}
)  # fmt: skip
# Query attributes that are part of the shape as they are.
_SHAPING = frozenset(
    {"model", "alias_cols", "order_by", "low_mark", "high_mark", "default_ordering", "standard_ordering"}
)
# Query attributes that only matter while the query is built, or cache what the shape covers.
_BUILDING = frozenset(
    {"alias_refcount", "table_map", "used_aliases", "filter_is_sticky", "_lookup_joins",
     "_annotation_select_cache", "_extra_select_cache", "where", "alias_map"}
)  # fmt: skip
# Query attributes a shape must find empty.
_EMPTY = frozenset({"annotations", "extra", "_filtered_relations", "external_aliases", "extra_order_by"})
# What the compiler knows after compiling, besides the SQL: restored on reuse.
_COMPILER_STATE = (
    "select", "klass_info", "annotation_col_map", "col_count", "has_extra_select", "having", "qualify",
    "_meta_ordering", "compiled_order_by", "compiled_group_by", "from_aliases",
)  # fmt: skip
# Shapes kept; emptied when full (each holds its statement's SQL and select list).
MAX_SHAPES = 2048


class Shape:
    """A compiled statement of one shape: its SQL, its WHERE's SQL and the compiler's state,
    for the model's fields as they were (a model built at run time may change them)."""

    __slots__ = ("fields", "sql", "state", "where_sql")

    def __init__(self, sql: str, where_sql: str, state: dict[str, Any], fields: Any):
        self.sql = sql
        self.where_sql = where_sql
        self.state = state
        self.fields = fields


_shapes: dict[tuple[Any, ...], Shape] = {}


def shape_of(compiler: Any, with_limits: bool, with_col_aliases: bool) -> tuple[Any, ...] | None:
    """The shape of the select ``compiler`` is about to compile, or None when it has none."""
    query = compiler.query
    if not with_limits or with_col_aliases or type(query) is not Query:
        return None
    key: list[Any] = [type(compiler), compiler.connection.alias, compiler.elide_empty]
    for name, value in query.__dict__.items():
        if name in _SHAPING:
            key.append((name, value))
        elif name in _EMPTY:
            if value:
                return None
        elif name not in _BUILDING:
            return None
    meta = query.get_meta()
    ordering = meta.ordering or ()  # a test may change a model's Meta at run time
    if not _orders_by_own_columns(meta, ordering) or not _orders_by_own_columns(meta, query.order_by):
        return None
    key += (meta.db_table, tuple(ordering))
    refcount = query.alias_refcount
    for alias, table in query.alias_map.items():
        if type(table) is not BaseTable or table.table_alias != table.table_name:
            return None
        key.append((alias, refcount[alias] > 0))
    where = _where_shape(query.where)
    if where is None:
        return None
    key.append(where)
    try:
        return tuple(key)
    except TypeError:
        return None


def _orders_by_own_columns(meta: Any, names: Any) -> bool:
    """Whether every ordering name is a column of the model itself: ordering by a relation
    depends on the related model (its ``Meta.ordering``, its table), which no key covers."""
    for name in names:
        if type(name) is not str:
            return False
        field_name = name.removeprefix("-")
        if field_name == "pk":
            continue
        try:
            field = meta.get_field(field_name)
        except FieldDoesNotExist:
            return False
        if field.is_relation:
            return False
    return True


def _where_shape(node: Any) -> tuple[Any, ...] | None:
    """A WHERE's shape: its connectors and lookups, each lookup's column and its value's type."""
    if type(node) is not WhereNode:
        return None
    shape: list[Any] = [node.connector, node.negated]
    for child in node.children:
        if type(child) is WhereNode:
            nested = _where_shape(child)
            if nested is None:
                return None
            shape.append(nested)
            continue
        if not isinstance(child, Lookup) or type(child.lhs) is not Col:
            return None
        lhs = child.lhs
        rhs = child.rhs
        if type(rhs) is bool:  # a boolean column's lookup writes the column, or NOT it
            value: Any = (bool, rhs)
        elif type(rhs) in _PLAIN_VALUES or rhs is None:
            value = type(rhs)
        elif type(rhs) in (list, tuple, set, frozenset) and all(type(item) in _PLAIN_VALUES for item in rhs):
            value = (type(rhs), len(rhs), frozenset(map(type, rhs)))
        else:
            return None
        shape.append((type(child), lhs.alias, lhs.target, lhs.output_field, value))
    return tuple(shape)


def reuse(compiler: Any, key: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]] | None:
    """The SQL and parameters of a known shape, with ``compiler`` set up as compiling it would;
    None when the shape is new or this query's WHERE came out otherwise."""
    shape = _shapes.get(key)
    query = compiler.query
    if shape is None or shape.fields is not query.get_meta().concrete_fields:
        return None
    where = query.where
    try:
        where_sql, where_params = compiler.compile(where) if where.children else ("", [])
    except FullResultSet:
        where_sql, where_params = "", []
    except EmptyResultSet:
        return None  # compiling it whole decides what an empty WHERE means
    if where_sql != shape.where_sql:
        return None
    if all(query.alias_refcount[alias] == 0 for alias in query.alias_map):
        # As compiling leaves it: the base table in alias_map, unreferenced.
        refcounts = query.alias_refcount.copy()
        query.get_initial_alias()
        query.reset_refcounts(refcounts)
    compiler.__dict__.update(shape.state)
    compiler.where = where
    compiler.connection.last_translated = shape.sql  # as StatementMixin.translated does
    return shape.sql, tuple(where_params)


def remember(compiler: Any, key: tuple[Any, ...], sql: str, params: tuple[Any, ...]) -> None:
    """Keep what ``compiler`` just compiled under ``key``, when its WHERE held all its parameters."""
    fragment = compiler.where_fragment
    if fragment is None:
        if compiler.query.where.children:
            return
        fragment = ("", [])
    where_sql, where_params = fragment
    if tuple(where_params) != tuple(params) or compiler.where is not compiler.query.where:
        return
    if len(_shapes) >= MAX_SHAPES:
        _shapes.clear()
    state = {name: getattr(compiler, name) for name in _COMPILER_STATE if hasattr(compiler, name)}
    _shapes[key] = Shape(sql, where_sql, state, compiler.query.get_meta().concrete_fields)
