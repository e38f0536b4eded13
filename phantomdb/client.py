"""``PhantomDB``: the REST client of the PhantomDB REST API v1 (docs/rest-api.md).

Like requests' Session, one object owns the connection pool, the credentials
and the defaults, and every public method is a thin wrapper over the one
request path, ``Transport.request``. Values travel in the documented ``$``
encoding both ways (phantomdb.encoding).
"""

from __future__ import annotations

import datetime
import decimal
import functools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from phantomdb.encoding import decode_rows, encode_params, encode_value
from phantomdb.errors import ProgrammingError
from phantomdb.streams import RowStream
from phantomdb.transport import HeadersHook, RequestTransport, Transport, encode_body, quote_name

__all__ = ["PhantomDB", "Result"]

# A GET whose URL would be longer than this goes as POST .../select instead:
# proxies and servers commonly refuse request lines of 4-8 KB.
MAX_URL_LENGTH = 4096

_PLAIN = frozenset({type(None), bool, int, str})
_NEEDS_ENCODING = (
    float,
    bytes,
    bytearray,
    memoryview,
    decimal.Decimal,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
)


@dataclass(frozen=True, slots=True)
class Result:
    """Rows (decoded to Python values) and counts of a call; immutable, so one answer can be shared.

    ``rowcount`` is the number of rows changed, or of rows returned when the
    statement only reads; ``types`` are the storage classes the server reports
    (``integer``, ``real``, ``text``, ``blob``, ``null``), empty when it does not.
    ``decltypes`` are the columns' declared types (``"date"``, ``"decimal(10, 2)"``,
    None for an expression), when a query asked for them.
    ``info`` is the answer of a call that returns no rows (a transaction's id,
    the health document). A result asked for with ``stream=True`` that the
    server streamed has no ``rows``: they are read from ``stream`` as they
    arrive, and ``rowcount`` is -1.
    """

    columns: tuple[str, ...]
    types: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    rowcount: int = -1
    lastrowid: int | None = None
    info: Mapping[str, Any] | None = None
    stream: RowStream | None = None
    decltypes: tuple[str | None, ...] = ()

    @classmethod
    def from_response(cls, data: Mapping[str, Any] | None) -> Result:
        """Build a Result from a response body; decode only when it says ``encoded``."""
        if not data:
            return cls(columns=())
        raw = data.get("rows") or []
        rows = tuple(decode_rows(raw) if data.get("encoded") else map(tuple, raw))
        columns = tuple(data.get("columns") or ())
        rowcount = data.get("rowcount")
        if rowcount is None or (rowcount < 0 and columns):
            rowcount = len(rows) if columns else -1
        types = tuple(data.get("types") or ())
        decltypes = data.get("decltypes")
        if decltypes:  # only raw SQL asks for them: the ORM's answers take the short way
            return cls(columns, types, rows, rowcount, data.get("lastrowid"), decltypes=tuple(decltypes))
        return cls(columns, types, rows, rowcount, data.get("lastrowid"))


def _encode_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of column -> value with every value in its JSON form."""
    try:
        return {name: value if type(value) in _PLAIN else encode_value(value) for name, value in row.items()}
    except TypeError as exc:
        raise ProgrammingError(str(exc), code="invalid_request") from None


def _encode_params(params: Sequence[Any] | None) -> list[Any]:
    """``params`` in their JSON form; a value of a type PhantomDB lacks is a ProgrammingError
    (as sqlite3 and psycopg do), not a TypeError from deep inside the client."""
    try:
        return encode_params(params)
    except TypeError as exc:
        raise ProgrammingError(str(exc), code="invalid_request") from None


def _encode_default(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """A column spec whose ``default`` is in its JSON form (a Decimal, a date...)."""
    default = spec.get("default")
    if isinstance(default, _NEEDS_ENCODING):
        return {**spec, "default": encode_value(default)}
    return spec


def _encode_operation(operation: Mapping[str, Any]) -> Mapping[str, Any]:
    column = operation.get("column")
    if isinstance(column, Mapping):
        return {**operation, "column": _encode_default(column)}
    return operation


# quote(text, safe="") of ASCII text, as one str.translate: what stays is A-Z a-z 0-9 _ . - ~
_QUOTED_ASCII = {
    code: f"%{code:02X}" for code in range(128) if not (chr(code).isalnum() or chr(code) in "_.-~")
}


def _quote_value(text: str) -> str:
    """``quote(text, safe="")``, faster for the ASCII text of most parameter lists."""
    return text.translate(_QUOTED_ASCII) if text.isascii() else quote(text, safe="")


def _params_text(params: Sequence[Any]) -> str:
    return encode_body(_encode_params(params)).decode()


@functools.lru_cache(maxsize=1024)
def _select_path(
    db: str,
    table: str,
    columns: tuple[str, ...],
    condition: str | None,
    order_by: str | None,
    limit: int | None,
    offset: int | None,
) -> str:
    """A select's URL without its params: the same for every run of one statement, so cached."""
    query: list[tuple[str, Any]] = [("columns", column) for column in columns]
    optional = (("condition", condition), ("order_by", order_by), ("limit", limit), ("offset", offset))
    for key, value in optional:
        if value is not None:
            query.append((key, value))
    base = f"/databases/{quote_name(db)}/tables/{quote_name(table)}"
    return f"{base}?{urlencode(query, quote_via=quote)}" if query else base


class PhantomDB:
    """A client of one PhantomDB server; thread-safe, with a small connection pool.

    ``verify`` is True, False or a CA bundle path (HTTPS); ``cert`` a client
    certificate file or (cert, key) pair; ``headers_hook`` is called with an
    empty dict before every request and may add headers to it
    (``opentelemetry.propagate.inject`` fits). ``transport`` makes what carries
    the calls from these arguments: HTTP (``Transport``) unless it is an
    embedded server's ``EmbeddedServer.in_process``. Use as a context manager,
    or call ``close()``.
    """

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float | None = 30.0,
        connect_timeout: float | None = 5.0,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        pool_size: int = 4,
        retries: int = 2,
        headers_hook: HeadersHook | None = None,
        transport: Callable[..., RequestTransport] = Transport,
    ):
        self.transport = transport(
            url,
            user=user,
            password=password,
            token=token,
            timeout=timeout,
            connect_timeout=connect_timeout,
            verify=verify,
            cert=cert,
            pool_size=pool_size,
            retries=retries,
            headers_hook=headers_hook,
        )
        self.url = self.transport.url

    def __repr__(self) -> str:
        return f"<PhantomDB {self.url}>"

    def __enter__(self) -> PhantomDB:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self.transport.close()

    def _request(self, method: str, path: str, body: Any = None, transaction: str | None = None) -> Any:
        return self.transport.request(method, path, body, transaction=transaction)

    def _rows(self, method: str, path: str, body: Any, transaction: str | None, stream: bool) -> Result:
        """A call's result; with ``stream``, rows the server streams are read as they arrive."""
        if not stream:
            return Result.from_response(self.transport.request(method, path, body, transaction=transaction))
        response = self.transport.stream(method, path, body, transaction=transaction)
        if not response.streamed:
            return Result.from_response(response.json())
        # In a transaction, stopping early reads the rest: closing would end the transaction.
        rows = RowStream(response, drain_on_close=transaction is not None)
        return Result(columns=rows.columns, stream=rows)

    # -- server and databases ---------------------------------------------------

    def health_check(self) -> dict[str, Any]:
        """``{"status": "ok", "version": ...}``; raises OperationalError when unreachable."""
        return self._request("GET", "/health")

    def list_databases(self) -> list[dict[str, Any]]:
        """The databases, as ``[{"name": ...}]``."""
        return self._request("GET", "/databases")["databases"]

    def create_database(self, name: str) -> dict[str, Any]:
        return self._request("POST", "/databases", {"name": name})

    def ensure_database(self, name: str) -> None:
        """Create the database unless it exists (the embedded server starts empty)."""
        try:
            self.create_database(name)
        except ProgrammingError as exc:
            if exc.code != "database_exists":
                raise

    def get_database(self, name: str) -> dict[str, Any]:
        """``{"name", "tables", "size_bytes"}``."""
        return self._request("GET", f"/databases/{quote_name(name)}")

    def drop_database(self, name: str) -> None:
        self._request("DELETE", f"/databases/{quote_name(name)}")

    def clone_database(self, source: str, name: str) -> dict[str, Any]:
        """Create ``name`` holding a copy of ``source``'s last committed state."""
        return self._request("POST", f"/databases/{quote_name(source)}/clone", {"name": name})

    # -- schema -----------------------------------------------------------------

    def list_tables(self, db: str) -> list[dict[str, Any]]:
        """The tables and views, as ``[{"name": ..., "type": "table" | "view"}]``."""
        return self._request("GET", f"/databases/{quote_name(db)}/tables")["tables"]

    def create_table(
        self,
        db: str,
        spec_or_name: Mapping[str, Any] | str,
        columns: Iterable[Mapping[str, Any]] = (),
        constraints: Iterable[Mapping[str, Any]] = (),
        indexes: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Create a table from a whole spec, or from a name and its parts; return its description."""
        if isinstance(spec_or_name, str):
            spec: dict[str, Any] = {
                "name": spec_or_name,
                "columns": list(columns),
                "constraints": list(constraints),
                "indexes": list(indexes),
            }
        else:
            spec = dict(spec_or_name)
        spec["columns"] = [_encode_default(column) for column in spec.get("columns", ())]
        return self._request("POST", f"/databases/{quote_name(db)}/tables", spec)

    def describe_table(self, db: str, table: str) -> dict[str, Any]:
        """``{"name", "columns", "constraints", "indexes", "row_count"}``."""
        return self._request("GET", f"/databases/{quote_name(db)}/tables/{quote_name(table)}/schema")

    def alter_table(self, db: str, table: str, operations: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """Apply all ``operations`` in one step; return the new description."""
        body = {"operations": [_encode_operation(operation) for operation in operations]}
        return self._request("PATCH", f"/databases/{quote_name(db)}/tables/{quote_name(table)}/schema", body)

    def drop_table(self, db: str, table: str) -> None:
        self._request("DELETE", f"/databases/{quote_name(db)}/tables/{quote_name(table)}/schema")

    # -- rows -------------------------------------------------------------------

    def insert(
        self,
        db: str,
        table: str,
        rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        returning: Sequence[str] | None = None,
        transaction: str | None = None,
    ) -> Result:
        """Insert one row (a mapping) or many (a list, one transaction); rows hold ``returning``."""
        body = _encode_row(rows) if isinstance(rows, Mapping) else [_encode_row(row) for row in rows]
        path = f"/databases/{quote_name(db)}/tables/{quote_name(table)}"
        if returning:
            path += "?" + urlencode([("returning", column) for column in returning], quote_via=quote)
        return Result.from_response(self._request("POST", path, body, transaction))

    def select(
        self,
        db: str,
        table: str,
        columns: Sequence[str] | None = None,
        condition: str | None = None,
        params: Sequence[Any] | None = None,
        order_by: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        transaction: str | None = None,
        *,
        stream: bool = False,
    ) -> Result:
        """Rows of one table; a GET, or POST .../select when the URL would be too long.

        ``stream``: rows the server streams are read as they are fetched (``Result.stream``).
        """
        columns = tuple(columns) if columns else ()
        path = _select_path(db, table, columns, condition, order_by, limit, offset)
        if params:
            path += ("&" if "?" in path else "?") + "params=" + _quote_value(_params_text(params))
        if len(self.transport.prefix) + len(path) <= MAX_URL_LENGTH:
            return self._rows("GET", path, None, transaction, stream)
        base = f"/databases/{quote_name(db)}/tables/{quote_name(table)}"
        body: dict[str, Any] = {"params": _encode_params(params)}
        for key, value in (
            ("columns", list(columns) if columns else None),
            ("condition", condition),
            ("order_by", order_by),
            ("limit", limit),
            ("offset", offset),
        ):
            if value is not None:
                body[key] = value
        return self._rows("POST", f"{base}/select", body, transaction, stream)

    def update(
        self,
        db: str,
        table: str,
        data: Mapping[str, Any],
        condition: str | None = None,
        params: Sequence[Any] | None = None,
        expressions: Mapping[str, str] | None = None,
        transaction: str | None = None,
    ) -> int:
        """Set ``data`` values and ``expressions`` on matching rows; return how many changed.

        ``params`` fill the ``?`` of ``expressions`` (in key order), then of ``condition``.
        """
        body: dict[str, Any] = {"data": _encode_row(data)}
        if expressions:
            body["expressions"] = dict(expressions)
        if condition is not None:
            body["condition"] = condition
        if params:
            body["params"] = _encode_params(params)
        path = f"/databases/{quote_name(db)}/tables/{quote_name(table)}"
        return self._request("PUT", path, body, transaction)["rowcount"]

    def delete(
        self,
        db: str,
        table: str,
        condition: str | None = None,
        params: Sequence[Any] | None = None,
        all: bool = False,  # noqa: A002 - the REST API's own word for "every row"
        transaction: str | None = None,
    ) -> int:
        """Delete matching rows; without a condition the server refuses unless ``all`` is true."""
        query: list[tuple[str, str]] = []
        if condition is not None:
            query.append(("condition", condition))
        if params:
            query.append(("params", _params_text(params)))
        if all:
            query.append(("all", "true"))
        path = f"/databases/{quote_name(db)}/tables/{quote_name(table)}"
        if query:
            path += "?" + urlencode(query, quote_via=quote)
        return self._request("DELETE", path, None, transaction)["rowcount"]

    # -- SQL --------------------------------------------------------------------

    def execute_query(
        self,
        db: str,
        query: str,
        params: Sequence[Any] | None = None,
        transaction: str | None = None,
        *,
        stream: bool = False,
        decltypes: bool = False,
    ) -> Result:
        """Run one SQL statement with ``?`` placeholders.

        ``stream``: rows the server streams are read as they are fetched (``Result.stream``).
        ``decltypes``: the answer reports the result columns' declared types (``Result.decltypes``).
        """
        body: dict[str, Any] = {"query": query, "params": _encode_params(params)}
        if decltypes:
            body["decltypes"] = True
        path = f"/databases/{quote_name(db)}/query"
        return self._rows("POST", path, body, transaction, stream)

    def execute_batch(
        self, db: str, query: str, param_lists: Iterable[Sequence[Any]], transaction: str | None = None
    ) -> Result:
        """Run one statement once per parameter list, in one call; ``rowcount`` is the total."""
        body = {"query": query, "batch": [_encode_params(params) for params in param_lists]}
        path = f"/databases/{quote_name(db)}/query"
        return Result.from_response(self._request("POST", path, body, transaction))

    # -- transactions -----------------------------------------------------------

    def begin_transaction(self, db: str, *, foreign_keys: bool = True) -> str:
        """Start a transaction (it holds the database's write lock); return its id.

        ``foreign_keys=False`` suspends foreign key enforcement for this
        transaction only (schema changes that remake tables need it).
        """
        body: dict[str, Any] = {"database": db}
        if not foreign_keys:
            body["foreign_keys"] = False
        return self._request("POST", "/transactions", body)["id"]

    @staticmethod
    def _savepoint_path(transaction: str, name: str, action: str) -> str:
        return f"/transactions/{quote_name(transaction)}/savepoints/{quote_name(name)}/{action}"

    def commit_transaction(self, transaction: str) -> None:
        self._request("POST", f"/transactions/{quote_name(transaction)}/commit")

    def rollback_transaction(self, transaction: str) -> None:
        self._request("POST", f"/transactions/{quote_name(transaction)}/rollback")

    def savepoint(self, transaction: str, name: str) -> None:
        self._request("POST", f"/transactions/{quote_name(transaction)}/savepoints", {"name": name})

    def release_savepoint(self, transaction: str, name: str) -> None:
        self._request("POST", self._savepoint_path(transaction, name, "release"))

    def rollback_to_savepoint(self, transaction: str, name: str) -> None:
        self._request("POST", self._savepoint_path(transaction, name, "rollback"))
