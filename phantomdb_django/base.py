"""The PhantomDB database wrapper: settings, connections, transactions.

PhantomDB speaks SQLite-compatible SQL over REST, so the wrapper subclasses
Django's sqlite3 one and replaces what touches the connection: it connects
with the ``phantomdb`` client, runs transactions on the server, and leaves
SQL generation (operators, data types) to the dialect.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.sqlite3 import base as sqlite3_base
from django.db.backends.sqlite3.schema import DatabaseSchemaEditor
from django.db.backends.utils import debug_transaction
from django.utils.asyncio import async_unsafe

import phantomdb as Database
from phantomdb import calls
from phantomdb.calls import Call, first_keyword

from .cache import checks  # noqa: F401 - registers the cache's system checks
from .cache.settings import parse_cache_settings
from .calls import TranslatedSQL
from .chain import chain_links
from .client import DatabaseClient
from .creation import DatabaseCreation
from .cursor import PhantomDBCursor
from .embedded import embedded_server, server_url
from .features import DatabaseFeatures
from .introspection import DatabaseIntrospection
from .operations import DatabaseOperations
from .telemetry.metrics import count_connection
from .telemetry.propagation import inject_trace_context
from .telemetry.settings import parse_telemetry_settings

# OPTIONS keys passed to phantomdb.connect(), with their meaning for the docs.
CONNECTION_OPTIONS = frozenset(
    {"token", "timeout", "connect_timeout", "verify", "cert", "pool_size", "retries"}
)
BACKEND_OPTIONS = frozenset({"data_dir", "durability", "CACHE", "TELEMETRY"})


def varchar_type(data: dict[str, Any]) -> str:
    """CharField without max_length is an unbounded VARCHAR."""
    if data["max_length"] is None:
        return "varchar"
    return "varchar(%(max_length)s)" % data


def decimal_type(data: dict[str, Any]) -> str:
    """DecimalField without max_digits and decimal_places (Django 6) is a bare DECIMAL."""
    if data["max_digits"] is None and data["decimal_places"] is None:
        return "decimal"
    return "decimal(%(max_digits)s, %(decimal_places)s)" % data


class DatabaseWrapper(sqlite3_base.DatabaseWrapper):
    # The SQL dialect is SQLite's: Django's as_sqlite() expressions and
    # vendor checks must apply. display_name tells users what they run on.
    vendor = "sqlite"
    display_name = "PhantomDB"

    data_types: dict[str, Any] = {
        "AutoField": "integer",
        "BigAutoField": "bigint",
        "BinaryField": "blob",
        "BooleanField": "boolean",
        "CharField": varchar_type,
        "DateField": "date",
        "DateTimeField": "timestamp",
        "DecimalField": decimal_type,
        "DurationField": "bigint",
        "FileField": "varchar(%(max_length)s)",
        "FilePathField": "varchar(%(max_length)s)",
        "FloatField": "double",
        "IntegerField": "integer",
        "BigIntegerField": "bigint",
        "IPAddressField": "varchar(15)",
        "GenericIPAddressField": "varchar(39)",
        "JSONField": "json",
        "OneToOneField": "integer",
        "PositiveBigIntegerField": "bigint",
        "PositiveIntegerField": "integer",
        "PositiveSmallIntegerField": "smallint",
        "SlugField": "varchar(%(max_length)s)",
        "SmallAutoField": "smallint",
        "SmallIntegerField": "smallint",
        "TextField": "text",
        "TimeField": "time",
        "UUIDField": "varchar(32)",
    }
    # LIKE is case-sensitive in PhantomDB; case-insensitive lookups compare
    # CASEFOLD() of both sides (DatabaseOperations.lookup_cast folds the left).
    operators = {
        **sqlite3_base.DatabaseWrapper.operators,
        "iexact": "= CASEFOLD(%s)",
        "icontains": "LIKE CASEFOLD(%s) ESCAPE '\\'",
        "istartswith": "LIKE CASEFOLD(%s) ESCAPE '\\'",
        "iendswith": "LIKE CASEFOLD(%s) ESCAPE '\\'",
    }
    pattern_ops = {
        **sqlite3_base.DatabaseWrapper.pattern_ops,
        "icontains": r"LIKE '%%' || CASEFOLD({}) || '%%' ESCAPE '\'",
        "istartswith": r"LIKE CASEFOLD({}) || '%%' ESCAPE '\'",
        "iendswith": r"LIKE '%%' || CASEFOLD({}) ESCAPE '\'",
    }

    Database = Database
    # PhantomDB's DDL is SQLite's with PhantomDB type names (the server maps them
    # onto SQLite storage), so the sqlite3 schema editor applies, table remakes
    # included, inside one server-side transaction with foreign keys off.
    SchemaEditorClass = DatabaseSchemaEditor
    client_class = DatabaseClient  # type: ignore[assignment]  # the stubs want sqlite3's own classes
    creation_class = DatabaseCreation  # type: ignore[assignment]
    features_class = DatabaseFeatures
    introspection_class = DatabaseIntrospection
    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The statements being compiled, innermost last (see compiler.StatementMixin).
        self.statements_compiling: list[Any] = []
        # The query cache store of this alias (set with each new connection; None: disabled).
        self.query_cache: Any = None
        # The statement the compiler translated last (see PhantomDBCursor.execute).
        self.last_translated: Any = None

    def get_connection_params(self) -> dict[str, Any]:
        settings_dict = self.settings_dict
        if not settings_dict["NAME"]:
            raise ImproperlyConfigured(
                "settings.DATABASES is improperly configured. Please supply the NAME value "
                "(the PhantomDB database name)."
            )
        options = dict(settings_dict["OPTIONS"])
        unknown = set(options) - CONNECTION_OPTIONS - BACKEND_OPTIONS
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown PhantomDB OPTIONS {sorted(unknown)} in DATABASES[{self.alias!r}]; "
                f"known: {sorted(CONNECTION_OPTIONS | BACKEND_OPTIONS)}."
            )
        # A wrong setting fails here, named, before anything connects.
        parse_cache_settings(self.alias, options.get("CACHE"))
        telemetry = parse_telemetry_settings(self.alias, options.get("TELEMETRY"))
        params = {key: value for key, value in options.items() if key in CONNECTION_OPTIONS}
        if telemetry.tracing:
            params["headers_hook"] = inject_trace_context
        self.embedded = not settings_dict["HOST"]
        if self.embedded:
            server = embedded_server(options)
            params["url"] = server.url
            if server.running:  # not in a process forked after it started: that one has only the URL
                params["transport"] = server.in_process
        else:
            params["url"] = server_url(settings_dict)
        params["database"] = settings_dict["NAME"]
        params["user"] = settings_dict["USER"] or None
        params["password"] = settings_dict["PASSWORD"] or None
        return params

    def get_database_version(self) -> tuple[int, ...]:
        with self.temporary_connection():
            version = self.connection.health_check().get("version", "1")
        return tuple(int(part) for part in version.split(".") if part.isdigit())

    @async_unsafe
    def get_new_connection(self, conn_params: dict[str, Any]) -> Database.Connection:
        connection = Database.connect(**conn_params, links=chain_links(self, conn_params["url"]))
        count_connection(self)
        if self.embedded:
            connection.ensure_database()
        return connection

    def init_connection_state(self) -> None:
        # No version round trip per connection: the REST API version is checked
        # when a call fails, and the sqlite3 backend's PRAGMAs live on the server.
        pass

    def create_cursor(self, name: str | None = None) -> PhantomDBCursor:
        """A cursor; a named one (``chunked_cursor``) streams its rows as they are fetched."""
        return PhantomDBCursor(self.connection, self, stream=name is not None)

    @async_unsafe
    def chunked_cursor(self) -> Any:
        """The cursor of ``QuerySet.iterator()``: rows come from the server as Django fetches
        them, so memory stays flat however long the result (docs/backend.md, "Streaming")."""
        return self._cursor(name="stream")  # type: ignore[attr-defined]  # not in the stubs

    @async_unsafe
    def close(self) -> None:
        self.validate_thread_sharing()
        BaseDatabaseWrapper.close(self)

    def _savepoint_allowed(self) -> bool:
        return BaseDatabaseWrapper._savepoint_allowed(self)  # type: ignore[attr-defined]  # not in the stubs

    def _set_autocommit(self, autocommit: bool) -> None:
        with self.wrap_database_errors:
            self.connection.autocommit = autocommit

    def _start_transaction_under_autocommit(self) -> None:
        # atomic() calls this (inherited from sqlite3) instead of
        # _set_autocommit(False); both begin a server transaction lazily.
        with debug_transaction(self, "BEGIN"):
            self._set_autocommit(False)

    # Savepoints are REST calls; connection.queries still lists them, as
    # Django's own backends do (assertNumQueries counts them).
    def _savepoint(self, sid: str) -> None:
        self._run_savepoint_call(calls.SAVEPOINT, sid, self.ops.savepoint_create_sql(sid))

    def _savepoint_rollback(self, sid: str) -> None:
        self._run_savepoint_call(calls.ROLLBACK_TO_SAVEPOINT, sid, self.ops.savepoint_rollback_sql(sid))

    def _savepoint_commit(self, sid: str) -> None:
        self._run_savepoint_call(calls.RELEASE_SAVEPOINT, sid, self.ops.savepoint_commit_sql(sid))

    def _run_savepoint_call(self, operation: str, sid: str, sql: str) -> None:
        """Through a cursor, as Django's own backends do, so query logs and counts see it."""
        call = Call(operation, sql=sql, statement=first_keyword(sql), name=sid)
        with self.cursor() as cursor:
            cursor.execute(TranslatedSQL(sql, call))

    def disable_constraint_checking(self) -> bool:
        # Foreign keys can only be switched off for a whole transaction, before it
        # begins (SQLite ignores the PRAGMA inside one), as the sqlite3 backend says.
        self.ensure_connection()
        if self.connection.transaction_id is not None:
            return False
        self.connection.foreign_keys = False
        return True

    def enable_constraint_checking(self) -> None:
        self.connection.foreign_keys = True

    def is_usable(self) -> bool:
        try:
            self.connection.health_check()
        except Database.Error:
            return False
        return True

    def is_in_memory_db(self) -> bool:
        return False
