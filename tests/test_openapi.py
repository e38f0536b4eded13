"""PhantomDB Lite answers as docs/openapi.yaml says: schemathesis fuzzes each operation against a real server.

Every operation gets the spec's examples, schemathesis's coverage cases and random cases, valid and invalid
ones. Each response must not be a 5xx, and must have a declared status, the declared content type and a body
matching the declared schema. A second, shorter run against a server with users and tokens checks that every
operation but ``/health`` and ``/metrics`` refuses a call without valid credentials.

Random names would make nearly every table, row and transaction call a 404, so the server starts with a
known database (``myapp``: ``teams``, ``users``, ``kinds``) and the hooks below draw path parameters from it
most of the time. A transaction id or ``PhantomDB-Transaction`` header drawn as ``LIVE_TRANSACTION`` is
swapped, just before the call, for a transaction opened for that case (with savepoint ``s1``) and rolled
back after it; so is any transaction a case opens. A call that may have dropped or altered the known tables
is followed by a rebuild of the known database.

``PHANTOMDB_OPENAPI_MAX_EXAMPLES`` (default 30) sets the random cases per operation;
``PHANTOMDB_OPENAPI_RANDOM=1`` draws new ones on every run instead of the same reproducible ones.
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import requests
import schemathesis
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_spec
from referencing.jsonschema import DRAFT202012
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import DOCS_USERS_TABLE, ServerProcess, start_server

SPEC = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"

DATABASE = "myapp"
TABLES = ("users", "teams", "kinds")
SAVEPOINT = "s1"
LIVE_TRANSACTION = "live-transaction"
TRANSACTION_HEADER = "PhantomDB-Transaction"
USER, PASSWORD, TOKEN = "ann", "s3cret:pw", "t0ken"

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Operations whose success may change the known database; a rebuild follows them.
DESTRUCTIVE = frozenset({"deleteDatabase", "dropTable", "alterTable", "runQuery"})

# The known database, built through the API: docs/rest-api.md's example tables, and a column of each type.
KNOWN_TABLES: list[dict[str, Any]] = [
    {
        "name": "teams",
        "columns": [
            {"name": "id", "type": "BIGINT", "primary_key": True, "auto_increment": True},
            {"name": "name", "type": "VARCHAR(40)", "nullable": False, "unique": True},
        ],
    },
    DOCS_USERS_TABLE,
    {
        "name": "kinds",
        "columns": [
            {"name": "id", "type": "INTEGER", "primary_key": True, "auto_increment": True},
            {"name": "flag", "type": "BOOLEAN"},
            {"name": "small", "type": "SMALLINT"},
            {"name": "real", "type": "DOUBLE"},
            {"name": "amount", "type": "DECIMAL(10, 2)"},
            {"name": "day", "type": "DATE"},
            {"name": "at", "type": "TIME"},
            {"name": "stamp", "type": "TIMESTAMP"},
            {"name": "data", "type": "BLOB"},
            {"name": "doc", "type": "JSON"},
            {"name": "note", "type": "TEXT"},
        ],
    },
]
KNOWN_ROWS: dict[str, list[dict[str, Any]]] = {
    "teams": [{"name": "red"}, {"name": "blue"}],
    "users": [
        # Not the spec's example users, so that the examples' inserts succeed.
        {"email": "dee@example.com", "age": 31, "team_id": 1},
        {"email": "eve@example.com", "age": 17, "team_id": 2},
        {"email": "fay@example.com", "age": 45, "team_id": None},
    ],
    "kinds": [
        {
            "flag": True,
            "small": 7,
            "real": 2.5,
            "amount": {"$decimal": "12.50"},
            "day": {"$date": "2026-11-28"},
            "at": {"$time": "13:45:00.250000"},
            "stamp": {"$datetime": "2026-11-28T13:45:00.250000+00:00"},
            "data": {"$bytes": "AAECA/8="},
            "doc": '{"a": [1, 2]}',
            "note": "naïve ☃",
        },
        {"flag": None, "real": {"$float": "inf"}, "data": {"$bytes": ""}},
    ],
}
KINDS_COLUMNS = [column["name"] for column in KNOWN_TABLES[2]["columns"] if column["name"] != "id"]


# ---- generation ---------------------------------------------------------------------------------


def _mostly(known: st.SearchStrategy, generated: Any) -> st.SearchStrategy:
    """The known value three times out of four, the generated one otherwise."""
    return st.one_of(known, known, known, st.just(generated))


KNOWN_PATH_PARAMETERS = {
    "database": st.just(DATABASE),
    "table": st.sampled_from(TABLES),
    "transaction": st.just(LIVE_TRANSACTION),
    "savepoint": st.just(SAVEPOINT),
}


def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy:
    """Mostly the known database, tables, a live transaction and its savepoint."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: _mostly(KNOWN_PATH_PARAMETERS[name], value)
            if name in KNOWN_PATH_PARAMETERS
            else st.just(value)
            for name, value in path_parameters.items()
        }
    )


def flatmap_headers(context: schemathesis.HookContext, headers: dict[str, Any] | None) -> st.SearchStrategy:
    """Mostly no transaction, sometimes a live one, sometimes the generated (unknown) id."""
    operation = context.operation
    if operation is None or not operation.path.startswith("/databases/{database}/"):
        return st.just(headers)
    headers = dict(headers or {})
    generated = headers.pop(TRANSACTION_HEADER, None)
    choices = [None, None, LIVE_TRANSACTION] + ([generated] if generated is not None else [])
    return st.sampled_from(choices).map(
        lambda transaction: (
            {**headers, TRANSACTION_HEADER: transaction} if transaction is not None else headers
        )
    )


def _onto_kinds(row: Any) -> Any:
    """A generated row with its made-up column names replaced by those of ``kinds`` (every value fits)."""
    if not isinstance(row, dict):
        return row
    return {KINDS_COLUMNS[i % len(KINDS_COLUMNS)]: value for i, value in enumerate(row.values())}


def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """Aim the rows written to ``kinds`` at its columns, so that writes of every kind of value get through."""
    if (case.path_parameters or {}).get("table") != "kinds":
        return case
    operation_id = _operation_id(case.operation)
    if operation_id == "insertRows":
        case.body = (
            [_onto_kinds(row) for row in case.body] if isinstance(case.body, list) else _onto_kinds(case.body)
        )
    elif operation_id == "updateRows" and isinstance(case.body, dict) and "data" in case.body:
        case.body = {**case.body, "data": _onto_kinds(case.body["data"])}
    return case


def _load_schema(**config_sections: dict[str, Any]) -> schemathesis.BaseSchema:
    generation = {
        "deterministic": os.environ.get("PHANTOMDB_OPENAPI_RANDOM") != "1",
        "database": "none",
        **config_sections.pop("generation", {}),
    }
    phases = {"stateful": {"enabled": False}, **config_sections.pop("phases", {})}
    config = schemathesis.Config.from_dict({"generation": generation, "phases": phases, **config_sections})
    loaded = schemathesis.openapi.from_path(SPEC, config=config)
    for hook in (flatmap_path_parameters, flatmap_headers, map_case):
        loaded.hook(hook)
    return loaded


schema = _load_schema(
    generation={"max-examples": int(os.environ.get("PHANTOMDB_OPENAPI_MAX_EXAMPLES", "30"))}
)
# Valid requests with valid credentials, a few per operation; each is sent again without them.
guarded_schema = _load_schema(
    generation={"max-examples": 3, "mode": "positive"},
    phases={"coverage": {"enabled": False}},
    auth={"basic": {"username": USER, "password": PASSWORD}},
)


def _operation_id(operation: schemathesis.APIOperation) -> str:
    return operation.definition.raw["operationId"]


# ---- the server -----------------------------------------------------------------------------------


class KnownServer:
    """A PhantomDB Lite process with the known database, and the bookkeeping of the fuzzed cases."""

    def __init__(self, process: ServerProcess, auth: requests.auth.AuthBase | tuple[str, str] | None = None):
        self.process = process
        self.url = process.url
        self.session = requests.Session()  # for the known database and live transactions, never for cases
        self.session.auth = auth
        # operationId -> "status code" (e.g. "404 table_not_found") -> how many cases got it
        self.outcomes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=30, **kwargs)

    def rebuild(self) -> None:
        """Make the known database exactly as it started, whatever the fuzzed calls did to it."""
        self._call("DELETE", f"/databases/{DATABASE}")
        self._call("POST", "/databases", json={"name": DATABASE}).raise_for_status()
        for table in KNOWN_TABLES:
            self._call("POST", f"/databases/{DATABASE}/tables", json=table).raise_for_status()
            rows = KNOWN_ROWS[table["name"]]
            self._call("POST", f"/databases/{DATABASE}/tables/{table['name']}", json=rows).raise_for_status()

    def begin(self) -> str:
        response = self._call("POST", "/transactions", json={"database": DATABASE})
        response.raise_for_status()
        return response.json()["id"]

    def rollback(self, transaction: str) -> None:
        """Close a transaction whatever became of it (a fuzzed call may have closed it already)."""
        self._call("POST", f"/transactions/{transaction}/rollback")

    def call(self, case: schemathesis.Case) -> schemathesis.Response:
        """Send ``case`` with its live transactions in place, then clean up after it."""
        opened: list[str] = []
        if case.headers and _is_about_something_else(case, TRANSACTION_HEADER):
            # Examples and coverage cases carry a made-up transaction id: the call would end at a 404
            # before reaching what the case is about.
            case.headers.pop(TRANSACTION_HEADER, None)
        path_parameters = case.path_parameters or {}
        if path_parameters.get("transaction") == LIVE_TRANSACTION:
            path_parameters["transaction"] = transaction = self.begin()
            opened.append(transaction)
            if path_parameters.get("savepoint") == SAVEPOINT:
                self._call("POST", f"/transactions/{transaction}/savepoints", json={"name": SAVEPOINT})
        if case.headers and case.headers.get(TRANSACTION_HEADER) == LIVE_TRANSACTION:
            case.headers[TRANSACTION_HEADER] = transaction = self.begin()
            opened.append(transaction)
        try:
            response = case.call(base_url=self.url)
        finally:
            for transaction in opened:
                self.rollback(transaction)
        operation_id = _operation_id(case.operation)
        self.outcomes[operation_id][_outcome(response)] += 1
        if operation_id == "beginTransaction" and response.status_code == 201:
            self.rollback(response.json()["id"])
        if operation_id in DESTRUCTIVE and response.status_code < 300:
            self.rebuild()
        return response

    def summary(self) -> str:
        return "\n".join(
            f"{operation_id}: {dict(sorted(counts.items()))}"
            for operation_id, counts in sorted(self.outcomes.items())
        )


def _is_about_something_else(case: schemathesis.Case, parameter: str) -> bool:
    """Whether ``case`` is an examples or coverage case that varies another part than ``parameter``."""
    meta = case.meta
    if meta is None or meta.phase.name not in ("examples", "coverage"):
        return False
    return meta.phase.data.parameter != parameter


def _outcome(response: schemathesis.Response) -> str:
    """The status of a response, with the error code when it is an API error."""
    try:
        code = response.json()["error"]["code"]
    except Exception:
        return str(response.status_code)
    return f"{response.status_code} {code}"


def _known_server(directory: Path, *arguments: str) -> Iterator[KnownServer]:
    """A PhantomDB Lite process started with ``arguments``, holding the known database."""
    process = start_server(directory, *arguments)
    try:
        server = KnownServer(process)
        server.rebuild()
        yield server
    finally:
        process.stop()


@pytest.fixture(scope="module")
def known_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnownServer]:
    yield from _known_server(tmp_path_factory.mktemp("phantomdb-openapi"), "--transaction-timeout", "3")


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnownServer]:
    process = start_server(
        tmp_path_factory.mktemp("phantomdb-openapi-guarded"),
        *("--transaction-timeout", "3", "--user", f"{USER}:{PASSWORD}", "--token", TOKEN),
    )
    try:
        server = KnownServer(process, auth=_Bearer(TOKEN))
        server.rebuild()
        yield server
    finally:
        process.stop()


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str):
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


# ---- the tests ------------------------------------------------------------------------------------


@pytest.mark.timeout(300)
@schema.parametrize()
def test_every_operation_conforms_to_openapi(case: schemathesis.Case, known_server: KnownServer) -> None:
    response = known_server.call(case)
    case.validate_response(response, checks=CHECKS)


def test_fuzzing_reached_every_operation(known_server: KnownServer) -> None:
    """Each operation succeeded at least once: the hooks lead the fuzzing past the 404s."""
    if not known_server.outcomes:
        pytest.skip("the schemathesis test did not run in this session")
    never_succeeded = sorted(
        operation_id
        for operation_id in map(_operation_id, _operations(schema))
        if not any(outcome < "300" for outcome in known_server.outcomes.get(operation_id, {}))
    )
    assert not never_succeeded, f"never answered 2xx: {never_succeeded}\n{known_server.summary()}"


@pytest.mark.timeout(120)
@guarded_schema.parametrize()
def test_every_operation_but_health_and_metrics_needs_credentials(
    case: schemathesis.Case, guarded_server: KnownServer
) -> None:
    """With valid credentials a call conforms; without, or with wrong ones, it is a 401 that conforms too."""
    response = guarded_server.call(case)
    case.validate_response(response, checks=[*CHECKS, ignored_auth])
    if case.headers:
        case.headers.pop("Authorization", None)
    anonymous = guarded_server.call(case)
    public = not case.operation.definition.raw.get("security", True)
    assert public or anonymous.status_code == 401, anonymous.text
    case.validate_response(anonymous, checks=CHECKS)


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnownServer]:
    """Small limits, to provoke the refusals that random requests never meet."""
    yield from _known_server(
        tmp_path_factory.mktemp("phantomdb-openapi-strict"),
        *("--max-body-bytes", "2048", "--transaction-timeout", "0.3", "--busy-timeout", "0.2"),
        *("--statement-timeout", "0.5", "--max-response-bytes", "4096"),
    )


def _send(server: KnownServer, path: str, method: str, **parts: Any) -> tuple[schemathesis.Case, Any]:
    case = schema[path][method].Case(**parts)
    return case, case.call(base_url=server.url)


def test_an_expired_transaction_conforms(strict_server: KnownServer) -> None:
    transaction = strict_server.begin()
    time.sleep(1)
    case, response = _send(
        strict_server,
        "/transactions/{transaction}/commit",
        "POST",
        path_parameters={"transaction": transaction},
    )
    assert response.status_code == 410, response.text
    case.validate_response(response, checks=CHECKS)


def test_a_body_over_the_limit_conforms(strict_server: KnownServer) -> None:
    rows = [{"note": "x" * 100}] * 30
    case, response = _send(
        strict_server,
        "/databases/{database}/tables/{table}",
        "POST",
        path_parameters={"database": DATABASE, "table": "kinds"},
        body=rows,
    )
    assert response.status_code == 413, response.text
    case.validate_response(response, checks=CHECKS)


def test_a_write_lock_held_too_long_conforms(strict_server: KnownServer) -> None:
    """503 is declared (``database_locked``) though ``not_a_server_error`` never accepts it from fuzzing."""
    transaction = strict_server.begin()
    try:
        case, response = _send(
            strict_server,
            "/databases/{database}/tables/{table}",
            "POST",
            path_parameters={"database": DATABASE, "table": "teams"},
            body={"name": "green"},
        )
    finally:
        strict_server.rollback(transaction)
    assert response.status_code == 503, response.text
    case.validate_response(
        response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
    )


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Origin": "http://evil.example"}, 403), ({"Content-Type": "text/plain"}, 415)],
)
def test_a_refused_browser_request_conforms(
    strict_server: KnownServer, headers: dict[str, str], status: int
) -> None:
    case, response = _send(
        strict_server,
        "/databases/{database}/query",
        "POST",
        path_parameters={"database": DATABASE},
        headers=headers,
        body={"query": "SELECT 1"},
    )
    assert response.status_code == status, response.text
    case.validate_response(response, checks=CHECKS)


RUNAWAY = "SELECT 1 UNION ALL SELECT x + 1 FROM c"  # a recursive CTE that never ends


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        (f"WITH RECURSIVE c(x) AS ({RUNAWAY}) SELECT max(x) FROM c", "statement_timeout"),
        ("SELECT randomblob(3000), randomblob(3000)", "result_too_large"),
    ],
)
def test_a_statement_over_the_limits_conforms(strict_server: KnownServer, sql: str, code: str) -> None:
    case, response = _send(
        strict_server,
        "/databases/{database}/query",
        "POST",
        path_parameters={"database": DATABASE},
        body={"query": sql},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == code, response.text
    case.validate_response(response, checks=CHECKS)


def test_the_spec_is_valid_and_its_examples_match_their_schemas() -> None:
    document = schema.raw_schema
    validate_spec(document)
    registry = referencing.Registry().with_resource("urn:openapi", DRAFT202012.create_resource(document))

    def mismatches(subschema: dict[str, Any], value: Any) -> list[str]:
        validator = jsonschema.Draft202012Validator(
            _absolute(subschema),
            registry=registry,
        )
        return [error.message for error in validator.iter_errors(value)]

    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for name, example in media.get("examples", {}).items():
                    found[f"{method.upper()} {path} {name}"] = mismatches(media["schema"], example["value"])
    for name, component in document["components"]["schemas"].items():
        for index, example in enumerate(component.get("examples", [])):
            found[f"{name}[{index}]"] = mismatches(component, example)
    for name, response in document["components"]["responses"].items():
        for media in response.get("content", {}).values():
            if "example" in media:
                found[f"response {name}"] = mismatches(media["schema"], media["example"])
    assert len(found) > 20
    assert not {where: errors for where, errors in found.items() if errors}


def _absolute(node: Any) -> Any:
    """``node`` with its local ``$ref``s pointing into the registered document."""
    if isinstance(node, dict):
        return {
            key: f"urn:openapi{value}" if key == "$ref" and value.startswith("#") else _absolute(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_absolute(item) for item in node]
    return node


def _operations(loaded: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    return [result.ok() for result in loaded.get_all_operations()]
