"""Requests and responses as the handlers see them, and the checks on their fields.

Handlers never touch ASGI: they read a ``Request`` and return a ``Response``.
Every malformed input ends here as a 400 (``invalid_json`` or
``invalid_request``), never as a 5xx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

import orjson

from phantomdb.server.errors import ApiError

if TYPE_CHECKING:
    from phantomdb.server.app import PhantomDBLite

JSON = b"application/json"


def invalid(message: str) -> ApiError:
    return ApiError("invalid_request", message)


class Request:
    """One HTTP request: path parameters, query string, body and the headers we read."""

    __slots__ = (
        "_json",
        "_query",
        "app",
        "authorization",
        "body",
        "method",
        "params",
        "query_string",
        "transaction",
    )

    def __init__(self, app: PhantomDBLite, method: str, params: dict[str, str], query_string: bytes):
        self.app = app
        self.method = method
        self.params = params
        self.query_string = query_string
        self.body = b""
        self.authorization: bytes | None = None
        self.transaction: str | None = None  # the PhantomDB-Transaction header
        self._query: dict[str, list[str]] | None = None
        self._json: Any = None

    # Query string -------------------------------------------------------

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            self._query = parse_query(self.query_string)
        return self._query

    def query_value(self, name: str) -> str | None:
        """The last value of a query parameter, or None when absent."""
        values = self.query.get(name)
        return values[-1] if values else None

    def query_int(self, name: str) -> int | None:
        """A non-negative integer query parameter such as ``limit``."""
        text = self.query_value(name)
        if text is None or text == "":
            return None
        if not text.isascii() or not text.isdigit():
            raise invalid(f"'{name}' must be a non-negative integer, got {text!r}")
        return int(text)

    def query_bool(self, name: str) -> bool:
        text = self.query_value(name)
        if text is None:
            return False
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
        raise invalid(f"'{name}' must be true or false, got {text!r}")

    def query_json_list(self, name: str) -> list[Any] | None:
        """A query parameter that holds a JSON list, such as ``params``."""
        return json_list(name, self.query_value(name))

    # Body ---------------------------------------------------------------

    def json(self) -> Any:
        """The body parsed as JSON; ``invalid_json`` when it is not."""
        if self._json is None:
            try:
                self._json = orjson.loads(self.body)
            except orjson.JSONDecodeError as exc:
                raise ApiError("invalid_json", f"The request body is not JSON: {exc}") from None
        return self._json

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object")
        return body


class Response:
    """A status and a body, or a stream of body chunks for long results."""

    __slots__ = ("body", "content_type", "headers", "status", "stream")

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: bytes = JSON,
        headers: list[tuple[bytes, bytes]] | None = None,
        stream: Stream | None = None,
    ):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or []
        self.stream = stream


class StreamCut(Exception):
    """Raised by a stream's chunks to end the response unfinished: the connection closes."""


class Stream:
    """Body chunks produced after the handler returned, plus what to release afterwards.

    ``abandon`` is called (before ``close``) when the client stopped reading. The
    chunks may raise ``StreamCut`` to end the response without its last chunk.
    """

    def __init__(self, chunks: AsyncIterator[bytes], close: Callable[[], None], abandon: Callable[[], None]):
        self.chunks = chunks
        self.close = close
        self.abandon = abandon


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, orjson.dumps(data))


def no_content() -> Response:
    return Response(204, content_type=b"")


def error_response(error: ApiError) -> Response:
    body = orjson.dumps({"error": {"code": error.code, "message": error.message}})
    return Response(error.status, body)


# Fields -------------------------------------------------------------------


def json_list(name: str, text: str | None) -> list[Any] | None:
    """The JSON list in the text of field or parameter ``name`` (None when absent)."""
    if text is None:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ApiError("invalid_json", f"'{name}' is not JSON: {text[:200]!r}") from None
    if not isinstance(value, list):
        raise invalid(f"'{name}' must be a JSON list")
    return value


def text_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """A string field; an empty string counts as given (callers decide if it is valid)."""
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(f"'{name}' is required")
        return None
    if not isinstance(value, str):
        raise invalid(f"'{name}' must be a string")
    return value


def list_field(body: dict[str, Any], name: str) -> list[Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, list):
        raise invalid(f"'{name}' must be a list")
    return value


def object_field(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise invalid(f"'{name}' must be an object")
    return value


def bool_field(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if type(value) is not bool:
        raise invalid(f"'{name}' must be true or false")
    return value


def count_field(body: dict[str, Any], name: str) -> int | None:
    """A non-negative integer field such as ``limit`` or ``offset``."""
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise invalid(f"'{name}' must be a non-negative integer")
    return value


def string_list(values: list[Any] | None, name: str) -> list[str]:
    if values is None:
        return []
    if not all(isinstance(value, str) and value for value in values):
        raise invalid(f"'{name}' must be a list of non-empty strings")
    return values


# Query strings -------------------------------------------------------------


def _unquote(raw: bytes) -> str:
    if b"%" in raw or b"+" in raw:
        raw = unquote_to_bytes(raw.replace(b"+", b" "))
    return raw.decode("utf-8")


# Parsed ``name=value`` pairs by their raw bytes. A client sends the same few
# pairs over and over (the columns, condition and limit of one statement);
# ``params`` pairs hold values and change from call to call, so they are not kept.
_PAIRS: dict[bytes, tuple[str, str]] = {}
_PAIRS_LIMIT = 4096
_LONGEST_KEPT_PAIR = 512
_UNKEPT = (b"params=",)


def query_text(raw: bytes) -> str:
    """One name or value of a query string, percent-decoded."""
    try:
        return _unquote(raw)
    except UnicodeDecodeError:
        raise invalid("The query string is not UTF-8") from None


def _parse_pair(pair: bytes) -> tuple[str, str]:
    name, _, value = pair.partition(b"=")
    parsed = (_unquote(name), _unquote(value))
    if len(pair) <= _LONGEST_KEPT_PAIR and not pair.startswith(_UNKEPT):
        if len(_PAIRS) >= _PAIRS_LIMIT:
            _PAIRS.clear()
        _PAIRS[pair] = parsed
    return parsed


def parse_query(raw: bytes) -> dict[str, list[str]]:
    """Parse ``a=1&a=2&b=x`` into lists of values (faster than urllib's parse_qs)."""
    query: dict[str, list[str]] = {}
    if not raw:
        return query
    kept = _PAIRS.get
    try:
        for pair in raw.split(b"&"):
            parsed = kept(pair)
            if parsed is None:
                if not pair:
                    continue
                parsed = _parse_pair(pair)
            name, value = parsed
            values = query.get(name)
            if values is None:
                query[name] = [value]
            else:
                values.append(value)
    except UnicodeDecodeError:
        raise invalid("The query string is not UTF-8") from None
    return query
