"""A hostile-input corpus sent to every place where a string reaches the server.

Each hostile text goes into conditions, orderings, update expressions, column
and table names, database and savepoint names, typed (``$``) values and raw
queries. Whatever the server answers, it must stay up, never answer 5xx, never
let a table call show a table other than its own, and never write a file
outside its data directory.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ServerProcess
from tests.server.conftest import TRANSACTION_HEADER, Api, serving

SECRET = "the-secret-marker-7d1f"
OUTSIDE = "/tmp/phantomdb-corpus-outside"  # every file name the corpus tries to write starts so

# A value past the server's 64 MiB limit (max_response_bytes). No further: SQLite's printf
# fills its width before the limit stops it, out of the statement time limit's reach (8 s for
# a billion bytes here).
TOO_LONG = 100_000_000

HOSTILE_TEXTS = [
    "1=1) UNION SELECT secret FROM hidden --",
    "1) OR (SELECT secret FROM hidden) IS NOT NULL OR (1",
    "id IN hidden",
    "id IN (SELECT rowid FROM hidden)",
    "EXISTS (VALUES (1))",
    "(WITH x AS (SELECT 1) SELECT * FROM x)",
    "1; DROP TABLE items",
    "1; ATTACH '" + OUTSIDE + "-a.db' AS evil",
    "1 /* unterminated",
    "1 -- comment without newline",
    "name = 'unterminated",
    'name = "unterminated',
    "name = `unterminated",
    "name = [unterminated",
    "))))))",
    "((((((",
    "(" * 500 + "1" + ")" * 500,
    "hex(fts3_tokenizer('simple'))",
    "fts3_tokenizer('simple', x'4141414141414141')",
    "load_extension('/tmp/evil.so')",
    "readfile('/etc/passwd')",
    "writefile('" + OUTSIDE + "-w', 'x')",
    "sqlite_compileoption_get(0)",
    f"randomblob({TOO_LONG})",
    f"zeroblob({TOO_LONG})",
    f"REPEAT('x', {TOO_LONG})",
    f"LPAD('x', {TOO_LONG}, 'y')",
    f"printf('%.*c', {TOO_LONG}, 'x')",
    "name REGEXP '^(a+)+$'",
    "name REGEXP '(?'",
    "substr(name, -9223372036854775808)",
    "9223372036854775807 + 1",
    "abs(-9223372036854775808)",
    "CAST(x'ff' AS TEXT)",
    "'\x00' || name",
    "name = '\u202e\u0000\ud7ff'",
    "\ufeffname = 1",
    "name = ?",
    "?999999",
    "?1 = ?2 = ?3",
    ":named = 1",
    "@x",
    "$x",
    "x" * 100_000,
    "",
    " ",
    "\n\n",
    "NULL",
    "sqlite_master.sql IS NOT NULL",
    "(SELECT group_concat(sql) FROM sqlite_master)",
    "name IN sqlite_master",
    "rowid IN pragma_table_info('hidden')",
    "1 IN (pragma_database_list)",
    "id = 1 COLLATE nocase_evil",
    "CASE WHEN 1 THEN raise(ABORT, 'x') END",
    "json_extract('{\"a\":' || hex(randomblob(10)) || '}', '$.a')",
    "../../../../etc/passwd",
    "%00%27%22",
    "%",
    "&params=[1]",
]

# Table and database names, savepoint names: what the path and body fields carry.
HOSTILE_NAMES = [
    "hidden",
    "sqlite_master",
    "sqlite_stmt",
    "pragma_database_list",
    "items`; DROP TABLE hidden; --",
    'items"',
    "items]",
    "main.hidden",
    "temp.items",
    "../hidden",
    "..",
    ".",
    "%2e%2e",
    "items\x00hidden",
    "x" * 10_000,
    "\u202e",
    "con",
    "-rf",
    "a b",
    "items/../hidden",
]

HOSTILE_VALUES = [
    {"$bytes": "!!!"},
    {"$bytes": "A" * 100_001},
    {"$decimal": "NaN" * 1000},
    {"$decimal": "1e999999999"},
    {"$date": "9999-99-99"},
    {"$datetime": "2026-01-01T00:00:00+99:00"},
    {"$time": "25:61"},
    {"$duration": 10**30},
    {"$duration": "1"},
    {"$uuid": {"$uuid": "x"}},
    {"$float": "nan()"},
    {"$unknown": 1},
    {"$bytes": "QQ==", "$uuid": "x"},
    {},
    [1, [2, [3]]],
    2**64,
    -(2**63) - 1,
    1e308 * 10,
    "\x00\x01\x02",
    "\ud800",
]


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serving(tmp_path_factory.mktemp("phantomdb-corpus") / "data", "--statement-timeout", "0.5")


class Corpus:
    """Sends hostile requests and tallies what came back."""

    def __init__(self, server: ServerProcess):
        self.server = server
        self.api = Api(server.url)
        self.statuses: collections.Counter[int] = collections.Counter()
        self.by_place: collections.Counter[str] = collections.Counter()
        self.problems: list[str] = []

    def send(self, place: str, method: str, path: str, *, table_call: bool = False, **kwargs) -> None:
        try:
            response = self.api.call(method, path, **kwargs)
        except requests.RequestException as exc:
            self.problems.append(f"{place}: no answer ({exc})")
            return
        self.statuses[response.status_code] += 1
        self.by_place[place] += 1
        if response.status_code >= 500:
            self.problems.append(f"{place}: {response.status_code} {response.text[:300]}")
        if table_call and SECRET in response.text:
            self.problems.append(f"{place}: a table call read the hidden table")


def _files_outside(root: Path) -> set[str]:
    return {str(path) for path in root.rglob("*")} | {
        name for name in os.listdir("/tmp") if name.startswith("phantomdb-corpus-outside")
    }


def test_the_hostile_corpus_crashes_nothing_and_reads_nothing_it_may_not(
    corpus_server: ServerProcess,
) -> None:
    corpus = Corpus(corpus_server)
    api = corpus.api
    assert api.post("/databases", json={"name": "corpus"}).status_code == 201
    api.query("corpus", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, x BLOB)")
    api.query("corpus", "CREATE TABLE hidden (id INTEGER PRIMARY KEY, secret TEXT)")
    api.query("corpus", "INSERT INTO items (name) VALUES ('a'), ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!')")
    api.query("corpus", "INSERT INTO hidden (secret) VALUES (?)", [SECRET])
    watched = corpus_server.data_dir.parent
    before = _files_outside(watched) - {str(p) for p in corpus_server.data_dir.rglob("*")}

    table = "/databases/corpus/tables/items"
    query = "/databases/corpus/query"
    places: dict[str, Callable[[str], tuple[str, str, dict]]] = {
        "condition": lambda t: ("GET", table, {"params": {"condition": t}}),
        "condition (body)": lambda t: ("POST", table + "/select", {"json": {"condition": t}}),
        "ordering": lambda t: ("GET", table, {"params": {"order_by": t}}),
        "expression": lambda t: ("PUT", table, {"json": {"expressions": {"name": t}, "condition": "0"}}),
        "delete condition": lambda t: ("DELETE", table, {"params": {"condition": f"id < 0 AND ({t})"}}),
        "column name": lambda t: ("GET", table, {"params": {"columns": t}}),
        "inserted column": lambda t: ("POST", table, {"json": {t: 1}}),
        "returning column": lambda t: ("POST", table, {"params": {"returning": t}, "json": {"name": "r"}}),
        "raw query": lambda t: ("POST", query, {"json": {"query": t}}),
        "raw query parameter": lambda t: ("POST", query, {"json": {"query": "SELECT ?", "params": [t]}}),
    }
    raw = ("raw query", "raw query parameter")
    for text in HOSTILE_TEXTS:
        for place, build in places.items():
            method, path, kwargs = build(text)
            corpus.send(place, method, path, table_call=place not in raw, **kwargs)

    for name in HOSTILE_NAMES:
        quoted = requests.utils.quote(name, safe="")
        corpus.send("table name", "GET", f"/databases/corpus/tables/{quoted}", table_call=name != "hidden")
        corpus.send("table name (schema)", "GET", f"/databases/corpus/tables/{quoted}/schema")
        corpus.send("created table name", "POST", "/databases/corpus/tables",
                    json={"name": name, "columns": [{"name": "a", "type": "text"}]})  # fmt: skip
        corpus.send("database name", "GET", f"/databases/{quoted}/tables")
        corpus.send("created database name", "POST", "/databases", json={"name": name})
        corpus.send("transaction database", "POST", "/transactions", json={"database": name})
        transaction = api.begin("corpus")
        corpus.send("savepoint name", "POST", f"/transactions/{transaction}/savepoints", json={"name": name})
        released = f"/transactions/{transaction}/savepoints/{quoted}/release"
        corpus.send("released savepoint name", "POST", released)
        corpus.send("transaction id", "GET", table, headers={TRANSACTION_HEADER: quoted})
        api.post(f"/transactions/{transaction}/rollback")

    for value in HOSTILE_VALUES:
        body = json.dumps({"query": "SELECT ?", "params": [value]}, allow_nan=True)
        corpus.send("typed query value", "POST", "/databases/corpus/query", data=body)
        corpus.send("typed row value", "POST", table, data=json.dumps({"x": value}, allow_nan=True))
        corpus.send("typed condition value", "GET", table,
                    params={"condition": "x = ?", "params": json.dumps([value], allow_nan=True)})  # fmt: skip

    total = sum(corpus.statuses.values())
    print(f"\nhostile corpus: {total} requests over {len(corpus.by_place)} places;"
          f" statuses {dict(sorted(corpus.statuses.items()))}")  # fmt: skip
    assert corpus_server.process.poll() is None, "the server died"
    assert api.get("/health").status_code == 200
    assert corpus.problems == []
    assert total >= 300
    after = _files_outside(watched) - {str(p) for p in corpus_server.data_dir.rglob("*")}
    assert after == before, f"files written outside the data directory: {after - before}"
    assert api.rows("corpus", "SELECT secret FROM hidden") == [[SECRET]]
