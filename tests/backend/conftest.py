"""Django on a real PhantomDB Lite process: settings, the session database, and helpers.

Django is configured once, when this file is imported (test modules import
the models), with a placeholder server; the session fixture ``phantom``
starts PhantomDB Lite, points the ``default`` database at a fresh database
on it and runs ``migrate`` for real. Every test then cleans the test app's
tables when it ends.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import django
import pytest
import requests
from django.conf import settings

# A port nothing listens on, so that a query sent before the session
# fixture has run fails at once instead of reaching some other server.
_PLACEHOLDER_HOST = "http://127.0.0.1:9"

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="phantomdb-backend-tests",
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        TIME_ZONE="America/Chicago",
        DATABASES={
            "default": {"ENGINE": "phantomdb_django", "NAME": "placeholder", "HOST": _PLACEHOLDER_HOST},
        },
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "django.contrib.admin",
            "django.contrib.messages",
            "phantomdb_django",
            "tests.backend.testapp",
        ],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        ROOT_URLCONF="tests.backend.urls",
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ],
                },
            },
        ],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SILENCED_SYSTEM_CHECKS=["fields.E900", "fields.E903"],
    )
    django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.utils import ConnectionHandler  # noqa: E402

import phantomdb  # noqa: E402
from phantomdb.calls import STATEMENTS, Call  # noqa: E402
from phantomdb.chain import Execute  # noqa: E402
from phantomdb.client import Result  # noqa: E402
from phantomdb_django import cache as query_cache  # noqa: E402
from tests.backend.testapp import models  # noqa: E402
from tests.conftest import ServerProcess, free_port, start_server  # noqa: E402

SESSION_DATABASE = "backend_tests"


@dataclass
class Phantom:
    """The session's PhantomDB Lite process and the database ``default`` uses on it."""

    server: ServerProcess
    database: str

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, **credentials: Any) -> phantomdb.PhantomDB:
        return phantomdb.PhantomDB(self.url, **credentials)


@pytest.fixture(scope="session")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phantom]:
    """PhantomDB Lite with the session database, migrated: contrib apps and the test app."""
    server = start_server(
        tmp_path_factory.mktemp("backend-data"), "--durability", "off", "--busy-timeout", "2"
    )
    try:
        with phantomdb.PhantomDB(server.url) as client:
            client.create_database(SESSION_DATABASE)
        settings.DATABASES["default"].update(HOST=server.url, NAME=SESSION_DATABASE)
        connection.close()
        call_command("migrate", run_syncdb=True, verbosity=0)
        yield Phantom(server, SESSION_DATABASE)
        connections.close_all()
    finally:
        server.stop()


ADMIN, SECRET, TOKEN = "admin", "secret", "t0k3n-backend"
GUARDED_DATABASE = "guarded"


@pytest.fixture(scope="session")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """PhantomDB Lite that accepts one user and one token; its database holds users and what they own."""
    server = start_server(
        tmp_path_factory.mktemp("guarded-data"),
        "--user",
        f"{ADMIN}:{SECRET}",
        "--token",
        TOKEN,
        "--durability",
        "off",
    )
    try:
        with phantomdb.PhantomDB(server.url, user=ADMIN, password=SECRET) as client:
            client.create_database(GUARDED_DATABASE)
        setup_settings = {"HOST": server.url, "NAME": GUARDED_DATABASE, "USER": ADMIN, "PASSWORD": SECRET}
        with extra_database("setup", **setup_settings) as setup, setup.schema_editor() as editor:
            # Users and every model a user's delete cascades to.
            for model in (models.User, models.Profile, models.Tag, models.Article, models.Comment):
                editor.create_model(model)
        yield server
    finally:
        server.stop()


_TABLES_TO_CLEAN = (
    models.Comment,
    models.Article.tags.through,
    models.Article,
    models.Tag,
    models.Restaurant,
    models.Place,
    models.Headline,
    models.EveryType,
    models.Profile,
    models.User,
    models.Auto,
    models.BigAuto,
    models.SmallAuto,
    models.Event,
)


@pytest.fixture(autouse=True)
def clean_tables(phantom: Phantom) -> Iterator[None]:
    """Each test starts with the test app's tables empty and ``default`` in autocommit."""
    yield
    connection.close()
    with phantom.client() as client:
        for model in _TABLES_TO_CLEAN:
            client.delete(SESSION_DATABASE, model._meta.db_table, all=True)
    # Those deletes went around the backend: tell its query cache.
    query_cache.invalidate()


# -- other databases, as extra aliases -------------------------------------------


def database_settings(**overrides: Any) -> dict[str, Any]:
    """A complete settings dict (Django's defaults filled in) for ``phantomdb_django``."""
    base = {"ENGINE": "phantomdb_django", "NAME": SESSION_DATABASE, "HOST": "", **overrides}
    return ConnectionHandler({"default": base}).settings["default"]


@contextlib.contextmanager
def extra_database(alias: str, **overrides: Any) -> Iterator[Any]:
    """``connections[alias]`` configured with ``overrides`` for the block, then removed."""
    connections.settings[alias] = database_settings(**overrides)
    try:
        yield connections[alias]
    finally:
        with contextlib.suppress(Exception):
            connections[alias].close()
        with contextlib.suppress(AttributeError):
            del connections[alias]
        del connections.settings[alias]


def closed_port_url() -> str:
    """The URL of a local port that nothing listens on (bound, then released)."""
    return f"http://127.0.0.1:{free_port()}"


# -- what reached the server ------------------------------------------------------------

# Route templates hold braces ("/databases/{db}/query"), so the label set ends at the last "} ".
_REQUESTS_SAMPLE = re.compile(r"^phantomdb_http_requests_total\{(?P<labels>.*)\} (?P<value>\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')
METRICS_ROUTE = "/metrics"
ROWS = "/databases/{db}/tables/{table}"
QUERY = "/databases/{db}/query"
TRANSACTIONS = "/transactions"
COMMIT = "/transactions/{id}/commit"
ROLLBACK = "/transactions/{id}/rollback"
SAVEPOINTS = "/transactions/{id}/savepoints"


def request_counts(url: str) -> Counter[tuple[str, str]]:
    """``phantomdb_http_requests_total`` of the server, summed by (method, route)."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    counts: Counter[tuple[str, str]] = Counter()
    for match in _REQUESTS_SAMPLE.finditer(text):
        labels = dict(_LABEL.findall(match["labels"]))
        if labels["route"] != METRICS_ROUTE:
            counts[labels["method"], labels["route"]] += int(float(match["value"]))
    return counts


@contextlib.contextmanager
def server_requests(url: str) -> Iterator[Counter[tuple[str, str]]]:
    """The requests the server answered during the block, as a (method, route) Counter."""
    delta: Counter[tuple[str, str]] = Counter()
    before = request_counts(url)
    yield delta
    after = request_counts(url)
    delta.update({key: after[key] - before[key] for key in after if after[key] != before[key]})


# -- what the chain ran -----------------------------------------------------------------


@dataclass(frozen=True)
class RecordedCall:
    """One call as a link of the chain saw it."""

    call: Call
    params: Any
    transaction: str | None

    @property
    def operation(self) -> str:
        return self.call.operation


@contextlib.contextmanager
def recorded_calls(alias: str = "default", *, outermost: bool = False) -> Iterator[list[RecordedCall]]:
    """Every call the connection of ``alias`` runs during the block, recorded by a link of its chain.

    Innermost (next to the transport, what reaches the server) unless ``outermost``.
    """
    wrapper = connections[alias]
    wrapper.ensure_connection()
    database = wrapper.connection
    recorded: list[RecordedCall] = []

    def recording(next_execute: Execute) -> Execute:
        def execute(call: Call, params: Any, transaction: str | None) -> Result:
            recorded.append(RecordedCall(call, params, transaction))
            return next_execute(call, params, transaction)

        return execute

    links = database.links
    database.links = (recording, *links) if outermost else (*links, recording)
    try:
        yield recorded
    finally:
        database.links = links


def statements(recorded: list[RecordedCall]) -> list[RecordedCall]:
    """The recorded statements (table calls, queries, batches), without transaction control."""
    return [entry for entry in recorded if entry.operation in STATEMENTS]
