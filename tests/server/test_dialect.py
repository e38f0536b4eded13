"""The PhantomDB type dialect and the schema calls, directly on SQLite connections.

``translate_ddl`` runs on every statement sent to ``POST /query``; the schema
functions are what the schema calls run. Both are exercised here on the kind
of connection the server hands them (autocommit, foreign keys on); the HTTP
side is tests/server/test_schema.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantomdb.server import schema
from phantomdb.server.dialect import canonical_type, phantomdb_type, translate_ddl
from phantomdb.server.errors import ApiError
from tests.conftest import DOCS_USERS_ID_DESCRIPTION, DOCS_USERS_TABLE


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    yield connection
    connection.close()


def run(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Execute SQL as POST /query does: through the dialect."""
    return conn.execute(translate_ddl(sql), params).fetchall()


def api_error(call: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


def column(description: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in description["columns"] if c["name"] == name)


USERS = {
    **DOCS_USERS_TABLE,
    "columns": [
        *DOCS_USERS_TABLE["columns"][:3],
        {"name": "doc", "type": "JSON"},
        DOCS_USERS_TABLE["columns"][3],
    ],
}

TEAMS = {
    "name": "teams",
    "columns": [
        {"name": "id", "type": "INTEGER", "primary_key": True, "auto_increment": True},
        {"name": "name", "type": "TEXT", "nullable": False},
    ],
}


# ---- translate_ddl ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  select * from t where x = 'CREATE TABLE t (id BIGINT PRIMARY KEY AUTOINCREMENT)'",
        "INSERT INTO t (doc) VALUES ('json')",
        "UPDATE t SET a = 1",
        "-- CREATE TABLE\nDELETE FROM t",
        "",
    ],
)
def test_statements_other_than_create_or_alter_come_back_as_the_same_object(sql: str) -> None:
    assert translate_ddl(sql) is sql


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX i ON t (json)",
        "CREATE VIEW v AS SELECT CAST(x AS JSON) FROM t",
        "CREATE TABLE t2 AS SELECT 1 AS json",
        "ALTER TABLE t RENAME COLUMN json TO doc",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
    ],
)
def test_ddl_without_column_definitions_is_unchanged(sql: str) -> None:
    assert translate_ddl(sql) == sql


def test_django_bigint_autoincrement_key_is_stored_as_integer() -> None:
    sql = 'CREATE TABLE "app_m" ("id" bigint NOT NULL PRIMARY KEY AUTOINCREMENT, "n" bigint NOT NULL)'
    assert translate_ddl(sql) == (
        'CREATE TABLE "app_m" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "n" bigint NOT NULL)'
    )


@pytest.mark.parametrize("type_name", ["BIGINT", "smallint", "Int"])
def test_every_integer_autoincrement_key_is_stored_as_integer(type_name: str) -> None:
    sql = f"create table t (id {type_name} primary key autoincrement)"
    assert translate_ddl(sql) == "create table t (id INTEGER primary key autoincrement)"


def test_bigint_key_without_autoincrement_is_kept() -> None:
    sql = "CREATE TABLE t (id BIGINT PRIMARY KEY, n SMALLINT)"
    assert translate_ddl(sql) == sql


def test_json_column_type_is_stored_as_json_text() -> None:
    sql = 'CREATE TABLE "t" ("doc" json NOT NULL, "other" JSON)'
    assert translate_ddl(sql) == 'CREATE TABLE "t" ("doc" JSON TEXT NOT NULL, "other" JSON TEXT)'


def test_json_calls_strings_comments_and_quoted_names_are_not_rewritten() -> None:
    sql = (
        "CREATE TEMP TABLE t (\n"
        '  "json" TEXT DEFAULT \'json\' CHECK (JSON_VALID("json") AND json("json") IS NOT NULL),\n'
        "  [bigint] INTEGER, -- doc JSON, id BIGINT PRIMARY KEY AUTOINCREMENT\n"
        "  `JSON` /* JSON */ BLOB,\n"
        "  data JSON CHECK (json_type(data) = 'object')\n"
        ")"
    )
    assert translate_ddl(sql) == sql.replace("data JSON CHECK", "data JSON TEXT CHECK")


def test_alter_table_add_column_json_is_stored_as_json_text() -> None:
    assert translate_ddl('ALTER TABLE "t" ADD COLUMN "doc" json NULL') == (
        'ALTER TABLE "t" ADD COLUMN "doc" JSON TEXT NULL'
    )
    assert translate_ddl("alter table main.t add doc JSON") == "alter table main.t add doc JSON TEXT"


def test_leading_whitespace_and_comments_do_not_hide_a_create() -> None:
    sql = "  /* made by Django */\n-- migration 0001\n  CREATE TABLE t (doc JSON)"
    assert translate_ddl(sql).endswith("CREATE TABLE t (doc JSON TEXT)")


def test_table_constraints_are_not_taken_for_columns() -> None:
    sql = "CREATE TABLE t (a JSON, CONSTRAINT json CHECK (a IS NOT NULL), UNIQUE (a), PRIMARY KEY (a))"
    assert translate_ddl(sql) == sql.replace("a JSON,", "a JSON TEXT,")


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "sql",
    [" " * 100_000 + "SELECT 1", "--" + " " * 100_000 + "x", "/*" * 50_000, "-- a\n  " * 20_000 + "SELECT 1"],
)
def test_long_leading_whitespace_and_comments_cost_linear_time(sql: str) -> None:
    assert translate_ddl(sql) is sql


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_not_starting_with_create_or_alter_is_unchanged(text: str) -> None:
    if text.lstrip().upper().startswith(("CREATE", "ALTER", "--", "/*")):
        return
    assert translate_ddl(text) is text


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["CREATE TABLE ", "ALTER TABLE t ADD ", "CREATE TABLE t (", "create table t (a "]),
    st.text(),
)
def test_malformed_ddl_never_raises(prefix: str, rest: str) -> None:
    assert isinstance(translate_ddl(prefix + rest), str)


def test_bigint_autoincrement_key_created_by_sql_really_increments(conn: sqlite3.Connection) -> None:
    run(conn, 'CREATE TABLE "m" ("id" bigint NOT NULL PRIMARY KEY AUTOINCREMENT, "v" text)')
    for value in ("a", "b", "c"):
        run(conn, 'INSERT INTO "m" ("v") VALUES (?)', (value,))
    run(conn, "DELETE FROM m WHERE id = 3")
    run(conn, "INSERT INTO m (v) VALUES ('d')")
    assert run(conn, "SELECT id, v FROM m ORDER BY id") == [(1, "a"), (2, "b"), (4, "d")]


def test_smallint_autoincrement_key_created_by_sql_really_increments(conn: sqlite3.Connection) -> None:
    run(conn, "CREATE TABLE s (id smallint PRIMARY KEY AUTOINCREMENT, v text)")
    run(conn, "INSERT INTO s (v) VALUES ('a')")
    run(conn, "INSERT INTO s (v) VALUES ('b')")
    assert run(conn, "SELECT id FROM s ORDER BY id") == [(1,), (2,)]
    assert column(schema.describe_table(conn, "s"), "id")["auto_increment"] is True


def test_json_column_keeps_the_document_1_as_text(conn: sqlite3.Connection) -> None:
    run(conn, "CREATE TABLE d (doc JSON)")
    run(conn, "ALTER TABLE d ADD COLUMN extra JSON")
    run(conn, "INSERT INTO d (doc, extra) VALUES ('1', '2.50')")
    assert run(conn, "SELECT doc, typeof(doc), extra, typeof(extra) FROM d") == [
        ("1", "text", "2.50", "text")
    ]
    assert [c["type"] for c in schema.describe_table(conn, "d")["columns"]] == ["JSON", "JSON"]


# ---- types --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("bigint", "BIGINT"),
        ("varchar( 254 )", "VARCHAR(254)"),
        ("decimal(10,2)", "DECIMAL(10, 2)"),
        ("Double  Precision", "DOUBLE PRECISION"),
        ("json", "JSON"),
        ("TIMESTAMP", "TIMESTAMP"),
    ],
)
def test_phantomdb_types_have_one_canonical_spelling(written: str, canonical: str) -> None:
    assert canonical_type(written) == canonical


@pytest.mark.parametrize(
    "written", ["", "STRING", "VARCHAR(0)", "DECIMAL(2, 5)", "INTEGER(4)", "TEXT; DROP", "JSON TEXT"]
)
def test_unknown_or_malformed_types_are_not_phantomdb_types(written: str) -> None:
    assert canonical_type(written) is None


@pytest.mark.parametrize(
    ("declared", "reported"),
    [
        ("JSON TEXT", "JSON"),
        ("json  text", "JSON"),
        ("", "BLOB"),
        ("varchar(20)", "VARCHAR(20)"),
        ("integer unsigned", "integer unsigned"),
    ],
)
def test_declared_types_are_reported_as_phantomdb_types(declared: str, reported: str) -> None:
    assert phantomdb_type(declared) == reported


# ---- create and describe ------------------------------------------------------------------------


def test_create_returns_the_description_with_every_column_feature(conn: sqlite3.Connection) -> None:
    description = schema.create_table(conn, USERS)
    assert description == {
        "name": "users",
        "columns": [
            DOCS_USERS_ID_DESCRIPTION,
            {
                "name": "email",
                "type": "VARCHAR(254)",
                "nullable": False,
                "default": None,
                "primary_key": False,
                "auto_increment": False,
                "unique": True,
                "references": None,
            },
            {
                "name": "age",
                "type": "INTEGER",
                "nullable": False,
                "default": 0,
                "primary_key": False,
                "auto_increment": False,
                "unique": False,
                "references": None,
            },
            {
                "name": "doc",
                "type": "JSON",
                "nullable": True,
                "default": None,
                "primary_key": False,
                "auto_increment": False,
                "unique": False,
                "references": None,
            },
            {
                "name": "team_id",
                "type": "INTEGER",
                "nullable": True,
                "default": None,
                "primary_key": False,
                "auto_increment": False,
                "unique": False,
                "references": {"table": "teams", "column": "id", "on_delete": "CASCADE", "deferrable": True},
            },
        ],
        "constraints": USERS["constraints"],
        "indexes": [
            {"name": "users_age_idx", "columns": ["age"], "unique": False},
            {"name": "users_lower_email", "expressions": ['lower("email")'], "unique": True},
            {"name": "users_active_age", "columns": ["age"], "unique": False, "condition": '"age" > 18'},
        ],
        "row_count": 0,
    }
    assert schema.describe_table(conn, "USERS") == description


def test_a_description_creates_the_same_table_again(conn: sqlite3.Connection) -> None:
    first = schema.create_table(conn, USERS)
    spec = {key: first[key] for key in ("columns", "constraints", "indexes")}
    spec["constraints"] = [{**c, "name": c["name"] + "_2"} for c in spec["constraints"]]
    spec["indexes"] = [{**i, "name": i["name"] + "_2"} for i in spec["indexes"]]
    second = schema.create_table(conn, {"name": "users_2", **spec})
    assert second == {**first, "name": "users_2", **spec}


def test_defaults_are_stored_as_literals_of_their_values(conn: sqlite3.Connection) -> None:
    columns = [
        {"name": "id", "type": "INTEGER", "primary_key": True},
        {"name": "s", "type": "TEXT", "default": "it's; DROP TABLE x --"},
        {"name": "b", "type": "BOOLEAN", "default": True},
        {"name": "f", "type": "DOUBLE", "default": -1.5},
        {"name": "d", "type": "DATE", "default": {"$date": "2026-11-28"}},
        {"name": "m", "type": "DECIMAL(10, 2)", "default": {"$decimal": "12.50"}},
        {"name": "bin", "type": "BLOB", "default": {"$bytes": "AP8="}},
        {"name": "n", "type": "TEXT", "default": None},
    ]
    description = schema.create_table(conn, {"name": "t", "columns": columns})
    assert [c["default"] for c in description["columns"]] == [
        None,
        "it's; DROP TABLE x --",
        1,
        -1.5,
        "2026-11-28",
        "12.50",
        {"$bytes": "AP8="},
        None,
    ]
    conn.execute("INSERT INTO t (id) VALUES (1)")
    assert conn.execute("SELECT s, b, f, d, m, bin FROM t").fetchone() == (
        "it's; DROP TABLE x --",
        1,
        -1.5,
        "2026-11-28",
        12.5,
        b"\x00\xff",
    )


def test_composite_primary_key_is_reported_on_each_column(conn: sqlite3.Connection) -> None:
    description = schema.create_table(
        conn,
        {
            "name": "pair",
            "columns": [
                {"name": "a", "type": "INTEGER", "primary_key": True},
                {"name": "b", "type": "TEXT", "primary_key": True},
                {"name": "c", "type": "TEXT"},
            ],
        },
    )
    assert [(c["primary_key"], c["nullable"]) for c in description["columns"]] == [
        (True, False),
        (True, False),
        (False, True),
    ]
    conn.execute("INSERT INTO pair VALUES (1, 'x', 'c')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO pair VALUES (1, 'x', 'd')")


def test_unique_and_check_constraints_are_enforced(conn: sqlite3.Connection) -> None:
    schema.create_table(conn, TEAMS)
    schema.create_table(conn, USERS)
    conn.execute("INSERT INTO users (email, age) VALUES ('a@x.org', 30)")
    for sql, code in [
        ("INSERT INTO users (email, age) VALUES ('a@x.org', 31)", "SQLITE_CONSTRAINT_UNIQUE"),  # email
        ("INSERT INTO users (email, age) VALUES ('A@X.ORG', 31)", "SQLITE_CONSTRAINT_UNIQUE"),  # lower(email)
        ("INSERT INTO users (email, age) VALUES ('b@x.org', -1)", "SQLITE_CONSTRAINT_CHECK"),
        ("INSERT INTO users (age) VALUES (5)", "SQLITE_CONSTRAINT_NOTNULL"),
    ]:
        with pytest.raises(sqlite3.IntegrityError) as caught:
            conn.execute(sql)
        assert caught.value.sqlite_errorname == code


def test_partial_unique_index_only_covers_its_condition(conn: sqlite3.Connection) -> None:
    schema.create_table(
        conn,
        {
            "name": "tasks",
            "columns": [{"name": "owner", "type": "INTEGER"}, {"name": "done", "type": "BOOLEAN"}],
            "indexes": [
                {"name": "one_open_task", "columns": ["owner"], "unique": True, "condition": '"done" = 0'}
            ],
        },
    )
    conn.execute("INSERT INTO tasks VALUES (1, 1), (1, 1), (1, 0)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO tasks VALUES (1, 0)")


def test_list_tables_shows_tables_and_views_but_not_sqlite_internals(conn: sqlite3.Connection) -> None:
    schema.create_table(conn, TEAMS)
    conn.execute("INSERT INTO teams (name) VALUES ('a')")  # creates sqlite_sequence
    conn.execute("CREATE VIEW team_names AS SELECT name FROM teams")
    assert schema.list_tables(conn) == [
        {"name": "team_names", "type": "view"},
        {"name": "teams", "type": "table"},
    ]


def test_describe_reports_row_count_and_views(conn: sqlite3.Connection) -> None:
    schema.create_table(conn, TEAMS)
    conn.executemany("INSERT INTO teams (name) VALUES (?)", [("a",), ("b",)])
    conn.execute("CREATE VIEW v AS SELECT name FROM teams")
    assert schema.describe_table(conn, "teams")["row_count"] == 2
    view = schema.describe_table(conn, "v")
    assert [c["name"] for c in view["columns"]] == ["name"]
    assert view["row_count"] == 2


def test_describe_of_django_style_sql_ddl(conn: sqlite3.Connection) -> None:
    run(conn, 'CREATE TABLE "app_team" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT)')
    run(
        conn,
        (
            'CREATE TABLE "app_person" ("id" bigint NOT NULL PRIMARY KEY AUTOINCREMENT, '
            '"age" integer unsigned NOT NULL CHECK ("age" >= 0), "name" varchar(40) DEFAULT \'x\' NOT NULL, '
            '"data" json NULL, "created" datetime DEFAULT CURRENT_TIMESTAMP, '
            '"team_id" bigint NULL REFERENCES "app_team" ("id") DEFERRABLE INITIALLY DEFERRED, '
            'CONSTRAINT "name_not_empty" CHECK ("name" <> \'\'))'
        ),
    )
    description = schema.describe_table(conn, "app_person")
    assert [(c["name"], c["type"], c["nullable"], c["default"]) for c in description["columns"]] == [
        ("id", "INTEGER", False, None),
        ("age", "integer unsigned", False, None),
        ("name", "VARCHAR(40)", False, "x"),
        ("data", "JSON", True, None),
        ("created", "DATETIME", True, None),  # an expression default has no value
        ("team_id", "BIGINT", True, None),
    ]
    assert column(description, "team_id")["references"] == {
        "table": "app_team",
        "column": "id",
        "on_delete": "NO ACTION",
        "deferrable": True,
    }
    assert description["constraints"] == [
        {"name": "__unnamed_constraint_1__", "type": "check", "check": '"age" >= 0'},
        {"name": "name_not_empty", "type": "check", "check": "\"name\" <> ''"},
    ]


def test_create_of_an_existing_table_or_view_is_table_exists(conn: sqlite3.Connection) -> None:
    schema.create_table(conn, TEAMS)
    conn.execute("CREATE VIEW v AS SELECT 1")
    assert api_error(schema.create_table, conn, {**TEAMS, "name": "TEAMS"}).code == "table_exists"
    error = api_error(schema.create_table, conn, {**TEAMS, "name": "v"})
    assert (error.code, error.status, error.message) == ("table_exists", 409, "Table 'v' already exists")


def test_references_to_missing_tables_are_allowed(conn: sqlite3.Connection) -> None:
    description = schema.create_table(conn, USERS)  # "teams" does not exist
    assert column(description, "team_id")["references"]["table"] == "teams"


def test_missing_tables_are_table_not_found(conn: sqlite3.Connection) -> None:
    for call, args in [
        (schema.describe_table, ("users",)),
        (schema.drop_table, ("users",)),
        (schema.alter_table, ("users", [{"op": "drop_column", "name": "x"}])),
        (schema.describe_table, ("sqlite_master",)),
    ]:
        error = api_error(call, conn, *args)
        assert (error.code, error.status) == ("table_not_found", 404)
    assert api_error(schema.describe_table, conn, "users").message == "Table 'users' does not exist"


def _with(spec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**spec, **changes}


def _column_with(**changes: Any) -> dict[str, Any]:
    return _with(TEAMS, columns=[{"name": "id", "type": "INTEGER", **changes}])


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ([], "must be an object"),
        ({"columns": TEAMS["columns"]}, "'name'"),
        (_with(TEAMS, name=""), "'name'"),
        (_with(TEAMS, name=7), "'name'"),
        (_with(TEAMS, name="sqlite_x"), "'name'"),
        (_with(TEAMS, columns=[]), "'columns'"),
        (_with(TEAMS, columns="id"), "'columns'"),
        (_with(TEAMS, colums=[]), "'colums'"),
        (_column_with(type="STRING"), "'columns[0].type'"),
        (_column_with(type=None), "'columns[0].type'"),
        (_column_with(nullable="no"), "'columns[0].nullable'"),
        (_column_with(nullabel=False), "'columns[0].nullabel'"),
        (_column_with(default=[1]), "'columns[0].default'"),
        (_column_with(default={"a": 1}), "'columns[0].default'"),
        (_column_with(default={"$date": "yesterday"}), "'columns[0].default'"),
        (_column_with(default=2**63), "'columns[0].default'"),
        (_column_with(default="a\x00b"), "'columns[0].default'"),
        (_column_with(auto_increment=True), "'columns[0].auto_increment'"),
        (_column_with(type="TEXT", primary_key=True, auto_increment=True), "'columns[0].auto_increment'"),
        (_column_with(primary_key=True, nullable=True), "'columns[0].nullable'"),
        (_column_with(references={"table": "t"}), "'columns[0].references.column'"),
        (
            _column_with(references={"table": "t", "column": "id", "on_delete": "EXPLODE"}),
            "'columns[0].references.on_delete'",
        ),
        (
            _column_with(references={"table": "t", "column": "id", "deferrable": "yes"}),
            "'columns[0].references.deferrable'",
        ),
        (_with(TEAMS, columns=[TEAMS["columns"][0], TEAMS["columns"][0]]), "'columns[1].name'"),
        (_with(TEAMS, constraints=[{"name": "c", "type": "exclude"}]), "'constraints[0].type'"),
        (_with(TEAMS, constraints=[{"name": "c", "type": "check"}]), "'constraints[0].check'"),
        (
            _with(TEAMS, constraints=[{"name": "c", "type": "check", "check": "1) , x INT, CHECK (1"}]),
            "'constraints[0].check'",
        ),
        (
            _with(TEAMS, constraints=[{"name": "c", "type": "check", "check": "1) --"}]),
            "'constraints[0].check'",
        ),
        (
            _with(TEAMS, constraints=[{"name": "c", "type": "check", "check": "'open"}]),
            "'constraints[0].check'",
        ),
        (
            _with(TEAMS, constraints=[{"name": "c", "type": "unique", "columns": []}]),
            "'constraints[0].columns'",
        ),
        (_with(TEAMS, constraints=[{"type": "unique", "columns": ["id"]}]), "'constraints[0].name'"),
        (_with(TEAMS, indexes=[{"name": "i"}]), "'indexes[0]'"),
        (_with(TEAMS, indexes=[{"name": "i", "columns": ["id"], "expressions": ["id"]}]), "'indexes[0]'"),
        (
            _with(TEAMS, indexes=[{"name": "i", "columns": ["id"], "condition": "1; DROP TABLE t"}]),
            "'indexes[0].condition'",
        ),
        (_with(TEAMS, indexes=[{"name": "i", "columns": ["id"], "unique": 1}]), "'indexes[0].unique'"),
    ],
)
def test_bad_specs_are_invalid_request_naming_the_field(
    conn: sqlite3.Connection, spec: Any, field: str
) -> None:
    error = api_error(schema.create_table, conn, spec)
    assert (error.code, error.status) == ("invalid_request", 400)
    assert field in error.message
    assert schema.list_tables(conn) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"indexes": [{"name": "i", "columns": ["nope"]}]},
        {"constraints": [{"name": "c", "type": "unique", "columns": ["id", "nope"]}]},
        {"constraints": [{"name": "c", "type": "primary_key", "columns": ["nope"]}]},
    ],
)
def test_unknown_listed_columns_are_column_not_found(
    conn: sqlite3.Connection, changes: dict[str, Any]
) -> None:
    spec = _with(TEAMS, columns=[{"name": "id", "type": "INTEGER"}], **changes)
    error = api_error(schema.create_table, conn, spec)
    assert (error.code, error.message) == ("column_not_found", "Column 'nope' does not exist")
    assert schema.list_tables(conn) == []


def test_a_failing_index_leaves_no_table_behind(conn: sqlite3.Connection) -> None:
    spec = _with(TEAMS, indexes=[{"name": "i", "expressions": ["nope + 1"]}])
    assert api_error(schema.create_table, conn, spec).code == "column_not_found"
    assert schema.list_tables(conn) == []


# ---- alter --------------------------------------------------------------------------------------


@pytest.fixture
def people(conn: sqlite3.Connection) -> sqlite3.Connection:
    """teams <- users, with rows: the parent/child pair every remake must keep intact."""
    schema.create_table(conn, TEAMS)
    schema.create_table(conn, _with(USERS, constraints=USERS["constraints"][:1]))
    conn.execute("INSERT INTO teams (name) VALUES ('red'), ('blue')")
    conn.executemany(
        "INSERT INTO users (email, age, doc, team_id) VALUES (?, ?, ?, ?)",
        [("ann@x.org", 30, "1", 1), ("bob@x.org", 17, '{"a": 1}', 2), ("cy@x.org", 40, None, None)],
    )
    return conn


def alter(conn: sqlite3.Connection, table: str, *operations: dict[str, Any]) -> dict[str, Any]:
    return schema.alter_table(conn, table, list(operations))


def rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql).fetchall()


def test_add_column_native(people: sqlite3.Connection) -> None:
    description = alter(
        people, "users", {"op": "add_column", "column": {"name": "nick", "type": "VARCHAR(40)"}}
    )
    assert column(description, "nick")["type"] == "VARCHAR(40)"
    assert rows(people, "SELECT nick FROM users") == [(None,), (None,), (None,)]


def test_add_unique_not_null_column_remakes_the_table_and_keeps_rows(people: sqlite3.Connection) -> None:
    before = rows(people, "SELECT * FROM users ORDER BY id")
    description = alter(
        people,
        "users",
        {"op": "add_column", "column": {"name": "rank", "type": "INTEGER", "nullable": False, "default": 7}},
    )
    assert (column(description, "rank")["default"], column(description, "rank")["nullable"]) == (7, False)
    assert rows(people, "SELECT * FROM users ORDER BY id") == [(*r, 7) for r in before]
    description = alter(
        people, "users", {"op": "add_column", "column": {"name": "code", "type": "TEXT", "unique": True}}
    )
    assert column(description, "code")["unique"] is True
    assert description["indexes"] == schema.describe_table(people, "users")["indexes"]
    assert len(description["indexes"]) == 3


def test_add_not_null_column_without_default_to_rows_is_not_null_violation(
    people: sqlite3.Connection,
) -> None:
    error = api_error(
        alter,
        people,
        "users",
        {"op": "add_column", "column": {"name": "x", "type": "TEXT", "nullable": False}},
    )
    assert error.code == "not_null_violation"
    assert "users.x" in error.message
    assert "x" not in [c["name"] for c in schema.describe_table(people, "users")["columns"]]


def test_drop_column_native_and_with_an_index_on_it(people: sqlite3.Connection) -> None:
    description = alter(people, "users", {"op": "drop_column", "name": "doc"})
    assert "doc" not in [c["name"] for c in description["columns"]]
    description = alter(people, "users", {"op": "drop_column", "name": "age"})  # indexed and checked
    assert [c["name"] for c in description["columns"]] == ["id", "email", "team_id"]
    assert description["indexes"] == [
        {"name": "users_lower_email", "expressions": ['lower("email")'], "unique": True}
    ]
    assert description["constraints"] == []
    assert rows(people, "SELECT email, team_id FROM users ORDER BY id") == [
        ("ann@x.org", 1),
        ("bob@x.org", 2),
        ("cy@x.org", None),
    ]


def test_drop_missing_column_is_column_not_found(people: sqlite3.Connection) -> None:
    error = api_error(alter, people, "users", {"op": "drop_column", "name": "nope"})
    assert (error.code, error.message) == ("column_not_found", "Column 'nope' does not exist")


def test_rename_column_carries_indexes_and_constraints(people: sqlite3.Connection) -> None:
    description = alter(people, "users", {"op": "rename_column", "name": "age", "new_name": "years"})
    assert description["constraints"] == [{"name": "age_gte_0", "type": "check", "check": '"years" >= 0'}]
    assert description["indexes"][0] == {"name": "users_age_idx", "columns": ["years"], "unique": False}
    error = api_error(alter, people, "users", {"op": "rename_column", "name": "years", "new_name": "email"})
    assert error.code == "invalid_request"


def test_alter_column_changes_type_nullability_default_and_uniqueness(people: sqlite3.Connection) -> None:
    description = alter(
        people,
        "users",
        {
            "op": "alter_column",
            "name": "age",
            "column": {"name": "age", "type": "BIGINT", "nullable": True, "default": 18, "unique": True},
        },
    )
    assert column(description, "age") == {
        "name": "age",
        "type": "BIGINT",
        "nullable": True,
        "default": 18,
        "primary_key": False,
        "auto_increment": False,
        "unique": True,
        "references": None,
    }
    assert description["constraints"] == [{"name": "age_gte_0", "type": "check", "check": '"age" >= 0'}]
    assert len(description["indexes"]) == 3
    people.execute("INSERT INTO users (email) VALUES ('dee@x.org')")
    assert rows(people, "SELECT age FROM users WHERE email = 'dee@x.org'") == [(18,)]
    with pytest.raises(sqlite3.IntegrityError):
        people.execute("INSERT INTO users (email, age) VALUES ('eve@x.org', 30)")


def test_alter_column_to_unique_with_duplicates_is_unique_violation(people: sqlite3.Connection) -> None:
    people.execute("UPDATE users SET age = 30")
    error = api_error(
        alter,
        people,
        "users",
        {"op": "alter_column", "name": "age", "column": {"name": "age", "type": "INTEGER", "unique": True}},
    )
    assert error.code == "unique_violation"
    assert "phantomdb_remake" not in error.message
    assert column(schema.describe_table(people, "users"), "age")["unique"] is False


def test_alter_column_to_not_null_with_nulls_is_not_null_violation(people: sqlite3.Connection) -> None:
    error = api_error(
        alter,
        people,
        "users",
        {
            "op": "alter_column",
            "name": "team_id",
            "column": {"name": "team_id", "type": "INTEGER", "nullable": False},
        },
    )
    assert error.code == "not_null_violation"


def test_alter_column_with_a_new_name_renames_it(people: sqlite3.Connection) -> None:
    description = alter(
        people,
        "users",
        {
            "op": "alter_column",
            "name": "doc",
            "column": {"name": "payload", "type": "JSON", "nullable": True},
        },
    )
    assert column(description, "payload")["type"] == "JSON"
    assert rows(people, "SELECT payload, typeof(payload) FROM users ORDER BY id")[0] == ("1", "text")


def test_add_and_drop_check_constraint(people: sqlite3.Connection) -> None:
    check = {"name": "adult", "type": "check", "check": '"age" >= 18'}
    error = api_error(alter, people, "users", {"op": "add_constraint", "constraint": check})
    assert error.code == "check_violation"  # bob is 17
    people.execute("UPDATE users SET age = 18 WHERE age = 17")
    description = alter(people, "users", {"op": "add_constraint", "constraint": check})
    assert check in description["constraints"]
    with pytest.raises(sqlite3.IntegrityError):
        people.execute("INSERT INTO users (email, age) VALUES ('kid@x.org', 5)")
    description = alter(people, "users", {"op": "drop_constraint", "name": "adult"})
    assert check not in description["constraints"]
    people.execute("INSERT INTO users (email, age) VALUES ('kid@x.org', 5)")


def test_add_unique_constraint_is_enforced_and_names_are_unique(people: sqlite3.Connection) -> None:
    unique = {"name": "one_age_per_team", "type": "unique", "columns": ["team_id", "age"]}
    description = alter(people, "users", {"op": "add_constraint", "constraint": unique})
    assert unique in description["constraints"]
    with pytest.raises(sqlite3.IntegrityError):
        people.execute("INSERT INTO users (email, age, team_id) VALUES ('x@x.org', 30, 1)")
    error = api_error(alter, people, "users", {"op": "add_constraint", "constraint": unique})
    assert error.code == "invalid_request"
    error = api_error(alter, people, "users", {"op": "drop_constraint", "name": "nope"})
    assert (error.code, error.message) == ("invalid_request", "Table 'users' has no constraint 'nope'")


def test_unnamed_constraints_can_be_dropped_by_their_reported_name(conn: sqlite3.Connection) -> None:
    run(conn, "CREATE TABLE t (a integer CHECK (a > 0), b text, UNIQUE (b))")
    names = [c["name"] for c in schema.describe_table(conn, "t")["constraints"]]
    assert names == ["__unnamed_constraint_1__", "__unnamed_constraint_2__"]
    description = alter(conn, "t", {"op": "drop_constraint", "name": "__unnamed_constraint_1__"})
    assert description["constraints"] == [
        {"name": "__unnamed_constraint_1__", "type": "unique", "columns": ["b"]}
    ]
    conn.execute("INSERT INTO t VALUES (-1, 'x')")


def test_drop_constraint_also_drops_a_unique_index_of_that_name(people: sqlite3.Connection) -> None:
    index = {"name": "uniq_open_email", "columns": ["email"], "unique": True, "condition": '"age" > 0'}
    alter(people, "users", {"op": "add_index", "index": index})
    description = alter(people, "users", {"op": "drop_constraint", "name": "uniq_open_email"})
    assert "uniq_open_email" not in [i["name"] for i in description["indexes"]]


def test_add_and_drop_index(people: sqlite3.Connection) -> None:
    index = {"name": "by_team", "expressions": ['"team_id" DESC'], "condition": '"team_id" IS NOT NULL'}
    description = alter(people, "users", {"op": "add_index", "index": index})
    assert {**index, "unique": False} in description["indexes"]
    assert api_error(alter, people, "users", {"op": "add_index", "index": index}).code == "invalid_request"
    description = alter(people, "users", {"op": "drop_index", "name": "by_team"})
    assert "by_team" not in [i["name"] for i in description["indexes"]]
    assert (
        api_error(alter, people, "users", {"op": "drop_index", "name": "by_team"}).code == "invalid_request"
    )


def test_rename_table_keeps_foreign_keys_pointing_at_it(people: sqlite3.Connection) -> None:
    description = alter(people, "teams", {"op": "rename_table", "new_name": "squads"})
    assert description["name"] == "squads"
    assert column(schema.describe_table(people, "users"), "team_id")["references"]["table"] == "squads"
    assert (
        api_error(alter, people, "squads", {"op": "rename_table", "new_name": "users"}).code == "table_exists"
    )


def test_remaking_a_parent_keeps_children_and_foreign_keys(people: sqlite3.Connection) -> None:
    before = rows(people, "SELECT * FROM users ORDER BY id")
    alter(people, "teams", {"op": "add_column", "column": {"name": "code", "type": "TEXT", "unique": True}})
    assert rows(people, "SELECT * FROM users ORDER BY id") == before  # ON DELETE CASCADE did not fire
    assert rows(people, "PRAGMA foreign_key_check") == []
    assert people.execute("PRAGMA foreign_keys").fetchone() == (1,)
    with pytest.raises(sqlite3.IntegrityError):
        people.execute("INSERT INTO users (email, team_id) VALUES ('z@x.org', 99)")
    people.execute("DELETE FROM teams WHERE id = 1")
    assert rows(people, "SELECT email FROM users WHERE team_id = 1") == []  # CASCADE still works


def test_remaking_a_child_checks_its_foreign_keys(conn: sqlite3.Connection) -> None:
    schema.create_table(conn, TEAMS)
    schema.create_table(conn, {"name": "m", "columns": [{"name": "team_id", "type": "INTEGER"}]})
    conn.execute("INSERT INTO m VALUES (5)")
    error = api_error(
        alter,
        conn,
        "m",
        {
            "op": "alter_column",
            "name": "team_id",
            "column": {
                "name": "team_id",
                "type": "INTEGER",
                "references": {"table": "teams", "column": "id"},
            },
        },
    )
    assert error.code == "foreign_key_violation"
    assert column(schema.describe_table(conn, "m"), "team_id")["references"] is None


def test_remake_inside_a_transaction_defers_foreign_keys_and_commits(people: sqlite3.Connection) -> None:
    schema.create_table(
        people,
        {
            "name": "notes",
            "columns": [
                {"name": "team_id", "type": "INTEGER", "references": {"table": "teams", "column": "id"}}
            ],
        },
    )
    people.execute("INSERT INTO notes VALUES (1), (2)")
    people.execute("UPDATE users SET team_id = NULL")  # no rows for ON DELETE CASCADE to change
    people.execute("BEGIN IMMEDIATE")
    alter(
        people,
        "teams",
        {"op": "alter_column", "name": "name", "column": {"name": "name", "type": "VARCHAR(20)"}},
    )
    assert people.execute("PRAGMA defer_foreign_keys").fetchone() == (0,)
    people.execute("COMMIT")
    assert rows(people, "SELECT team_id FROM notes ORDER BY 1") == [(1,), (2,)]
    assert column(schema.describe_table(people, "teams"), "name")["type"] == "VARCHAR(20)"


def test_remake_inside_a_transaction_that_defers_foreign_keys_itself(people: sqlite3.Connection) -> None:
    people.execute("UPDATE users SET team_id = NULL")
    schema.create_table(
        people,
        {
            "name": "notes",
            "columns": [
                {"name": "team_id", "type": "INTEGER", "references": {"table": "teams", "column": "id"}}
            ],
        },
    )
    people.execute("INSERT INTO notes VALUES (1)")
    people.execute("BEGIN IMMEDIATE")
    people.execute("PRAGMA defer_foreign_keys = ON")
    people.execute("INSERT INTO notes VALUES (3)")  # team 3 comes later
    alter(people, "teams", {"op": "add_column", "column": {"name": "code", "type": "TEXT", "unique": True}})
    assert people.execute("PRAGMA defer_foreign_keys").fetchone() == (1,)
    with pytest.raises(sqlite3.IntegrityError):
        people.execute("COMMIT")  # the client's own violation is still counted
    people.execute("INSERT INTO teams (id, name) VALUES (3, 'late')")
    people.execute("COMMIT")
    assert rows(people, "SELECT team_id FROM notes ORDER BY 1") == [(1,), (3,)]


@pytest.mark.parametrize("in_transaction", [False, True])
def test_remaking_a_self_referencing_table_keeps_the_tree(
    conn: sqlite3.Connection, in_transaction: bool
) -> None:
    schema.create_table(
        conn,
        {
            "name": "node",
            "columns": [
                {"name": "id", "type": "INTEGER", "primary_key": True},
                {
                    "name": "parent_id",
                    "type": "INTEGER",
                    "references": {"table": "node", "column": "id", "on_delete": "CASCADE"},
                },
            ],
        },
    )
    conn.execute("INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2)")
    if in_transaction:
        conn.execute("BEGIN IMMEDIATE")
    alter(conn, "node", {"op": "add_column", "column": {"name": "label", "type": "TEXT", "unique": True}})
    if in_transaction:
        conn.execute("COMMIT")
    assert rows(conn, "SELECT id, parent_id FROM node ORDER BY id") == [(1, None), (2, 1), (3, 2)]
    conn.execute("DELETE FROM node WHERE id = 1")
    assert rows(conn, "SELECT count(*) FROM node") == [(0,)]


def test_remaking_a_child_with_a_pending_deferred_violation_inside_a_transaction(
    people: sqlite3.Connection,
) -> None:
    people.execute("BEGIN IMMEDIATE")
    people.execute("INSERT INTO users (email, team_id) VALUES ('early@x.org', 3)")  # deferrable: allowed
    alter(people, "users", {"op": "add_column", "column": {"name": "code", "type": "TEXT", "unique": True}})
    with pytest.raises(sqlite3.IntegrityError):
        people.execute("COMMIT")
    people.execute("INSERT INTO teams (id, name) VALUES (3, 'late')")
    people.execute("COMMIT")
    assert column(schema.describe_table(people, "users"), "code")["unique"] is True


def test_remake_inside_a_transaction_refuses_to_run_on_delete_cascade(people: sqlite3.Connection) -> None:
    people.execute("BEGIN IMMEDIATE")
    error = api_error(
        alter,
        people,
        "teams",
        {
            "op": "add_constraint",
            "constraint": {"name": "named", "type": "check", "check": 'length("name") > 0'},
        },
    )
    assert error.code == "not_supported"
    assert people.in_transaction
    people.execute("ROLLBACK")
    assert len(rows(people, "SELECT * FROM users WHERE team_id IS NOT NULL")) == 2


def test_alter_inside_a_transaction_is_undone_by_its_rollback(people: sqlite3.Connection) -> None:
    people.execute("BEGIN IMMEDIATE")
    alter(
        people, "users", {"op": "drop_column", "name": "doc"}, {"op": "rename_table", "new_name": "members"}
    )
    people.execute("ROLLBACK")
    assert "doc" in [c["name"] for c in schema.describe_table(people, "users")["columns"]]


def test_operations_apply_all_or_none(people: sqlite3.Connection) -> None:
    before = schema.describe_table(people, "users")
    error = api_error(
        alter,
        people,
        "users",
        {"op": "add_column", "column": {"name": "nick", "type": "TEXT"}},
        {"op": "alter_column", "name": "age", "column": {"name": "age", "type": "TEXT", "unique": True}},
        {"op": "drop_column", "name": "nope"},
    )
    assert error.code == "column_not_found"
    assert schema.describe_table(people, "users") == before
    assert people.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert not people.in_transaction


def test_kinds_that_are_not_strings_are_invalid_request(people: sqlite3.Connection) -> None:
    for operations in (
        [{"op": ["add_column"]}],
        [{"op": "add_constraint", "constraint": {"type": {"a": 1}}}],
    ):
        assert api_error(schema.alter_table, people, "users", operations).code == "invalid_request"


def test_remake_keeps_clauses_it_does_not_model(conn: sqlite3.Connection) -> None:
    run(
        conn,
        (
            "CREATE TABLE odd ( -- made by hand\n"
            "  id INTEGER PRIMARY KEY ON CONFLICT REPLACE,\n"
            "  name TEXT COLLATE NOCASE /* case-blind */ NOT NULL,\n"
            "  price DECIMAL(10, 2) DEFAULT (1 + 1) CHECK (price > 0),\n"
            "  twice DECIMAL(10, 2) GENERATED ALWAYS AS (price * 2) VIRTUAL,\n"
            "  doc JSON\n"
            ")"
        ),
    )
    conn.execute("INSERT INTO odd (id, name, doc) VALUES (1, 'Ann', '1')")
    alter(
        conn,
        "odd",
        {
            "op": "add_constraint",
            "constraint": {"name": "short", "type": "check", "check": "length(name) < 10"},
        },
    )
    conn.execute("INSERT INTO odd (id, name, price) VALUES (1, 'Bob', 3)")  # ON CONFLICT REPLACE
    assert rows(conn, "SELECT id, name, price, twice FROM odd WHERE name = 'BOB'") == [(1, "Bob", 3, 6)]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO odd (id, name, price) VALUES (2, 'Cy', -1)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO odd (id, name) VALUES (3, 'a much too long name')")
    description = schema.describe_table(conn, "odd")
    assert [c["type"] for c in description["columns"]] == [
        "INTEGER",
        "TEXT",
        "DECIMAL(10, 2)",
        "DECIMAL(10, 2)",
        "JSON",
    ]
    assert [c["name"] for c in description["constraints"]] == ["__unnamed_constraint_1__", "short"]


def test_operations_are_validated_before_any_runs(people: sqlite3.Connection) -> None:
    before = schema.describe_table(people, "users")
    for operations, field in [
        (
            [{"op": "add_column", "column": {"name": "x", "type": "TEXT"}}, {"op": "explode"}],
            "'operations[1].op'",
        ),
        ([{"op": "add_column", "column": {"name": "x", "type": "NOPE"}}], "'operations[0].column.type'"),
        ([{"op": "drop_column"}], "'operations[0].name'"),
        ([{"op": "drop_column", "name": "doc", "extra": 1}], "'operations[0].extra'"),
        ([{"op": "add_index", "index": {"name": "i", "columns": "age"}}], "'operations[0].index.columns'"),
        ([{"op": "rename_table", "new_name": ""}], "'operations[0].new_name'"),
        ([7], "'operations[0]'"),
    ]:
        error = api_error(schema.alter_table, people, "users", operations)
        assert (error.code, field in error.message) == ("invalid_request", True), error.message
    assert schema.describe_table(people, "users") == before


def test_remake_keeps_rows_sequence_triggers_and_views(people: sqlite3.Connection) -> None:
    people.execute("INSERT INTO teams (name) VALUES ('gone')")
    people.execute("DELETE FROM teams WHERE name = 'gone'")  # the sequence is now ahead of max(id)
    people.execute("CREATE TABLE log (msg TEXT)")
    people.execute(
        "CREATE TRIGGER teams_log AFTER INSERT ON teams BEGIN INSERT INTO log VALUES (new.name); END"
    )
    people.execute("CREATE VIEW team_names AS SELECT name FROM teams")
    alter(people, "teams", {"op": "alter_column", "name": "name", "column": {"name": "name", "type": "TEXT"}})
    people.execute("INSERT INTO teams (name) VALUES ('green')")
    assert rows(people, "SELECT id, name FROM teams ORDER BY id") == [(1, "red"), (2, "blue"), (4, "green")]
    assert rows(people, "SELECT msg FROM log") == [("green",)]
    assert rows(people, "SELECT count(*) FROM team_names") == [(3,)]


def test_alter_of_a_view_is_refused(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE VIEW v AS SELECT 1 AS a")
    assert api_error(alter, conn, "v", {"op": "drop_column", "name": "a"}).code == "invalid_request"


def test_drop_table_and_view(people: sqlite3.Connection) -> None:
    people.execute("CREATE VIEW v AS SELECT 1")
    schema.drop_table(people, "v")
    schema.drop_table(people, "users")
    assert schema.list_tables(people) == [{"name": "teams", "type": "table"}]
    assert api_error(schema.drop_table, people, "users").code == "table_not_found"
