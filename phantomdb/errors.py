"""PEP 249 exception classes and the error codes of the PhantomDB REST API.

Clients map a server error to a class by its stable ``code``, never by its
message text, so a server can reword messages without breaking callers.
"""

from __future__ import annotations


class Warning(Exception):  # noqa: A001 - the name is fixed by PEP 249
    """Important warnings, such as data truncation (PEP 249)."""


class PhantomDBError(Exception):
    """Base class of every PhantomDB error; PEP 249's ``Error``."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


Error = PhantomDBError


class InterfaceError(PhantomDBError):
    """Misuse of the client itself, such as a closed cursor."""


class DatabaseError(PhantomDBError):
    """An error reported by, or on the way to, the database."""


class DataError(DatabaseError):
    """A value the database cannot hold or a request that is too large."""


class OperationalError(DatabaseError):
    """The server is unreachable, locked, or refused the credentials."""


class IntegrityError(DatabaseError):
    """A unique, foreign key, not-null or check constraint was violated."""


class InternalError(DatabaseError):
    """The server hit a bug; the request may be retried after a fix."""


class ProgrammingError(DatabaseError):
    """Bad SQL, a missing table or column, or a malformed request."""


class NotSupportedError(DatabaseError):
    """A feature PhantomDB does not have."""


# code -> (HTTP status, exception class). The table in docs/rest-api.md.
ERROR_CODES: dict[str, tuple[int, type[PhantomDBError]]] = {
    "invalid_json": (400, ProgrammingError),
    "invalid_request": (400, ProgrammingError),
    "syntax_error": (400, ProgrammingError),
    "column_not_found": (400, ProgrammingError),
    "condition_not_allowed": (400, ProgrammingError),
    "unconditional_delete": (400, ProgrammingError),
    "route_not_found": (404, ProgrammingError),
    "method_not_allowed": (405, ProgrammingError),
    "database_not_found": (404, ProgrammingError),
    "table_not_found": (404, ProgrammingError),
    "database_exists": (409, ProgrammingError),
    "table_exists": (409, ProgrammingError),
    "unique_violation": (409, IntegrityError),
    "foreign_key_violation": (409, IntegrityError),
    "not_null_violation": (409, IntegrityError),
    "check_violation": (409, IntegrityError),
    "data_error": (400, DataError),
    # A statement that failed while it ran: SQLite's sqlite3 module reports these
    # as OperationalError, and so does Django's sqlite3 backend.
    "statement_failed": (400, OperationalError),
    "payload_too_large": (413, DataError),
    "not_supported": (400, NotSupportedError),
    "unauthorized": (401, OperationalError),
    "transaction_not_found": (404, OperationalError),
    "transaction_expired": (410, OperationalError),
    "database_locked": (503, OperationalError),
    "operational_error": (503, OperationalError),
    "server_busy": (503, OperationalError),
    "internal_error": (500, InternalError),
    "statement_timeout": (400, OperationalError),
    "result_too_large": (400, DataError),
    "forbidden": (403, OperationalError),
    "unsupported_media_type": (415, ProgrammingError),
    "headers_too_large": (431, ProgrammingError),
    # Raised by the client itself, never sent by a server.
    "connection_failed": (0, OperationalError),  # the call never reached the server
    "connection_lost": (0, OperationalError),  # the call was sent: the server may have applied it
    "timeout": (0, OperationalError),
}


def error_from_response(code: str, message: str, status: int) -> PhantomDBError:
    """Build the exception for a server error; unknown codes fall back by status."""
    known = ERROR_CODES.get(code)
    if known is not None:
        cls = known[1]
    elif status >= 500:
        cls = InternalError
    else:
        cls = DatabaseError
    return cls(message, code=code, status=status)
