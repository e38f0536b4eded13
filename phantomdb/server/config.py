"""The settings of one PhantomDB Lite server, and where credentials come from.

Credentials are read from ``--user``/``--token`` flags, the ``PHANTOMDB_USERS`` /
``PHANTOMDB_TOKENS`` environment variables and an ``--auth-file``; all sources
add up. They are hashed as soon as they are read (``auth.Credentials``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from phantomdb.server.auth import Credentials

DURABILITY_LEVELS = ("full", "normal", "off")
# No "trace": uvicorn's trace logging prints query strings, which hold parameter values.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@dataclass(frozen=True)
class Settings:
    """Everything a server needs to know; the CLI flags map onto these one to one."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("phantomdb-data")
    credentials: Credentials = field(default_factory=Credentials)
    durability: str = "normal"  # SQLite's PRAGMA synchronous: full | normal | off
    max_body_bytes: int = 64 * 1024 * 1024
    max_rows: int = 10_000  # results longer than this are streamed
    transaction_timeout: float = 60.0  # seconds a transaction may idle before it is rolled back
    busy_timeout: float = 5.0  # seconds a call waits for another transaction's write lock
    log_level: str = "info"
    keepalive_timeout: int = 75  # the Django backend keeps its connections open
    statement_timeout: float = 30.0  # seconds one statement may run before it is interrupted
    statement_threads: int = 8  # worker threads that run SQLite work off the event loop
    max_response_bytes: int = 64 * 1024 * 1024  # largest value, and largest unstreamed response body
    max_stream_bytes: int = 1024 * 1024 * 1024  # largest streamed result, all its chunks together
    header_timeout: float = 10.0  # seconds a client has to send a request's head
    max_header_bytes: int = 1024 * 1024  # largest request head: a select's query string can be long
    max_connections: int = 1024  # open connections (and requests) past which the server answers 503
    allowed_origins: tuple[str, ...] = ()  # browser origins whose requests are served
    allowed_hosts: tuple[str, ...] = ()  # Host names accepted besides the loopback ones

    def __post_init__(self) -> None:
        if self.durability not in DURABILITY_LEVELS:
            raise ValueError(
                f"durability must be one of {', '.join(DURABILITY_LEVELS)}, not {self.durability!r}"
            )
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        for name in (
            "max_body_bytes", "max_rows", "statement_threads", "max_response_bytes", "max_stream_bytes",
            "max_header_bytes", "max_connections",
        ):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be at least 1")
        for name in ("transaction_timeout", "busy_timeout", "statement_timeout", "header_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name.replace('_', '-')} must be positive")
            object.__setattr__(self, name, float(getattr(self, name)))  # 30 and 30.0 alike
        object.__setattr__(self, "allowed_origins", tuple(self.allowed_origins))
        object.__setattr__(self, "allowed_hosts", tuple(host.lower() for host in self.allowed_hosts))


def parse_user(text: str) -> tuple[str, str]:
    """Split ``user:password`` at the first colon (passwords may hold colons, names may not)."""
    name, separator, password = text.partition(":")
    if not separator or not name:
        raise ValueError(f"a user is given as USER:PASSWORD, got {text.split(':')[0]!r} without a password")
    return name, password


def read_auth_file(path: Path) -> tuple[dict[str, str], list[str]]:
    """Read ``{"users": {"name": "password"}, "tokens": ["token"]}``."""
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"cannot read auth file {path}: {exc}") from None
    users = document.get("users", {}) if isinstance(document, dict) else None
    tokens = document.get("tokens", []) if isinstance(document, dict) else None
    if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
        raise ValueError(f'auth file {path}: "users" must be an object of name -> password')
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        raise ValueError(f'auth file {path}: "tokens" must be a list of strings')
    return users, tokens


def load_credentials(
    users: Iterable[str] = (),
    tokens: Iterable[str] = (),
    auth_file: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Credentials:
    """Gather users and tokens from flags, environment and file, and hash them."""
    plain_users: dict[str, str] = {}
    plain_tokens: list[str] = [token for token in tokens if token]
    user_texts = list(users)
    user_texts += [text for text in environ.get("PHANTOMDB_USERS", "").split(",") if text.strip()]
    for text in user_texts:
        name, password = parse_user(text.strip())
        plain_users[name] = password
    plain_tokens += [
        token.strip() for token in environ.get("PHANTOMDB_TOKENS", "").split(",") if token.strip()
    ]
    if auth_file is not None:
        file_users, file_tokens = read_auth_file(auth_file)
        plain_users.update(file_users)
        plain_tokens += file_tokens
    return Credentials.from_plain(plain_users, plain_tokens)
